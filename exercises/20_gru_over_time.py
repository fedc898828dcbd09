"""Exercise 20: a GRU cell run over time with tf.scan.

Write one step of a GRU from raw ops, then run it over a whole sequence with tf.scan: a
loop inside the graph, not a Python loop that copies the cell once per time step.

Complete the functions marked TODO, then check your work: lowtf check 20
Re-read: lesson 33, step "a GRU cell from raw ops" and step "over time: tf.scan"; lesson 32,
step "tf.scan: a loop that keeps every step's result".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def gru_step(v: dict, h: tf.Tensor, x_t: tf.Tensor) -> tf.Tensor:
    """State h [N, H] and input x_t [N, D] -> the new state [N, H]. ``v`` holds the weights:
    Wz, Wr, Wc of shape [D + H, H] and bz, br, bc of shape [H]. With [a, b] meaning
    tf.concat([a, b], axis=1):
        z = sigmoid([x_t, h] Wz + bz)        r = sigmoid([x_t, h] Wr + br)
        c = tanh([x_t, r * h] Wc + bc)       new h = z * h + (1 - z) * c"""
    # TODO: tf.concat, tf.matmul, tf.sigmoid, tf.tanh, as in the equations
    raise NotImplementedError("gru_step is not written yet")


def all_states(v: dict, xs: tf.Tensor) -> tf.Tensor:
    """xs [T, N, D], time first -> every state [T, N, H], starting from h = zeros [N, H].
    T may be unknown until the graph runs (a placeholder [None, None, D])."""
    # TODO: tf.scan(lambda h, x_t: gru_step(v, h, x_t), xs, initializer=...)
    raise NotImplementedError("all_states is not written yet")
