"""Exercise 25: transfer learning: train a new head, the copied layers frozen.

A network's base was copied from a model trained on another task; only its new head
should learn. Make the train op that updates the head's Variables and leaves the base's
exactly as they were.

Complete the functions marked TODO, then check your work: lowtf check 25
Re-read: lesson 20, step "freeze them, train a new head".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def train_head_only(loss: tf.Tensor, optimizer: tf.train.Optimizer, head_scope: str) -> tf.Operation:
    """The op that runs one step of ``optimizer`` on ``loss``, updating only the trainable
    Variables made under the variable scope ``head_scope`` (e.g. "head": head/w, head/b)."""
    # TODO: tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope=...), then minimize(..., var_list=...)
    raise NotImplementedError("train_head_only is not written yet")
