"""Exercise 23: the momentum update by hand."""
import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.practice.checking import check, expect, expect_close

HINT = ("for v, g in zip(variables, tf.gradients(loss, variables)): u = tf.Variable(tf.zeros(v.shape), "
        "trainable=False); new_u = tf.assign(u, momentum * u + g); with tf.control_dependencies([new_u]): "
        "tf.assign_sub(v, rate * new_u); return tf.group(...)")
OPTIMIZERS = [("13", "three optimisers"), ("07", "backprop")]
STEPS = 4


def problem():
    w = tf.Variable([[1.0, -2.0], [0.5, 3.0]], name="w")
    b = tf.Variable([0.1, -0.1], name="b")
    x = tf.constant([[1.0, 2.0], [3.0, -1.0]])
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b))
    return loss, [w, b]


@check(HINT, OPTIMIZERS)
def test_matches_momentum_optimizer_over_several_steps(ex):
    loss, variables = problem()
    step = ex.momentum_step(loss, variables, 0.05, 0.9)
    reference = tf.train.MomentumOptimizer(0.05, momentum=0.9).minimize(loss, var_list=variables)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        start = sess.run(variables)
        by_hand = []
        for _ in range(STEPS):
            sess.run(step)
            by_hand.append(sess.run(variables))
        for v, value in zip(variables, start):
            v.load(value, sess)
        wanted = []
        for _ in range(STEPS):
            sess.run(reference)
            wanted.append(sess.run(variables))
    expect(not np.allclose(by_hand[0][0], start[0]), "the Variables to move", "they did not change")
    first_ok = all(np.allclose(g, w, atol=1e-5) for g, w in zip(by_hand[0], wanted[0]))
    for i in range(STEPS):
        if first_ok and i and not all(np.allclose(g, w, atol=1e-5) for g, w in zip(by_hand[i], wanted[i])):
            expect(False, f"step {i + 1} to match MomentumOptimizer, as step 1 does",
                   f"steps 1 to {i} match, step {i + 1} does not",
                   nudge="the first step is plain gradient descent; after it the velocity must remember: a "
                         "Variable u updated with tf.assign, read by the Variables' update")
        for got, want, v in zip(by_hand[i], wanted[i], variables):
            expect_close(got, want, f"{v.op.name} after {i + 1} steps")


@check("no optimizer: velocities are Variables you update with tf.assign", OPTIMIZERS)
def test_no_optimizer_ops_and_no_new_trainable_variables(ex):
    loss, variables = problem()
    ex.momentum_step(loss, variables, 0.05, 0.9)
    applied = [op.type for op in tf.get_default_graph().get_operations() if "Apply" in op.type]
    expect(not applied, "no optimizer update ops", applied)
    trainable = [v.op.name for v in tf.trainable_variables()]
    expect(trainable == ["w", "b"], "the velocities made with trainable=False (trainable: w and b only)",
           trainable)
