"""Exercise 01: a small graph with placeholders.

Build a graph that takes two float32 vectors of any length and computes their dot product,
then run it in a Session.

Complete the functions marked TODO, then check your work: lowtf check 01
Re-read: lesson 02, step "a placeholder with a None dimension", and lesson 01,
step "Session.run executes the graph".
"""
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def build():
    """Return (a, b, dot): two float32 placeholders of shape [None] named "a" and "b", and a
    scalar Tensor named "dot" equal to sum(a * b)."""
    # TODO: two tf.placeholder(tf.float32, [None], name=...) and tf.reduce_sum(a * b, name="dot")
    raise NotImplementedError("build is not written yet")


def run(a_values: np.ndarray, b_values: np.ndarray) -> float:
    """Build the graph, run it in a Session with the two arrays fed in, return the dot product."""
    # TODO: with tf.Session() as sess: sess.run(dot, feed_dict={a: ..., b: ...})
    raise NotImplementedError("run is not written yet")
