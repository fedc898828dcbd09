"""Exercise 26 (a solution): bfloat16 by hand, from float32's bits.

bfloat16 is float32 with the low 16 bits of the mantissa cut away. Round a float32 tensor
to the nearest bfloat16 value (ties to even, as TensorFlow does) by working on its bits
with tf.bitcast and integer ops, without casting to tf.bfloat16.

Checked as a learner file would be: lowtf check 26 --file exercises/solutions/26_bfloat16_by_hand.py
Re-read: lesson 27, step "three formats, bit by bit".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def to_bfloat16(x: tf.Tensor) -> tf.Tensor:
    """float32 ``x`` (finite values) -> float32 holding the nearest bfloat16 value of each:
    bits = x as uint32; add 0x7FFF plus the lowest bit that is kept (bit 16), so a tie goes
    to the even neighbour; clear the low 16 bits; read the bits back as float32."""
    bits = tf.bitcast(x, tf.uint32)
    kept_lowest = tf.bitwise.bitwise_and(tf.bitwise.right_shift(bits, 16), 1)
    rounded = bits + tf.constant(0x7FFF, tf.uint32) + kept_lowest
    cleared = tf.bitwise.bitwise_and(rounded, tf.constant(0xFFFF0000, tf.uint32))
    return tf.bitcast(cleared, tf.float32)
