"""Exercise 04: one gradient-descent update by hand."""
import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.practice.checking import check, expect, expect_close

HINT = "grads = tf.gradients(loss, variables); tf.group(*[tf.assign_sub(v, rate * g) for v, g in zip(...)])"


def problem():
    w = tf.Variable([[1.0, -2.0], [0.5, 3.0]], name="w")
    b = tf.Variable([0.1, -0.1], name="b")
    x = tf.constant([[1.0, 2.0], [3.0, -1.0]])
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b))
    return loss, [w, b]


@check(HINT, "07, step 5")
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
    for got, want, v in zip(by_hand, wanted, variables):
        expect_close(got, want, f"{v.op.name} after one step")
    expect(not np.allclose(by_hand[0], start[0]), "the Variables to move", "they did not change")


@check("no optimizer: the update is the gradient times the rate, subtracted", "07, step 5")
def test_no_optimizer_ops(ex):
    loss, variables = problem()
    ex.gradient_step(loss, variables, 0.1)
    # Apply* with reference Variables, ResourceApply* with resource Variables: an optimizer's update ops.
    applied = [op.type for op in tf.get_default_graph().get_operations() if "Apply" in op.type]
    expect(not applied, "no optimizer update ops", applied)
