"""Exercise 08 (a solution): save, then restore into a fresh graph.

Save a Variable named "w" with a Saver, then read it back in a new graph that only
knows its name and shape.

Checked as a learner file would be: lowtf check 08 --file exercises/solutions/08_save_and_restore.py
Re-read: lesson 06, steps "a Saver writes", "restoring into a fresh graph" and
"a name map".
"""
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def save(path: str, value: np.ndarray) -> str:
    """Create Variable "w" initialised to `value`, save it with a Saver to `path`; return the saved path."""
    w = tf.Variable(value.astype(np.float32), name="w")
    with tf.Session() as sess:
        sess.run(w.initializer)
        return tf.train.Saver().save(sess, path)


def restore(path: str, shape: tuple) -> np.ndarray:
    """In a fresh tf.Graph(), make a Variable "w" of `shape`, restore it from `path`, return its value."""
    with tf.Graph().as_default():
        w = tf.Variable(tf.zeros(shape), name="w")
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, path)
            return sess.run(w)
