"""Exercise 21: weight decay written into the loss."""
import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.practice.checking import check, expect, expect_close

HINT = "weight_decay * tf.add_n([tf.nn.l2_loss(w) for w in weights])"
LOSS_HINT = ("tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)) "
             "+ l2_penalty(weights, weight_decay)")
PENALTY = ("34", "L2 in the loss")


def matrices(seed: int = 0) -> list:
    rng = np.random.RandomState(seed)
    return [rng.randn(4, 3).astype(np.float32), rng.randn(3, 2).astype(np.float32)]


@check(HINT, PENALTY)
def test_the_penalty_and_its_gradient(ex):
    values = matrices()
    weights = [tf.Variable(w) for w in values]
    penalty = ex.l2_penalty(weights, 0.01)
    expect(penalty.shape.ndims == 0, "a scalar penalty", str(penalty.shape))
    want = 0.01 * sum((w ** 2).sum() / 2 for w in values)
    gradients = tf.gradients(penalty, weights)
    expect(all(g is not None for g in gradients), "a gradient for every weight matrix",
           [g is not None for g in gradients],
           nudge="the penalty must be computed from the Variables by TensorFlow ops, not from numpy values")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got = float(sess.run(penalty))
        if np.isclose(got, 2 * want, rtol=1e-4):
            expect(False, f"{want:.6f}", f"{got:.6f}, twice that",
                   nudge="the penalty is sum(w^2) / 2 per matrix (tf.nn.l2_loss halves), so that its "
                         "gradient is weight_decay * w")
        expect_close(got, want, "0.01 * (sum(w1^2) / 2 + sum(w2^2) / 2)", atol=1e-6)
        for g, w in zip(sess.run(gradients), values):
            expect_close(g, 0.01 * w, "the penalty's gradient, weight_decay * w", atol=1e-6)
        weights[0].load(values[0] * 3, sess)      # the penalty follows the Variables as they change
        moved = float(sess.run(penalty))
    want_moved = 0.01 * ((9 * values[0] ** 2).sum() / 2 + (values[1] ** 2).sum() / 2)
    expect_close(moved, want_moved, "the penalty after w1 was tripled", atol=1e-5)


@check(LOSS_HINT, PENALTY)
def test_the_loss_is_cross_entropy_plus_the_penalty_of_the_weights_only(ex):
    rng = np.random.RandomState(1)
    x, labels = rng.randn(6, 4).astype(np.float32), rng.randint(0, 2, 6)
    w1, w2 = (tf.Variable(w) for w in matrices(2))
    bias = tf.Variable(np.full(2, 5.0, np.float32))      # large: a penalised bias would show
    logits = tf.matmul(tf.tanh(tf.matmul(tf.constant(x), w1)), w2) + bias
    loss = ex.regularised_loss(logits, tf.constant(labels, tf.int64), [w1, w2], 0.1)
    expect(loss.shape.ndims == 0, "a scalar loss", str(loss.shape))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got, scores, a, b = sess.run([loss, logits, w1, w2])
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    cross_entropy = -log_softmax[np.arange(6), labels].mean()
    want = cross_entropy + 0.1 * ((a ** 2).sum() + (b ** 2).sum()) / 2
    if np.isclose(got, want + 0.1 * 25.0, rtol=1e-4):
        expect(False, f"{want:.5f}", f"{got:.5f}", nudge="only the weights passed in are penalised, not the bias")
    expect_close(got, want, "mean cross-entropy + 0.1 * (sum(w1^2) + sum(w2^2)) / 2", atol=1e-5)
