"""Exercise 04 (a solution): one gradient-descent update by hand.

Make the train op that GradientDescentOptimizer(rate).minimize(loss) would make, from
tf.gradients and tf.assign_sub, without an optimizer.

Checked as a learner file would be: lowtf check 04 --file exercises/solutions/04_gradient_step_by_hand.py
Re-read: lesson 07, step "backprop: tf.gradients checked by hand".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def gradient_step(loss: tf.Tensor, variables: list, rate: float) -> tf.Operation:
    """One op that moves each Variable v to v - rate * dloss/dv."""
    gradients = tf.gradients(loss, variables)
    return tf.group(*[tf.assign_sub(v, rate * g) for v, g in zip(variables, gradients)])
