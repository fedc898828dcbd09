"""Exercise 02 (a solution): softmax cross-entropy by hand, stable for large logits.

Write softmax cross-entropy from raw ops (no tf.nn.softmax_cross_entropy_with_logits),
and make it stable: logits of 1000 must give a finite loss.

Checked as a learner file would be: lowtf check 02 --file exercises/solutions/02_stable_cross_entropy.py
Re-read: lesson 07, step "the tutorial's first loss".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def cross_entropy(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """labels (one-hot) and logits [N, K] -> the loss of each example [N].
    Subtract each row's max before exp: log(softmax(z)) = z - m - log(sum(exp(z - m)))."""
    shifted = logits - tf.reduce_max(logits, axis=1, keepdims=True)
    log_softmax = shifted - tf.log(tf.reduce_sum(tf.exp(shifted), axis=1, keepdims=True))
    return -tf.reduce_sum(labels * log_softmax, axis=1)
