"""Exercise 17: linear regression trained by hand in a graph."""
import contextlib

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.practice.checking import check, expect, expect_close

GRADIENT_HINT = "r = w * x + b - y; return 2.0 * tf.reduce_mean(r * x), 2.0 * tf.reduce_mean(r)"
LOOP_HINT = ("step = tf.group(tf.assign_sub(w, rate * grad_w), tf.assign_sub(b, rate * grad_b)); in the "
             "Session: sess.run(tf.global_variables_initializer()), then `steps` times sess.run(step, {x: xs, y: ys})")
GRADIENT = ("30", "the gradient")
LOOP = [("30", "the training loop"), ("30", "one step of gradient descent")]


def points(seed: int = 0, n: int = 40):
    rng = np.random.RandomState(seed)
    xs = rng.uniform(0.0, 2.0, n).astype(np.float32)
    return xs, (1.5 * xs - 0.5 + rng.normal(0, 0.3, n)).astype(np.float32)


def descent(xs, ys, steps, rate):
    """Gradient descent from (0, 0) in float64 numpy: what the learner's loop must reproduce."""
    w = b = 0.0
    xs, ys = xs.astype(np.float64), ys.astype(np.float64)
    for _ in range(steps):
        r = w * xs + b - ys
        w, b = w - rate * 2 * np.mean(r * xs), b - rate * 2 * np.mean(r)
    return w, b


def not_by_hand(ops) -> list:
    """What computes a gradient for you among ``ops``: tf.gradients ("gradients/..."), a GradientTape
    (its ops carry no name scope, but gradients of broadcasting ops need BroadcastGradientArgs, and
    gradients of others are *Grad ops), an optimizer (Apply*), or numpy through a PyFunc."""
    found = set()
    for op in ops:
        if op.name.startswith(("gradients/", "gradient_tape/")):
            found.add("tf.gradients")
        elif op.type == "BroadcastGradientArgs" or op.type.endswith("Grad"):
            found.add(f"{op.type} (a gradient op)")
        elif "Apply" in op.type:
            found.add(f"{op.type} (an optimizer's update)")
        elif op.type in ("PyFunc", "PyFuncStateless", "EagerPyFunc"):
            found.add(f"{op.type} (Python code)")
    return sorted(found)


@contextlib.contextmanager
def watched_runs(xs):
    """Counts the Session.run calls whose feed_dict held the points ``xs`` (as given, or as a copy)."""
    runs, original = [], tf.Session.run
    own = "run" in vars(tf.Session)

    def run(session, fetches, feed_dict=None, *args, **kwargs):
        fed = [np.asarray(v) for v in (feed_dict or {}).values()]
        runs.append(any(v.shape == xs.shape and np.allclose(v, xs) for v in fed))
        return original(session, fetches, feed_dict, *args, **kwargs)

    tf.Session.run = run
    try:
        yield runs
    finally:
        if own:
            tf.Session.run = original
        else:
            del tf.Session.run        # back to the inherited BaseSession.run


@check(GRADIENT_HINT, GRADIENT)
def test_the_gradient_is_the_formula_not_tf_gradients(ex):
    xs, ys = points()
    x, y = tf.placeholder(tf.float32, [None]), tf.placeholder(tf.float32, [None])
    w, b = tf.Variable(0.0), tf.Variable(0.0)
    before = len(tf.get_default_graph().get_operations())
    found = ex.gradients_by_hand(x, y, w, b)
    made = tf.get_default_graph().get_operations()[before:]
    expect(not not_by_hand(made), "the gradient written from the formula, in TensorFlow ops",
           f"ops that compute it for you: {not_by_hand(made)}",
           nudge="no tf.gradients, GradientTape, optimizer or numpy: r = w * x + b - y, then the two means")
    expect(isinstance(found, (tuple, list)) and len(found) == 2, "two tensors, (dloss/dw, dloss/db)",
           type(found).__name__)
    grad_w, grad_b = found
    reference = tf.gradients(tf.reduce_mean(tf.square(w * x + b - y)), [w, b])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for w_value, b_value in ((0.0, 0.0), (1.0, -2.0), (3.0, 0.5)):
            w.load(w_value, sess)
            b.load(b_value, sess)
            got, want = sess.run([[grad_w, grad_b], reference], {x: xs, y: ys})
            expect_close(got, want, f"(dloss/dw, dloss/db) at w = {w_value}, b = {b_value}", atol=1e-4)


@check(LOOP_HINT, LOOP)
def test_three_steps_are_three_steps_of_descent_from_zero(ex):
    xs, ys = points(1)
    with watched_runs(xs) as runs:
        found = ex.fit_line(xs, ys, steps=3, rate=0.1)
    expect(sum(runs) >= 3, "3 Session.run calls with the points fed, one per step", f"{sum(runs)}",
           nudge="train in the graph: a Session, and the update op run once per step with the points fed")
    graph_ops = tf.get_default_graph().get_operations()
    updates = [op for op in graph_ops if op.type in ("AssignSub", "AssignSubVariableOp")]
    expect(updates, "the update made of tf.assign_sub ops in your graph", "no AssignSub op")
    expect(not not_by_hand(graph_ops), "no tf.gradients or optimizer: your gradients_by_hand",
           f"{not_by_hand(graph_ops)}")
    expect_close(found, descent(xs, ys, 3, 0.1), "(w, b) after 3 steps at rate 0.1 from (0, 0)", atol=1e-4)


@check(LOOP_HINT, LOOP)
def test_many_steps_reach_least_squares(ex):
    xs, ys = points(2)
    with watched_runs(xs) as runs:
        found = ex.fit_line(xs, ys, steps=400, rate=0.2)
    expect(sum(runs) >= 400, "400 Session.run calls with the points fed, one per step", f"{sum(runs)}")
    closed_form = np.polyfit(xs.astype(np.float64), ys.astype(np.float64), 1)
    expect_close(found, closed_form, "(w, b) of least squares, after 400 steps at rate 0.2", atol=2e-3)
