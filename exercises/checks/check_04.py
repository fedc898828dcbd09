"""Exercise 04: one gradient-descent update by hand."""
import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.practice.checking import check, expect, expect_close

HINT = "grads = tf.gradients(loss, variables); tf.group(*[tf.assign_sub(v, rate * g) for v, g in zip(...)])"
BACKPROP = ("07", "backprop: tf.gradients checked by hand")


def problem():
    w = tf.Variable([[1.0, -2.0], [0.5, 3.0]], name="w")
    b = tf.Variable([0.1, -0.1], name="b")
    x = tf.constant([[1.0, 2.0], [3.0, -1.0]])
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b))
    return loss, [w, b]


@check(HINT, BACKPROP)
def test_matches_gradient_descent_optimizer(ex):
    loss, variables = problem()
    step = ex.gradient_step(loss, variables, 0.1)
    reference = tf.train.GradientDescentOptimizer(0.1).minimize(loss, var_list=variables)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        start = sess.run(variables)
        sess.run(step)
        by_hand = sess.run(variables)
        for v, value in zip(variables, start):
            v.load(value, sess)
        sess.run(reference)
        wanted = sess.run(variables)
    expect(not np.allclose(by_hand[0], start[0]), "the Variables to move", "they did not change")
    moved = [got - s for got, s in zip(by_hand, start)]
    downhill = [want - s for want, s in zip(wanted, start)]     # -rate * gradient
    # a recognised mistake: the step taken in the wrong direction, or by a multiple of the right one
    if all(np.allclose(m, -d, rtol=1e-4, atol=1e-6) for m, d in zip(moved, downhill)):
        expect(False, "each Variable to move by -rate * gradient", "each moved by +rate * gradient",
               nudge="your update moves uphill: the step is minus the gradient (assign_sub rate * g, "
                     "or add -rate * g)")
    m, d = (np.concatenate([a.ravel() for a in arrays]) for arrays in (moved, downhill))
    ratios = m[np.abs(d) > 1e-6] / d[np.abs(d) > 1e-6]
    if (ratios.size and ratios[0] > 0 and np.allclose(ratios, ratios[0], rtol=1e-3)
            and not np.isclose(ratios[0], 1.0, rtol=1e-3)):
        expect(False, "each Variable to move by rate * gradient, downhill",
               f"each moved {ratios[0]:.3g} times that far",
               nudge="the direction is right, the size is not: the step is the rate times the gradient, "
                     "once (no extra factor, no mean over the Variables)")
    for got, want, v in zip(by_hand, wanted, variables):
        expect_close(got, want, f"{v.op.name} after one step")


@check("no optimizer: the update is the gradient times the rate, subtracted", BACKPROP)
def test_no_optimizer_ops(ex):
    loss, variables = problem()
    ex.gradient_step(loss, variables, 0.1)
    # Apply* with reference Variables, ResourceApply* with resource Variables: an optimizer's update ops.
    applied = [op.type for op in tf.get_default_graph().get_operations() if "Apply" in op.type]
    expect(not applied, "no optimizer update ops", applied)
