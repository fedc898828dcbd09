"""Exercise 07 (a solution): summaries that a FileWriter writes.

Write a scalar summary called "loss" for each value at steps 0, 1, 2, ... into an events
file in logdir, with the graph, using a summary op and a FileWriter.

Checked as a learner file would be: lowtf check 07 --file exercises/solutions/07_summaries_to_a_filewriter.py
Re-read: lesson 04, step "a scalar summary of a random walk".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def write_losses(logdir: str, values: list) -> None:
    """One tf.summary.scalar("loss", placeholder) point per value, step = its index; close the writer."""
    value = tf.placeholder(tf.float32, [])
    summary = tf.summary.scalar("loss", value)
    writer = tf.summary.FileWriter(logdir, tf.get_default_graph())
    with tf.Session() as sess:
        for step, v in enumerate(values):
            writer.add_summary(sess.run(summary, {value: v}), step)
    writer.close()
