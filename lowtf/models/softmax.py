"""Softmax regression (the TF 1.x MNIST tutorial's first model): 784 -> 10, one matmul and a bias."""
from __future__ import annotations

import tensorflow.compat.v1 as tf

from lowtf.models.params import by_name
from lowtf.nn import dense, flatten


def softmax_regression(images: tf.Tensor, training: tf.Tensor):
    """``[N, 28, 28, 1]`` -> logits ``[N, 10]``; zero-initialised as the tutorial did (7,850 parameters)."""
    with tf.name_scope("softmax_regression"):
        logits, wb = dense(flatten(images), 10, "logits", stddev=0.0, bias=0.0, activation=None)
    return logits, by_name(wb)
