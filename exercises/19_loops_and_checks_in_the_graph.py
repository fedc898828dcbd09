"""Exercise 19: a loop, a branch and two checks, all in the graph.

Count the steps of a Collatz sequence with tf.while_loop and tf.cond (the count depends on
the value fed, so a Python loop cannot do it); make a square root that stops the run with
a clear message on a negative input; and find which op of a graph first made a NaN or an
Inf, with tf.add_check_numerics_ops.

Complete the functions marked TODO, then check your work: lowtf check 19
Re-read: lesson 32, steps "tf.while_loop when the count depends on the data",
"check_numerics" and "tf.debugging.assert_*".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def collatz_steps(n: tf.Tensor) -> tf.Tensor:
    """n: an int32 scalar tensor (a placeholder, say), n >= 1. Returns an int32 scalar
    tensor: how many steps n -> n / 2 (n even) or n -> 3 n + 1 (n odd) take to reach 1
    (0 for n = 1, 8 for n = 6)."""
    # TODO: tf.while_loop over (value, count) while value > 1; the body's next value is
    # a tf.cond on value % 2 == 0
    raise NotImplementedError("collatz_steps is not written yet")


def checked_sqrt(x: tf.Tensor) -> tf.Tensor:
    """x: a float tensor of any shape. Returns tf.sqrt(x), but a run where any element of
    x is negative fails with an error whose message holds "x must be non-negative" and
    shows the values of x."""
    # TODO: tf.debugging.assert_non_negative(x, message=...), and tf.sqrt(x) made under
    # tf.control_dependencies([that assertion])
    raise NotImplementedError("checked_sqrt is not written yet")


def first_bad_op(fetch: tf.Tensor, feed: dict) -> str:
    """``fetch`` is a tensor of the default graph and ``feed`` a feed_dict for it. Returns
    the name of the first op whose output holds a NaN or an Inf when ``fetch`` is computed
    (e.g. "log_probs"), or "" if none does."""
    # TODO: checks = tf.add_check_numerics_ops(); run [fetch, checks] with feed in a
    # Session; catch tf.errors.InvalidArgumentError: its message begins with the bad
    # tensor's name ("log_probs:0 : Tensor had Inf values")
    raise NotImplementedError("first_bad_op is not written yet")
