"""Exercise 22: inverted dropout by hand, on while training and off at test time.

Write dropout from raw ops: a random mask that keeps each unit with probability
1 - rate, the survivors scaled up by 1 / (1 - rate), and nothing done at test time. Whether
the graph is training is a tensor fed at run time, so the choice is made in the graph.

Complete the functions marked TODO, then check your work: lowtf check 22
Re-read: lesson 11, step "dropout by hand" and lesson 32, step "tf.cond".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def dropout(x: tf.Tensor, rate: float, training: tf.Tensor) -> tf.Tensor:
    """``x`` of any shape; ``rate`` the probability of DROPPING a unit (0 <= rate < 1);
    ``training`` a scalar bool tensor (a placeholder, fed True or False). While training each
    element is zeroed with probability ``rate`` and the others divided by (1 - rate), a new
    mask on every run; otherwise x comes back unchanged. Without tf.nn.dropout."""
    # TODO: a mask from tf.random_uniform(tf.shape(x)) >= rate; tf.cond(training, ..., ...)
    raise NotImplementedError("dropout is not written yet")
