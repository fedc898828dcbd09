"""The TF 1.x tutorial's model module, ``tensorflow.examples.tutorials.mnist.mnist``, on compat.v1.

``fully_connected_feed.py`` builds its graph with it::

    from lowtf.tutorials.mnist import input_data, mnist
    logits = mnist.inference(images_placeholder, 128, 32)      # [batch, 784] -> [batch, 10]
    loss = mnist.loss(logits, labels_placeholder)               # labels: int [batch]
    train_op = mnist.training(loss, 0.01)
    eval_correct = mnist.evaluation(logits, labels_placeholder)  # how many of the batch are right

The same inference/loss/training/evaluation as ``tensorflow/examples/tutorials/mnist/mnist.py``
(TensorFlow 1.15): the same name scopes and variable names (``hidden1/weights``, ...), initial
values, loss, the ``loss`` scalar summary and the ``global_step`` Variable, so a checkpoint or a
TensorBoard graph of the original reads the same. Only the deprecated spellings changed
(``tf.to_int64`` is ``tf.cast``).
"""
from __future__ import annotations

import math

import tensorflow.compat.v1 as tf

NUM_CLASSES = 10          # the digits 0-9
IMAGE_SIZE = 28
IMAGE_PIXELS = IMAGE_SIZE * IMAGE_SIZE


def _layer(inputs, fan_in: int, units: int, scope: str):
    """``inputs @ weights + biases`` in ``scope``; weights ~ truncated normal, stddev 1/sqrt(fan_in)."""
    with tf.name_scope(scope):
        weights = tf.Variable(tf.truncated_normal([fan_in, units], stddev=1.0 / math.sqrt(float(fan_in))),
                              name="weights")
        biases = tf.Variable(tf.zeros([units]), name="biases")
        return tf.matmul(inputs, weights) + biases


def inference(images, hidden1_units: int, hidden2_units: int):
    """Two ReLU layers and a linear one: images ``[batch, 784]`` float -> logits ``[batch, 10]``."""
    hidden1 = tf.nn.relu(_layer(images, IMAGE_PIXELS, hidden1_units, "hidden1"))
    hidden2 = tf.nn.relu(_layer(hidden1, hidden1_units, hidden2_units, "hidden2"))
    return _layer(hidden2, hidden2_units, NUM_CLASSES, "softmax_linear")


def loss(logits, labels):
    """Mean softmax cross-entropy of logits ``[batch, 10]`` against integer labels ``[batch]``."""
    labels = tf.cast(labels, tf.int64)
    return tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)


def training(loss, learning_rate: float):
    """The train op: gradient descent on ``loss``, counting steps in a ``global_step`` Variable; also
    records ``loss`` as a scalar summary."""
    tf.summary.scalar("loss", loss)
    optimizer = tf.train.GradientDescentOptimizer(learning_rate)
    global_step = tf.Variable(0, name="global_step", trainable=False)
    return optimizer.minimize(loss, global_step=global_step)


def evaluation(logits, labels):
    """How many of the batch have the right class on top: an int32 scalar."""
    correct = tf.nn.in_top_k(logits, labels, 1)
    return tf.reduce_sum(tf.cast(correct, tf.int32))
