"""Exercise 22: inverted dropout by hand."""
import math

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.practice.checking import check, expect

HINT = ("def dropped(): keep = tf.cast(tf.random_uniform(tf.shape(x)) >= rate, x.dtype); "
        "return x * keep / (1 - rate); then tf.cond(training, dropped, lambda: tf.identity(x))")
DROPOUT = ("11", "dropout by hand")
COND = [DROPOUT, ("32", "tf.cond")]
UNITS = 200_000


@check(HINT, DROPOUT)
def test_while_training_a_fraction_rate_is_dropped_and_the_rest_scaled(ex):
    training = tf.placeholder(tf.bool, [])
    x = tf.ones([UNITS])
    for rate in (0.2, 0.7):
        out = ex.dropout(x, rate, training)
        with tf.Session() as sess:
            first, second = sess.run(out, {training: True}), sess.run(out, {training: True})
        kept = float((first != 0).mean())
        se = math.sqrt(rate * (1 - rate) / UNITS)
        if abs(kept - rate) < 5 * se and rate != 0.5:
            expect(False, f"about {1 - rate:.1f} of the units kept at rate {rate}", f"{kept:.3f} kept",
                   nudge="rate is the fraction DROPPED (TensorFlow 2); keep_prob, TensorFlow 1's argument, was "
                         "the fraction kept")
        expect(abs(kept - (1 - rate)) < 5 * se, f"{1 - rate:.3f} of the units kept (+/- {5 * se:.4f})",
               f"{kept:.4f} kept at rate {rate}")
        survivors = np.unique(first[first != 0])
        expect(np.allclose(survivors, 1 / (1 - rate), rtol=1e-5),
               f"every survivor of a 1 scaled to 1 / (1 - rate) = {1 / (1 - rate):.4f}", survivors[:5].tolist(),
               nudge="inverted dropout divides the units it keeps by (1 - rate), so the expected value "
                     "is unchanged and nothing is rescaled at test time")
        expect(not np.array_equal(first != 0, second != 0), "a new random mask on every run",
               "the same units dropped in two runs",
               nudge="the mask must be drawn by a random op in the graph (tf.random_uniform), not made once in "
                     "Python or numpy")


@check(HINT, COND)
def test_at_test_time_nothing_changes(ex):
    training = tf.placeholder(tf.bool, [])
    values = np.random.RandomState(0).randn(3, 50).astype(np.float32)
    out = ex.dropout(tf.constant(values), 0.5, training)
    expect(out.shape.as_list() == [3, 50], "the shape of x, [3, 50]", str(out.shape))
    with tf.Session() as sess:
        at_test, while_training = sess.run(out, {training: False}), sess.run(out, {training: True})
    expect(np.array_equal(at_test, values), "x itself when training is False", "something else",
           nudge="the choice is made in the graph: tf.cond(training, dropped, lambda: tf.identity(x))")
    expect(not np.array_equal(while_training, values), "some units dropped when training is True",
           "x unchanged")
