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


def test_a_server_that_loads_no_version_says_why_in_its_own_message(tmp_path):
    """The start error carries each version's reason itself, not "the reasons are above" (issue #35)."""
    import pytest

    from lowtf.serve.core.version_policy import VersionPolicy
    from lowtf.serve.main import StartError, load_models
    from lowtf.serve.model_config import ModelConfig

    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "saved_model.pb").write_bytes(b"not a SavedModel")
    with pytest.raises(StartError, match=r"version 1: .*(parse|corrupt)"):
        load_models([ModelConfig("m", tmp_path, VersionPolicy())], poll_seconds=0)
