"""What the trainer minimises and reports: an objective maps a model's outputs and the labels to
per-example losses and metrics. Lesson 10 writes the classification objective out by hand;
lesson 19 gives the trainer its own (two heads, two losses)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import tensorflow.compat.v1 as tf


@dataclass
class Objective:
    """Per-example tensors, each ``[N]``: the loss to minimise (its mean) and metrics to report
    (their means; "accuracy", when present, drives early stopping and the progress line)."""

    losses: tf.Tensor
    metrics: dict = field(default_factory=dict)


ObjectiveFn = Callable[[object, tf.Tensor], Objective]


def classification(logits: tf.Tensor, labels: tf.Tensor) -> Objective:
    """Softmax cross-entropy on integer labels, and accuracy: logits ``[N, K]``, labels int64 ``[N]``."""
    with tf.name_scope("cross_entropy"):
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    with tf.name_scope("metrics"):
        correct = tf.cast(tf.equal(tf.argmax(logits, 1), labels), tf.float32)
    return Objective(losses, {"accuracy": correct})
