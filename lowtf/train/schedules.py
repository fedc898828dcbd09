"""Learning-rate schedules as graph ops of the global step."""
from __future__ import annotations

import tensorflow.compat.v1 as tf


def one_cycle(
    global_step: tf.Tensor,
    peak: float,
    total_steps: int,
    warmup: float = 0.2,
) -> tf.Tensor:
    """A scalar rate: rises linearly from 0 to ``peak`` over the first
    ``warmup`` fraction of ``total_steps``, then falls linearly back to 0
    at ``total_steps`` (and stays 0 after).

    The warm-up lets Adam's moment estimates settle before large
    steps; the long decay to 0 anneals the weights into a minimum,
    which is what buys the last tenths of a percent when the whole run
    is short (Smith & Topin, "Super-Convergence", 2017)."""
    if not 0 < warmup < 1 or total_steps < 2:
        raise ValueError(
            "one_cycle needs 0 < warmup < 1 and total_steps >= 2, "
            f"got {warmup}, {total_steps}"
        )
    with tf.name_scope("one_cycle"):
        step = tf.cast(global_step, tf.float32)
        rise = max(1.0, warmup * total_steps)
        up = step / rise
        down = (total_steps - step) / (total_steps - rise)
        return peak * tf.maximum(0.0, tf.minimum(up, down))
