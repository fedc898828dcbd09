"""Dense, convolution, pooling, dropout and flatten layers from raw ops.

Each layer opens a ``name_scope`` of its own, creates named Variables there
(truncated-normal weights with a chosen stddev, or "he" for one scaled to the layer's
fan-in, and constant biases), and returns its
output together with the Variables, so lessons and pictures can reach the weights.
Randomness comes from the graph-level seed (``tf.set_random_seed``): build the same
graph in the same order and the initial weights repeat.
"""
from __future__ import annotations

from typing import Callable, Optional, Union

import numpy as np
import tensorflow.compat.v1 as tf

Activation = Optional[Callable[[tf.Tensor], tf.Tensor]]
Stddev = Union[float, str]  # a number, or "he"


def he_stddev(fan_in: int) -> float:
    """He et al. (2015): weights with variance 2 / fan_in keep a ReLU layer's output
    variance equal to its input's, so no layer starts saturated or silent. Truncating the
    normal at 2 standard deviations shrinks its spread by 0.88; dividing by it restores it."""
    return float(np.sqrt(2.0 / fan_in) / 0.8796)


def _weights_and_biases(shape: list, stddev: Stddev, bias: float) -> tuple[tf.Variable, tf.Variable]:
    if stddev == "he":
        stddev = he_stddev(int(np.prod(shape[:-1])))  # fan-in: every input that feeds one unit
    w = tf.Variable(tf.truncated_normal(shape, stddev=stddev), name="weights")
    b = tf.Variable(tf.constant(bias, shape=[shape[-1]]), name="biases")
    return w, b


def dense(
    x: tf.Tensor,
    units: int,
    name: str,
    stddev: Stddev = 0.1,
    bias: float = 0.1,
    activation: Activation = tf.nn.relu,
) -> tuple[tf.Tensor, list[tf.Variable]]:
    """``activation(x @ W + b)``: x ``[N, D]`` -> ``[N, units]``;
    returns (output, [W, b])."""
    with tf.name_scope(name):
        w, b = _weights_and_biases(
            [int(x.shape[-1]), units], stddev, bias
        )
        y = tf.matmul(x, w) + b
        return (activation(y) if activation else y), [w, b]


def conv2d(
    x: tf.Tensor,
    filters: int,
    kernel_size: int,
    name: str,
    strides: int = 1,
    padding: str = "SAME",
    stddev: Stddev = 0.1,
    bias: float = 0.1,
    activation: Activation = tf.nn.relu,
) -> tuple[tf.Tensor, list[tf.Variable]]:
    """2-D convolution: x ``[N, H, W, C]`` -> ``[N, H', W', filters]``;
    returns (output, [W, b]).

    W has shape ``[kernel_size, kernel_size, C, filters]``. With SAME
    padding ``H' = ceil(H / strides)``; with VALID
    ``H' = ceil((H - kernel_size + 1) / strides)``.
    """
    with tf.name_scope(name):
        w, b = _weights_and_biases(
            [kernel_size, kernel_size, int(x.shape[-1]), filters],
            stddev,
            bias,
        )
        step = [1, strides, strides, 1]
        y = tf.nn.conv2d(x, w, strides=step, padding=padding) + b
        return (activation(y) if activation else y), [w, b]


def max_pool(x: tf.Tensor, name: str, size: int = 2, stride: int = 2, padding: str = "SAME") -> tf.Tensor:
    """Max over ``size x size`` windows: ``[N, H, W, C]`` -> ``[N, ceil(H/stride), ceil(W/stride), C]`` (SAME)."""
    with tf.name_scope(name):
        return tf.nn.max_pool(x, ksize=[1, size, size, 1], strides=[1, stride, stride, 1], padding=padding)


def training_flag(name: str = "training") -> tf.Tensor:
    """A bool scalar that is False unless fed True: one graph serves training and evaluation."""
    return tf.placeholder_with_default(False, shape=[], name=name)


def dropout(x: tf.Tensor, rate: float, training: tf.Tensor, name: str = "dropout") -> tf.Tensor:
    """Inverted dropout: while ``training``, zero each unit with probability ``rate`` and
    scale the survivors by ``1 / (1 - rate)`` so the expected activation is unchanged;
    otherwise the identity. Same shape as ``x``."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    with tf.name_scope(name):
        keep_prob = tf.where(training, 1.0 - rate, 1.0, name="keep_prob")
        # floor(keep_prob + U[0, 1)) is 1 with probability keep_prob, else 0.
        mask = tf.floor(keep_prob + tf.random_uniform(tf.shape(x), dtype=x.dtype), name="mask")
        return x / keep_prob * mask


def flatten(x: tf.Tensor, name: str = "flatten") -> tf.Tensor:
    """``[N, d1, d2, ...]`` -> ``[N, d1 * d2 * ...]`` (the trailing dims must be known)."""
    if not x.shape[1:].is_fully_defined():
        raise ValueError(f"flatten needs known trailing dimensions, got {x.shape}; "
                         "give the tensor a static shape first (tensor.set_shape([...]))")
    with tf.name_scope(name):
        return tf.reshape(x, [-1, int(np.prod(x.shape[1:]))])
