"""The ConvNet of the course's low-level CNN article (name scopes, dropout, filter GIFs): two blocks of two 3x3 convolutions, pooling and dropout, then fc 512.

    conv1_1 3x3x32, conv1_2 3x3x32, pool1 2x2, dropout
    conv2_1 3x3x64, conv2_2 3x3x64, pool2 2x2, dropout
    fc 512, ReLU, dropout;  logits 10
The input shape is whatever ``images`` has (28x28x1 digits, 32x32x3 photos ...).
"""
from __future__ import annotations

import tensorflow.compat.v1 as tf

from lowtf.models.params import by_name
from lowtf.nn import conv2d, dense, dropout, flatten, max_pool


def convnet(
    images: tf.Tensor,
    training: tf.Tensor,
    conv_dropout: float = 0.25,
    fc_dropout: float = 0.5,
    num_classes: int = 10,
):
    """``[N, H, W, C]`` -> logits ``[N, num_classes]``; dropout rates
    0 turn dropout off."""
    layers = []
    with tf.name_scope("convnet"):
        x = images
        for block, filters in ((1, 32), (2, 64)):
            for i in (1, 2):
                x, wb = conv2d(
                    x, filters, 3, f"conv{block}_{i}", stddev=0.05
                )
                layers.append(wb)
            x = max_pool(x, f"pool{block}")
            x = dropout(x, conv_dropout, training, f"dropout{block}")
        x, wb = dense(flatten(x), 512, "fc", stddev=0.02)
        layers.append(wb)
        x = dropout(x, fc_dropout, training, "dropout_fc")
        logits, wb = dense(
            x, num_classes, "logits", stddev=0.02, activation=None
        )
        layers.append(wb)
    return logits, by_name(*layers)
