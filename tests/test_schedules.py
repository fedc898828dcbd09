"""The one-cycle learning rate and the recipe that uses it."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from lowtf.train.recipes import LENET5_FAST
from lowtf.train.schedules import one_cycle


def test_one_cycle_rises_to_the_peak_then_falls_to_zero():
    step = tf.placeholder(tf.int64, [])
    rate = one_cycle(step, peak=2e-3, total_steps=100, warmup=0.2)
    with tf.Session() as sess:
        values = {s: sess.run(rate, {step: s}) for s in (0, 10, 20, 60, 100, 150)}
    np.testing.assert_allclose([values[s] for s in (0, 10, 20, 60, 100, 150)],
                               [0, 1e-3, 2e-3, 1e-3, 0, 0], atol=1e-9)


def test_one_cycle_rejects_a_warmup_outside_the_run():
    with pytest.raises(ValueError, match="0 < warmup < 1"):
        one_cycle(tf.constant(0), 1e-3, 100, warmup=1.0)


def test_lenet5_recipe_steps_and_optimizer():
    assert LENET5_FAST.total_steps(60000) == 1171  # 2.5 epochs of 128
    global_step = tf.train.get_or_create_global_step()
    optimizer = LENET5_FAST.optimizer(total_steps=1171)(global_step)
    assert isinstance(optimizer, tf.train.AdamOptimizer)
    assert [s.name for s in tf.get_collection(tf.GraphKeys.SUMMARIES)] == ["learning_rate:0"]
