"""Exercise 02: softmax cross-entropy by hand, stable for large logits."""
import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.practice.checking import check, expect, expect_close

HINT = "m = reduce_max(z, axis=1, keepdims=True); log_softmax = z - m - log(reduce_sum(exp(z - m), axis=1, keepdims=True))"


def numpy_cross_entropy(labels, logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return -(labels * (shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))).sum(axis=1)


@check(HINT, ("07", "the tutorial's first loss"))
def test_values_match_numpy(ex):
    rng = np.random.RandomState(0)
    logits = rng.randn(5, 4).astype(np.float32)
    labels = np.eye(4, dtype=np.float32)[rng.randint(0, 4, 5)]
    loss = ex.cross_entropy(tf.constant(labels), tf.constant(logits))
    with tf.Session() as sess:
        expect_close(sess.run(loss), numpy_cross_entropy(labels, logits), "one loss per example")


@check(HINT, ("07", "the tutorial's first loss"))
def test_large_logits_stay_finite(ex):
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]], np.float32)
    labels = np.array([[0, 1, 0], [0, 1, 0]], np.float32)
    with tf.Session() as sess:
        value = sess.run(ex.cross_entropy(tf.constant(labels), tf.constant(logits)))
    expect(np.all(np.isfinite(value)), "finite losses for logits of 1000", value.tolist())
    expect_close(value, [1000.0, 0.0], "the losses [1000, 0]", atol=1e-2)


# The ops a cross-entropy written from raw ops is made of (and what reshaping and casting bring along).
RAW_OPS = {"Const", "Placeholder", "Fill", "Identity", "Max", "Min", "Maximum", "Sub", "Exp", "Sum", "Log", "Log1p",
           "Mul", "Neg", "Add", "AddV2", "AddN", "RealDiv", "Div", "Mean", "StopGradient", "Reshape", "ExpandDims",
           "Squeeze", "Cast", "Shape", "Pack", "StridedSlice", "Range", "Rank", "Prod", "Square", "Reciprocal"}
# TensorFlow's own helpers that compute the same thing from the same raw ops, under their own scopes.
HELPER_SCOPES = ("ReduceLogSumExp", "reduce_logsumexp", "softmax_cross_entropy", "log_softmax", "LogSoftmax")


@check("build it from exp, log, reduce_max and reduce_sum yourself", ("07", "the tutorial's first loss"))
def test_written_from_raw_ops(ex):
    ex.cross_entropy(tf.ones([2, 3]), tf.ones([2, 3]))
    ops = tf.get_default_graph().get_operations()
    others = sorted({op.type for op in ops if op.type not in RAW_OPS})
    expect(not others, "only raw ops: exp, log, reduce_max, reduce_sum, arithmetic (no fused op, no "
           "tf.function, no numpy_function)", f"ops of type {others}")
    helpers = sorted({op.name for op in ops if any(scope in op.name for scope in HELPER_SCOPES)})
    expect(not helpers, "your own log-sum-exp (no tf.reduce_logsumexp, tf.nn.log_softmax or the fused loss)",
           f"ops made by a TensorFlow helper: {helpers[:3]}")
