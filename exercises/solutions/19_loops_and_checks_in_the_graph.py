"""Exercise 19 (a solution): a loop, a branch and two checks, all in the graph.

Count the steps of a Collatz sequence with tf.while_loop and tf.cond (the count depends on
the value fed, so a Python loop cannot do it); make a square root that stops the run with
a clear message on a negative input; and find which op of a graph first made a NaN or an
Inf, with tf.add_check_numerics_ops.

Checked as a learner file would be: lowtf check 19 --file exercises/solutions/19_loops_and_checks_in_the_graph.py
Re-read: lesson 32, steps "tf.while_loop when the count depends on the data",
"check_numerics" and "tf.debugging.assert_*".
"""
import re

import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def collatz_steps(n: tf.Tensor) -> tf.Tensor:
    """n: an int32 scalar tensor (a placeholder, say), n >= 1. Returns an int32 scalar
    tensor: how many steps n -> n / 2 (n even) or n -> 3 n + 1 (n odd) take to reach 1
    (0 for n = 1, 8 for n = 6)."""
    def step(value, count):
        following = tf.cond(tf.equal(value % 2, 0), lambda: value // 2, lambda: 3 * value + 1)
        return following, count + 1

    _, count = tf.while_loop(lambda value, count: value > 1, step, [n, tf.constant(0)])
    return count


def checked_sqrt(x: tf.Tensor) -> tf.Tensor:
    """x: a float tensor of any shape. Returns tf.sqrt(x), but a run where any element of
    x is negative fails with an error whose message holds "x must be non-negative" and
    shows the values of x."""
    assertion = tf.debugging.assert_non_negative(x, message="x must be non-negative")
    with tf.control_dependencies([assertion]):
        return tf.sqrt(x)


def first_bad_op(fetch: tf.Tensor, feed: dict) -> str:
    """``fetch`` is a tensor of the default graph and ``feed`` a feed_dict for it. Returns
    the name of the first op whose output holds a NaN or an Inf when ``fetch`` is computed
    (e.g. "log_probs"), or "" if none does."""
    checks = tf.add_check_numerics_ops()
    with tf.Session() as sess:
        try:
            sess.run([fetch, checks], feed)
        except tf.errors.InvalidArgumentError as e:
            found = re.search(r"^(\S+):\d+ : Tensor had", e.message, re.MULTILINE)
            return found.group(1) if found else ""
    return ""
