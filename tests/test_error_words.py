"""An error whose text is only "Graph execution error:" (and where it happened) is still said in
words: its kind, TensorFlow's code, the op and its type, and where to look next."""
import tensorflow.compat.v1 as tf

from lowtf.error_text import tf_error_line
from lowtf.practice.checking import what_went_wrong


def bare_error():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2], name="x")
        y = tf.identity(x, name="stop_here")
        return tf.errors.UnknownError(None, y.op, "Graph execution error:\n\nDetected at node 'stop_here' "
                                                  "defined at (most recent call last):\n  File \"a.py\", line 1")


def test_a_bare_graph_execution_error_is_said_in_words():
    for said in (tf_error_line(bare_error(), "shape"), what_went_wrong(bare_error(), None)):
        assert "'stop_here' (Identity)" in said and "UnknownError" in said and "error code 2" in said
        assert "gave no reason beyond 'Graph execution error'" in said
        assert said.rstrip(": ") != "UnknownError: Graph execution error"


def test_an_error_with_words_keeps_them():
    e = tf.errors.InvalidArgumentError(None, None, "Graph execution error:\n\nDetected at node 'x'\n"
                                                   "Incompatible shapes: [2] vs. [3]\n\t [[{{node add}}]]")
    assert tf_error_line(e, "shape") == "InvalidArgumentError: Incompatible shapes: [2] vs. [3]"
    assert "Incompatible shapes: [2] vs. [3]" in what_went_wrong(e, None)
