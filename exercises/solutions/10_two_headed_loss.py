"""Exercise 10 (a solution): the loss of a two-headed network.

One head says which digit (softmax over 10), the other answers yes/no questions about it
(one sigmoid each). Write the total loss.

Checked as a learner file would be: lowtf check 10 --file exercises/solutions/10_two_headed_loss.py
Re-read: lesson 19, step "one trunk, two heads, the losses summed".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def two_head_loss(digit_logits, attribute_logits, digits, attributes) -> tf.Tensor:
    """A scalar: mean softmax cross-entropy of the digit head (digits are integer labels [N])
    plus mean sigmoid cross-entropy of the attribute head (attributes are 0/1 floats [N, A])."""
    digit = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=digits, logits=digit_logits))
    attribute = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=attributes, logits=attribute_logits))
    return digit + attribute
