"""Exercise 23: the momentum update by hand.

Make the train op that MomentumOptimizer(rate, momentum).minimize(loss) would make, from
tf.gradients, a velocity Variable per Variable and tf.assign, without an optimizer.

Complete the functions marked TODO, then check your work: lowtf check 23
Re-read: lesson 13, step "three optimisers" and lesson 07, step "backprop".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def momentum_step(loss: tf.Tensor, variables: list, rate: float, momentum: float) -> tf.Operation:
    """One op that, each time it runs, does for every Variable v with gradient g = dloss/dv:
        u <- momentum * u + g        (u: v's velocity, a Variable of zeros made here, not trainable)
        v <- v - rate * u            (with the new u)
    The velocities live between runs: that is what makes it momentum."""
    # TODO: tf.gradients; tf.Variable(tf.zeros_like(v.initialized_value()), trainable=False);
    # tf.assign(u, ...), then tf.assign_sub(v, ...) inside tf.control_dependencies([new_u])
    raise NotImplementedError("momentum_step is not written yet")
