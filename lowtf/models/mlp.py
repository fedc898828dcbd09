"""The multi-layer perceptron of the course's "TensorFlow as a computation framework" article: 784 -> 500 -> 100 -> 10 with ReLU, in nested scopes."""
from __future__ import annotations

import tensorflow.compat.v1 as tf

from lowtf.models.params import by_name
from lowtf.nn import dense, flatten


def mlp(
    images: tf.Tensor, training: tf.Tensor, hidden: tuple = (500, 100)
):
    """``[N, 28, 28, 1]`` -> logits ``[N, 10]`` (443,610 parameters
    with the default sizes)."""
    layers = []
    with tf.name_scope("mlp"):
        x = flatten(images)
        for i, units in enumerate(hidden, 1):
            x, wb = dense(x, units, f"hidden{i}", stddev=0.05)
            layers.append(wb)
        logits, wb = dense(x, 10, "logits", stddev=0.05, activation=None)
    return logits, by_name(*layers, wb)
