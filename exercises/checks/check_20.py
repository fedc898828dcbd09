"""Exercise 20: a GRU cell run over time with tf.scan."""
import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.practice.checking import check, expect, expect_close

HINT = ("both = tf.concat([x_t, h], axis=1); z = tf.sigmoid(tf.matmul(both, v[\"Wz\"]) + v[\"bz\"]); "
        "the same for r; c from tf.concat([x_t, r * h], axis=1); return z * h + (1 - z) * c")
SCAN_HINT = ("h0 = tf.zeros([tf.shape(xs)[1], H]); return tf.scan(lambda h, x_t: gru_step(v, h, x_t), xs, "
             "initializer=h0)")
CELL = ("33", "a GRU cell from raw ops")
OVER_TIME = [("33", "over time: tf.scan"), ("32", "tf.scan: a loop that keeps")]
D, H = 3, 4


def weights(seed: int = 0) -> dict:
    rng = np.random.RandomState(seed)
    return {**{f"W{g}": rng.randn(D + H, H).astype(np.float32) * 0.7 for g in "zrc"},
            **{f"b{g}": rng.randn(H).astype(np.float32) * 0.3 for g in "zrc"}}


def numpy_step(v: dict, h, x):
    sigmoid = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    both = np.concatenate([x, h], axis=1)
    z, r = sigmoid(both @ v["Wz"] + v["bz"]), sigmoid(both @ v["Wr"] + v["br"])
    c = np.tanh(np.concatenate([x, r * h], axis=1) @ v["Wc"] + v["bc"])
    return z * h + (1 - z) * c


def numpy_states(v: dict, xs):
    h, found = np.zeros((xs.shape[1], H), np.float32), []
    for x in xs:
        h = numpy_step(v, h, x)
        found.append(h)
    return np.stack(found)


@check(HINT, CELL)
def test_one_step_is_the_gru_equations(ex):
    rng = np.random.RandomState(1)
    v, h, x = weights(), rng.randn(5, H).astype(np.float32), rng.randn(5, D).astype(np.float32)
    new_h = ex.gru_step({k: tf.constant(a) for k, a in v.items()}, tf.constant(h), tf.constant(x))
    expect(new_h.shape.as_list() == [5, H], f"a new state of shape [5, {H}]", str(new_h.shape))
    with tf.Session() as sess:
        got = sess.run(new_h)
    want = numpy_step(v, h, x)
    expect_close(got, want, "the GRU's new state", atol=1e-5)


@check(SCAN_HINT, OVER_TIME)
def test_states_over_a_sequence_whose_length_is_known_only_at_run_time(ex):
    v = weights(2)
    xs = tf.placeholder(tf.float32, [None, None, D])
    states = ex.all_states({k: tf.constant(a) for k, a in v.items()}, xs)
    rng = np.random.RandomState(3)
    with tf.Session() as sess:
        for steps, batch in ((5, 2), (9, 3)):
            sequence = rng.randn(steps, batch, D).astype(np.float32)
            expect_close(sess.run(states, {xs: sequence}), numpy_states(v, sequence),
                         f"every state of a {steps}-step sequence, [T, N, H]", atol=1e-5)


@check(SCAN_HINT, OVER_TIME)
def test_a_loop_in_the_graph_that_backpropagates(ex):
    """The graph holds one copy of the cell, however long the sequence (a Python loop adds one per
    step), and gradients reach the weights through it (no numpy inside)."""
    counts = {}
    for steps in (3, 12):
        with tf.Graph().as_default():
            v = {k: tf.Variable(a) for k, a in weights().items()}
            states = ex.all_states(v, tf.constant(np.ones((steps, 2, D), np.float32)))
            ops = tf.get_default_graph().get_operations()
            counts[steps] = sum(op.type == "MatMul" for op in ops)
            (gradient,) = tf.gradients(tf.reduce_sum(states), [v["Wz"]])
            expect(gradient is not None, "a gradient from the states back to Wz", "None",
                   nudge="the states are not computed from the weights by TensorFlow ops (numpy inside "
                         "tf.numpy_function, or a constant?): tf.gradients cannot reach Wz")
    expect(counts[3] == counts[12] and counts[3] > 0,
           "the same number of MatMul ops for 3 steps and for 12 (one cell inside a graph loop)",
           f"{counts[3]} MatMul ops for 3 steps, {counts[12]} for 12",
           nudge="a Python for-loop copies the cell into the graph once per step: use tf.scan (or "
                 "tf.while_loop), a loop that runs inside the graph")
