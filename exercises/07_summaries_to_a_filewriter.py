"""Exercise 07: summaries that a FileWriter writes.

Write a scalar summary called "loss" for each value at steps 0, 1, 2, ... into an events
file in logdir, with the graph, using a summary op and a FileWriter.

Complete the functions marked TODO, then check your work: lowtf check 07
Re-read: lesson 04, step "a scalar summary of a random walk".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def write_losses(logdir: str, values: list) -> None:
    """One tf.summary.scalar("loss", placeholder) point per value, step = its index; close the writer."""
    # TODO: tf.summary.scalar("loss", a placeholder), tf.summary.FileWriter(logdir, graph), add_summary(s, step), close()
    raise NotImplementedError("write_losses is not written yet")
