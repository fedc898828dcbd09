"""Exercise 25 (a solution): transfer learning: train a new head, the copied layers frozen.

A network's base was copied from a model trained on another task; only its new head
should learn. Make the train op that updates the head's Variables and leaves the base's
exactly as they were.

Checked as a learner file would be: lowtf check 25 --file exercises/solutions/25_train_only_the_new_head.py
Re-read: lesson 20, step "freeze them, train a new head".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def train_head_only(loss: tf.Tensor, optimizer: tf.train.Optimizer, head_scope: str) -> tf.Operation:
    """The op that runs one step of ``optimizer`` on ``loss``, updating only the trainable
    Variables made under the variable scope ``head_scope`` (e.g. "head": head/w, head/b)."""
    head = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope=head_scope + "/")
    return optimizer.minimize(loss, var_list=head)
