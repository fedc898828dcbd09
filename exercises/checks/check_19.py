"""Exercise 19: a loop, a branch and two checks, all in the graph."""
import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.practice.checking import check, expect, expect_close

LOOP_HINT = ("def step(value, count): return tf.cond(tf.equal(value % 2, 0), lambda: value // 2, lambda: "
             "3 * value + 1), count + 1; _, count = tf.while_loop(lambda value, count: value > 1, step, "
             "[n, tf.constant(0)])")
ASSERT_HINT = ("a = tf.debugging.assert_non_negative(x, message=\"x must be non-negative\"); with "
               "tf.control_dependencies([a]): return tf.sqrt(x)")
NUMERICS_HINT = ("checks = tf.add_check_numerics_ops(); sess.run([fetch, checks], feed) in a try; on "
                 "tf.errors.InvalidArgumentError as e: the name before \":0 : Tensor had\" in e.message")
LOOP = [("32", "tf.while_loop when the count depends"), ("32", "tf.cond")]
ASSERTS = ("32", "tf.debugging.assert_")
NUMERICS = ("32", "check_numerics")
LOOP_OPS = {"Enter", "Exit", "LoopCond", "NextIteration", "While", "StatelessWhile"}
OUTSIDE = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}


def collatz(n: int) -> int:
    count = 0
    while n > 1:
        n, count = (n // 2 if n % 2 == 0 else 3 * n + 1), count + 1
    return count


def said(message: str) -> str:
    """The line of a TensorFlow error message that says what failed."""
    lines = [line.strip() for line in message.splitlines() if line.strip() and not line.strip().startswith("[[")]
    telling = [line for line in lines if "assertion failed" in line or "Tensor had" in line]
    return (telling or lines or [""])[0][:200]


def op_types() -> set:
    return {op.type for op in tf.get_default_graph().get_operations()}


@check(LOOP_HINT, LOOP)
def test_collatz_steps_loop_in_the_graph(ex):
    n = tf.placeholder(tf.int32, [], name="n")
    count = ex.collatz_steps(n)
    types = op_types()
    expect(not types & OUTSIDE, "the count computed by TensorFlow ops", f"{sorted(types & OUTSIDE)}",
           nudge="no tf.py_function or tf.numpy_function: the loop itself belongs in the graph")
    expect(bool(types & LOOP_OPS), "a loop in the graph (tf.while_loop)", "no loop ops in your graph",
           nudge="the number of steps depends on the value fed: only a tf.while_loop can repeat a "
                 "data-dependent number of times")
    values = [1, 6, 7, 27, 97, 871]
    with tf.Session() as sess:
        got = [int(sess.run(count, {n: v})) for v in values]
    expect(got == [collatz(v) for v in values], f"steps to reach 1 for {values}: "
           f"{[collatz(v) for v in values]}", got)


@check(ASSERT_HINT, ASSERTS)
def test_checked_sqrt_stops_a_negative_input_in_words(ex):
    x = tf.placeholder(tf.float32, [None], name="x")
    root = ex.checked_sqrt(x)
    with tf.Session() as sess:
        expect_close(sess.run(root, {x: [4.0, 9.0, 0.0]}), [2.0, 3.0, 0.0], "sqrt of [4, 9, 0]")
        try:
            value = sess.run(root, {x: [4.0, -1.5]})
        except tf.errors.InvalidArgumentError as e:
            message = e.message
        else:
            expect(False, "the run with x = [4, -1.5] to fail", f"it returned {np.round(value, 4).tolist()}",
                   nudge="an assertion runs only when something depends on it: make tf.sqrt under "
                         "tf.control_dependencies([assertion])")
    expect("x must be non-negative" in message, "an error whose message holds \"x must be non-negative\"",
           said(message))
    expect("-1.5" in message, "an error that shows the values of x (-1.5 among them)", said(message),
           nudge="tf.debugging.assert_non_negative prints the offending values; check_numerics does not")


def naive_loss():
    z = tf.placeholder(tf.float32, [None, 10], name="logits")
    y_ = tf.placeholder(tf.float32, [None, 10], name="labels")
    loss = -tf.reduce_sum(y_ * tf.log(tf.nn.softmax(z, name="probs"), name="log_probs"), name="loss")
    return loss, {z: [[1000.0] + [0.0] * 9], y_: [[0.0, 1.0] + [0.0] * 8]}


def division_by_zero():
    x = tf.placeholder(tf.float32, [3], name="x")
    zero = tf.subtract(x, x, name="zero")
    ratio = tf.divide(1.0, zero, name="ratio")              # inf: the first bad op
    nan = tf.multiply(ratio, 0.0, name="times_zero")         # inf * 0 = NaN, later
    return tf.reduce_sum(nan, name="total"), {x: [1.0, 2.0, 3.0]}


def all_finite():
    x = tf.placeholder(tf.float32, [3], name="x")
    return tf.reduce_sum(tf.log(x + 1.0, name="log1p"), name="total"), {x: [1.0, 2.0, 3.0]}


@check(NUMERICS_HINT, NUMERICS)
def test_first_bad_op_is_found_by_the_graphs_checks(ex):
    for build, want in ((naive_loss, "log_probs"), (division_by_zero, "ratio"), (all_finite, "")):
        with tf.Graph().as_default():
            fetch, feed = build()
            got = ex.first_bad_op(fetch, feed)
            checked = "CheckNumerics" in op_types()
        expect(checked, "tf.add_check_numerics_ops() in the graph", "no CheckNumerics op",
               nudge="let the graph check itself: every floating-point op, in order")
        expect(got == want, f"{want!r} for the graph of {build.__name__}", repr(got),
               nudge="the first bad op, not the last: add_check_numerics_ops stops at the first" if got else "")
