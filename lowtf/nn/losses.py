"""Softmax cross-entropy three ways: the fused op, from scratch (stable), and naive (unstable).

All take one-hot (or probability) ``labels [N, K]`` and ``logits [N, K]`` and return the
mean loss over the batch, a scalar.
"""
from __future__ import annotations

import tensorflow.compat.v1 as tf


def softmax_cross_entropy(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """TensorFlow's fused, numerically stable op."""
    with tf.name_scope("cross_entropy"):
        return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits))


def softmax_cross_entropy_from_scratch(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """``-sum(labels * log_softmax(logits))`` with the row max subtracted first.

    ``log_softmax(z) = (z - m) - log(sum(exp(z - m)))`` for any m; taking m = max(z)
    makes every exponent <= 0, so exp never overflows and the log never sees 0.
    """
    with tf.name_scope("cross_entropy_from_scratch"):
        shifted = logits - tf.reduce_max(logits, axis=1, keepdims=True)
        log_softmax = shifted - tf.log(tf.reduce_sum(tf.exp(shifted), axis=1, keepdims=True))
        return tf.reduce_mean(-tf.reduce_sum(labels * log_softmax, axis=1))


def softmax_cross_entropy_naive(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """The textbook formula as written: ``-sum(labels * log(exp(z) / sum(exp(z))))``.

    exp(z) overflows float32 to inf once z > ~88, and inf / inf is NaN.
    """
    with tf.name_scope("cross_entropy_naive"):
        softmax = tf.exp(logits) / tf.reduce_sum(tf.exp(logits), axis=1, keepdims=True)
        return tf.reduce_mean(-tf.reduce_sum(labels * tf.log(softmax), axis=1))
