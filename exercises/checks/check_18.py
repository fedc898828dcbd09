"""Exercise 18: layers that share their weights by name."""
import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.practice.checking import check, expect, expect_close

DENSE_HINT = ("with tf.variable_scope(name, reuse=tf.AUTO_REUSE): w = tf.get_variable(\"weights\", "
              "[x.shape[-1], units], initializer=tf.glorot_uniform_initializer()); b = tf.get_variable("
              "\"biases\", [units], initializer=tf.zeros_initializer()); return tf.matmul(x, w) + b")
SIAMESE_HINT = ("def network(x): return dense(tf.tanh(dense(x, 8, \"hidden\")), 2, \"embedding\"); "
                "return network(left), network(right)")
REUSE = ("31", "AUTO_REUSE")
SCOPES = ("31", "name_scope against variable_scope")
SIAMESE = [("31", "AUTO_REUSE"), ("31", "two towers")]


def variables() -> dict:
    return {v.op.name: v.shape.as_list() for v in tf.global_variables()}


@check(DENSE_HINT, REUSE)
def test_dense_names_its_variables_and_computes_x_w_plus_b(ex):
    x = tf.placeholder(tf.float32, [None, 3])
    out = ex.dense(x, 2, "layer")
    expect(variables() == {"layer/weights": [3, 2], "layer/biases": [2]},
           "two Variables, layer/weights [3, 2] and layer/biases [2]", variables())
    with tf.variable_scope("layer", reuse=True):   # made by tf.get_variable, so found by name
        try:
            w, b = tf.get_variable("weights"), tf.get_variable("biases")
        except ValueError as e:
            expect(False, "Variables tf.get_variable finds by name", str(e).split(" Did you")[0],
                   nudge="make them with tf.get_variable inside tf.variable_scope(name), not tf.Variable")
    rng = np.random.RandomState(0)
    xs, w_value, b_value = (rng.randn(4, 3).astype(np.float32), rng.randn(3, 2).astype(np.float32),
                            np.array([0.5, -1.0], np.float32))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        expect_close(sess.run(b), [0.0, 0.0], "the biases, initialised to zeros")
        w.load(w_value, sess)
        b.load(b_value, sess)
        expect_close(sess.run(out, {x: xs}), xs @ w_value + b_value, "dense(x) = x W + b")


@check(DENSE_HINT, SCOPES)
def test_a_second_call_from_another_name_scope_reuses_the_variables(ex):
    x = tf.placeholder(tf.float32, [None, 3])
    outs = []
    for tower in ("tower_0", "tower_1"):
        with tf.name_scope(tower):
            outs.append(ex.dense(x, 2, "layer"))
    expect(sorted(variables()) == ["layer/biases", "layer/weights"],
           "one pair, layer/weights and layer/biases, from both name scopes", sorted(variables()),
           nudge="name_scope prefixes tf.Variable names and makes a new one each time; tf.get_variable "
                 "ignores name_scope and reuses what the variable_scope finds")
    xs = np.random.RandomState(1).randn(5, 3).astype(np.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first, second = sess.run(outs, {x: xs})
    expect_close(first, second, "the same output from both calls")


@check(SIAMESE_HINT, SIAMESE)
def test_siamese_towers_share_one_set_of_weights_and_train_together(ex):
    left, right = tf.placeholder(tf.float32, [None, 4]), tf.placeholder(tf.float32, [None, 4])
    out_left, out_right = ex.siamese(left, right)
    want = {"hidden/weights": [4, 8], "hidden/biases": [8], "embedding/weights": [8, 2], "embedding/biases": [2]}
    expect(variables() == want, f"one set of weights: {want}", variables())
    expect(out_left.shape.as_list() == [None, 2] and out_right.shape.as_list() == [None, 2],
           "two outputs of shape [N, 2]", (out_left.shape.as_list(), out_right.shape.as_list()))
    rng = np.random.RandomState(2)
    a, b = rng.randn(6, 4).astype(np.float32), rng.randn(6, 4).astype(np.float32)
    # pull the two embeddings of a pair together: a gradient from the right tower moves the left's too
    loss = tf.reduce_mean(tf.square(out_left - out_right)) + tf.reduce_mean(tf.square(out_right - 1.0))
    step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        l1, r1 = sess.run([out_left, out_right], {left: a, right: a})
        expect_close(l1, r1, "the same embedding from both towers for the same input")
        before = sess.run(out_left, {left: b})
        sess.run(step, {left: a, right: b})
        after_left, after_right = sess.run([out_left, out_right], {left: b, right: b})
    expect_close(after_left, after_right, "the same embedding from both towers after a training step")
    expect(not np.allclose(before, after_left), "the left tower moved by the shared step", "it did not move")
