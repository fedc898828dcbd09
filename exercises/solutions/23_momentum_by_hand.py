"""Exercise 23 (a solution): the momentum update by hand.

Make the train op that MomentumOptimizer(rate, momentum).minimize(loss) would make, from
tf.gradients, a velocity Variable per Variable and tf.assign, without an optimizer.

Checked as a learner file would be: lowtf check 23 --file exercises/solutions/23_momentum_by_hand.py
Re-read: lesson 13, step "three optimisers" and lesson 07, step "backprop".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def momentum_step(loss: tf.Tensor, variables: list, rate: float, momentum: float) -> tf.Operation:
    """One op that, each time it runs, does for every Variable v with gradient g = dloss/dv:
        u <- momentum * u + g        (u: v's velocity, a Variable of zeros made here, not trainable)
        v <- v - rate * u            (with the new u)
    The velocities live between runs: that is what makes it momentum."""
    updates = []
    for v, g in zip(variables, tf.gradients(loss, variables)):
        u = tf.Variable(tf.zeros(v.shape, v.dtype.base_dtype), trainable=False, name="velocity")
        new_u = tf.assign(u, momentum * u + g)
        with tf.control_dependencies([new_u]):
            updates.append(tf.assign_sub(v, rate * new_u))
    return tf.group(*updates)
