"""Exercise 10: the loss of a two-headed network."""
import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.practice.checking import check, expect, expect_close

HINT = "tf.reduce_mean(sparse_softmax_cross_entropy_with_logits(...)) + tf.reduce_mean(sigmoid_cross_entropy_with_logits(...))"


@check(HINT, ("19", "one trunk, two heads, the losses summed"))
def test_sum_of_the_two_mean_losses(ex):
    rng = np.random.RandomState(3)
    digit_logits, attribute_logits = rng.randn(6, 10).astype(np.float32), rng.randn(6, 4).astype(np.float32)
    digits, attributes = rng.randint(0, 10, 6), rng.randint(0, 2, (6, 4)).astype(np.float32)
    loss = ex.two_head_loss(tf.constant(digit_logits), tf.constant(attribute_logits), tf.constant(digits, tf.int64),
                            tf.constant(attributes))
    expect(loss.shape.ndims == 0, "a scalar loss", str(loss.shape))
    shifted = digit_logits - digit_logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    digit = -log_softmax[np.arange(6), digits].mean()
    p = 1 / (1 + np.exp(-attribute_logits))
    attribute = -(attributes * np.log(p) + (1 - attributes) * np.log(1 - p)).mean()
    with tf.Session() as sess:
        expect_close(sess.run(loss), digit + attribute, "mean digit loss + mean attribute loss", atol=1e-4)
