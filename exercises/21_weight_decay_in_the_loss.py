"""Exercise 21: weight decay written into the loss.

Add an L2 penalty over the weight matrices to a classifier's loss, so gradient descent
pulls every weight towards zero unless the data pushes it away.

Complete the functions marked TODO, then check your work: lowtf check 21
Re-read: lesson 34, step "L2 in the loss".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def l2_penalty(weights: list, weight_decay: float) -> tf.Tensor:
    """A scalar: weight_decay times the sum, over the matrices in ``weights``, of sum(w^2) / 2.
    Its gradient with respect to each w is then weight_decay * w."""
    # TODO: tf.nn.l2_loss(w) is sum(w^2) / 2; tf.add_n adds a list of them
    raise NotImplementedError("l2_penalty is not written yet")


def regularised_loss(logits, labels, weights: list, weight_decay: float) -> tf.Tensor:
    """A scalar: the mean sparse softmax cross-entropy of ``logits`` [N, K] against integer
    ``labels`` [N], plus l2_penalty(weights, weight_decay). Only ``weights`` are penalised
    (the biases are not passed in)."""
    # TODO: tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(...)) + l2_penalty(...)
    raise NotImplementedError("regularised_loss is not written yet")
