"""Exercise 18 (a solution): layers that share their weights by name.

Write a dense layer whose Variables are found by name with tf.get_variable, so that calling
it again, even from inside another name scope, reuses them; then a siamese network: the
same two layers applied to two inputs, one set of weights.

Checked as a learner file would be: lowtf check 18 --file exercises/solutions/18_shared_layers.py
Re-read: lesson 31, steps "reuse=tf.AUTO_REUSE" and "name_scope against variable_scope".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def dense(x: tf.Tensor, units: int, name: str) -> tf.Tensor:
    """x [N, D] -> x W + b [N, units]. W is the Variable called ``name``/weights [D, units]
    (glorot-uniform initialised), b is ``name``/biases [units] (zeros). The first call
    makes them; every later call with the same name, from any name scope, reuses them."""
    with tf.variable_scope(name, reuse=tf.AUTO_REUSE):
        w = tf.get_variable("weights", [x.shape[-1], units], initializer=tf.glorot_uniform_initializer())
        b = tf.get_variable("biases", [units], initializer=tf.zeros_initializer())
        return tf.matmul(x, w) + b


def siamese(left: tf.Tensor, right: tf.Tensor) -> tuple:
    """left, right [N, 4] -> (out_left, out_right), each [N, 2]: the same network on both,
    dense(8, "hidden") then tanh then dense(2, "embedding"), with one set of weights:
    hidden/weights, hidden/biases, embedding/weights, embedding/biases."""
    def network(x):
        return dense(tf.tanh(dense(x, 8, "hidden")), 2, "embedding")

    return network(left), network(right)
