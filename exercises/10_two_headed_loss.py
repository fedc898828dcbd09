"""Exercise 10: the loss of a two-headed network.

One head says which digit (softmax over 10), the other answers yes/no questions about it
(one sigmoid each). Write the total loss.

Complete the functions marked TODO, then check your work: lowtf check 10
Re-read: lesson 19, step "one trunk, two heads, the losses summed".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def two_head_loss(digit_logits, attribute_logits, digits, attributes) -> tf.Tensor:
    """A scalar: mean softmax cross-entropy of the digit head (digits are integer labels [N])
    plus mean sigmoid cross-entropy of the attribute head (attributes are 0/1 floats [N, A])."""
    # TODO: sparse_softmax_cross_entropy_with_logits + sigmoid_cross_entropy_with_logits, each averaged
    raise NotImplementedError("two_head_loss is not written yet")
