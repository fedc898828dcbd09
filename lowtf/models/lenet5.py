"""TensorFlow's "Deep MNIST for Experts" network, which the course's source article calls LeNet-5.

LeCun's LeNet-5 is smaller (6 and 16 feature maps, then 120-84-10); this is the TF 1.x tutorial's:

    input [N, 28, 28, 1]
    conv1 5x5x32, ReLU -> [N, 28, 28, 32];  pool1 2x2 -> [N, 14, 14, 32]
    conv2 5x5x64, ReLU -> [N, 14, 14, 64];  pool2 2x2 -> [N, 7, 7, 64]
    fc1 3136 -> 1024, ReLU, dropout
    logits 1024 -> 10
3,274,634 parameters, 3.2 M of them in fc1.
"""
from __future__ import annotations

import tensorflow.compat.v1 as tf

from lowtf.models.params import by_name
from lowtf.nn import conv2d, dense, dropout, flatten, max_pool


def lenet5(
    images: tf.Tensor,
    training: tf.Tensor,
    dropout_rate: float = 0.5,
    init: str = "tutorial",
):
    """``[N, 28, 28, 1]`` -> logits ``[N, 10]``; dropout on fc1 only
    while ``training``.

    ``init="tutorial"``: the tutorial's weights, truncated normal with
    stddev 0.1 everywhere, biases 0.1 (tuned for Adam at 1e-4).
    ``init="he"``: stddev sqrt(2 / fan-in) per layer, biases 0; fc1 has
    3136 inputs, so its weights start 4x smaller than the tutorial's and
    training starts faster.
    """
    if init not in ("tutorial", "he"):
        raise ValueError(
            f"init must be 'tutorial' or 'he', got {init!r}"
        )
    stddev, bias = (0.1, 0.1) if init == "tutorial" else ("he", 0.0)
    with tf.name_scope("lenet5"):
        x, conv1 = conv2d(
            images, 32, 5, "conv1", stddev=stddev, bias=bias
        )
        x = max_pool(x, "pool1")
        x, conv2 = conv2d(x, 64, 5, "conv2", stddev=stddev, bias=bias)
        x = max_pool(x, "pool2")
        x, fc1 = dense(flatten(x), 1024, "fc1", stddev=stddev, bias=bias)
        x = dropout(x, dropout_rate, training, "dropout")
        logits, fc2 = dense(
            x, 10, "logits", stddev=stddev, bias=bias, activation=None
        )
    return logits, by_name(conv1, conv2, fc1, fc2)
