"""Exercise 01 (a solution): a small graph with placeholders.

Build a graph that takes two float32 vectors of any length and computes their dot product,
then run it in a Session.

Checked as a learner file would be: lowtf check 01 --file exercises/solutions/01_graph_with_placeholders.py
Re-read: lesson 02, step "a placeholder with a None dimension", and lesson 01,
step "Session.run executes the graph".
"""
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def build():
    """Return (a, b, dot): two float32 placeholders of shape [None] named "a" and "b", and a
    scalar Tensor named "dot" equal to sum(a * b)."""
    a = tf.placeholder(tf.float32, [None], name="a")
    b = tf.placeholder(tf.float32, [None], name="b")
    dot = tf.reduce_sum(a * b, name="dot")
    return a, b, dot


def run(a_values: np.ndarray, b_values: np.ndarray) -> float:
    """Build the graph, run it in a Session with the two arrays fed in, return the dot product."""
    a, b, dot = build()
    with tf.Session() as sess:
        return float(sess.run(dot, feed_dict={a: a_values, b: b_values}))
