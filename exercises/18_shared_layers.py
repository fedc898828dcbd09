"""Exercise 18: layers that share their weights by name.

Write a dense layer whose Variables are found by name with tf.get_variable, so that calling
it again, even from inside another name scope, reuses them; then a siamese network: the
same two layers applied to two inputs, one set of weights.

Complete the functions marked TODO, then check your work: lowtf check 18
Re-read: lesson 31, steps "reuse=tf.AUTO_REUSE" and "name_scope against variable_scope".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def dense(x: tf.Tensor, units: int, name: str) -> tf.Tensor:
    """x [N, D] -> x W + b [N, units]. W is the Variable called ``name``/weights [D, units]
    (glorot-uniform initialised), b is ``name``/biases [units] (zeros). The first call
    makes them; every later call with the same name, from any name scope, reuses them."""
    # TODO: tf.variable_scope(name, reuse=tf.AUTO_REUSE), two tf.get_variable, matmul + b
    raise NotImplementedError("dense is not written yet")


def siamese(left: tf.Tensor, right: tf.Tensor) -> tuple:
    """left, right [N, 4] -> (out_left, out_right), each [N, 2]: the same network on both,
    dense(8, "hidden") then tanh then dense(2, "embedding"), with one set of weights:
    hidden/weights, hidden/biases, embedding/weights, embedding/biases."""
    # TODO: a function for the network, called on left and on right
    raise NotImplementedError("siamese is not written yet")
