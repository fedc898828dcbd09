"""Cross-entropy from scratch equals the fused op in value and gradient; the naive one turns to NaN."""
import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.nn import softmax_cross_entropy, softmax_cross_entropy_from_scratch, softmax_cross_entropy_naive

RNG = np.random.RandomState(0)
LABELS = np.eye(5)[RNG.randint(0, 5, 8)]
LOGITS = RNG.randn(8, 5) * 3


def _value_and_grad(loss_fn, logits_value):
    logits = tf.placeholder(tf.float64, [None, 5])
    loss = loss_fn(tf.constant(LABELS), logits)
    grad = tf.gradients(loss, logits)[0]
    with tf.Session() as sess:
        return sess.run([loss, grad], {logits: logits_value}), lambda v: sess.run(loss, {logits: v})


def test_from_scratch_matches_fused_value_and_gradient():
    (fused, fused_grad), _ = _value_and_grad(softmax_cross_entropy, LOGITS)
    (mine, my_grad), _ = _value_and_grad(softmax_cross_entropy_from_scratch, LOGITS)
    np.testing.assert_allclose(mine, fused, rtol=1e-12)
    np.testing.assert_allclose(my_grad, fused_grad, rtol=1e-10, atol=1e-14)
    # The analytic gradient is (softmax - labels) / N.
    softmax = np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)
    np.testing.assert_allclose(my_grad, (softmax - LABELS) / len(LABELS), rtol=1e-10)


def test_gradient_checked_numerically():
    logits = tf.placeholder(tf.float64, [8, 5])
    loss = softmax_cross_entropy_from_scratch(tf.constant(LABELS), logits)
    grad = tf.gradients(loss, logits)[0]
    eps = 1e-6
    with tf.Session() as sess:
        analytic = sess.run(grad, {logits: LOGITS})
        numeric = np.zeros_like(LOGITS)
        for idx in np.ndindex(*LOGITS.shape):
            up, down = LOGITS.copy(), LOGITS.copy()
            up[idx] += eps
            down[idx] -= eps
            numeric[idx] = (sess.run(loss, {logits: up}) - sess.run(loss, {logits: down})) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_naive_formula_turns_to_nan_on_large_logits_and_the_stable_one_does_not():
    big = np.float32(LOGITS * 100)  # logits in the hundreds: exp overflows float32
    labels = tf.constant(np.float32(LABELS))
    logits = tf.constant(big)
    with tf.Session() as sess:
        naive, stable, fused = sess.run([softmax_cross_entropy_naive(labels, logits),
                                         softmax_cross_entropy_from_scratch(labels, logits),
                                         softmax_cross_entropy(labels, logits)])
        small = sess.run(softmax_cross_entropy_naive(labels, tf.constant(np.float32(LOGITS))))
    assert np.isnan(naive)
    assert np.isfinite(stable) and np.isclose(stable, fused, rtol=1e-5)
    assert np.isfinite(small)
