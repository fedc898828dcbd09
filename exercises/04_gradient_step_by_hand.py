"""Exercise 04: one gradient-descent update by hand.

Make the train op that GradientDescentOptimizer(rate).minimize(loss) would make, from
tf.gradients and tf.assign_sub, without an optimizer.

Complete the functions marked TODO, then check your work: lowtf check 04
Re-read: lesson 07, step "backprop: tf.gradients checked by hand".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def gradient_step(loss: tf.Tensor, variables: list, rate: float) -> tf.Operation:
    """One op that moves each Variable v to v - rate * dloss/dv."""
    # TODO: tf.gradients(loss, variables), then tf.group of tf.assign_sub(v, rate * g)
    raise NotImplementedError("gradient_step is not written yet")
