"""The tutorial's model module (tensorflow.examples.tutorials.mnist.mnist as lowtf provides it): TF 1.x's
scopes, variable names, initial spreads, loss and the count evaluation() returns."""
import math

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.tutorials.mnist import mnist


def test_inference_loss_training_evaluation_as_the_tutorial_built_them():
    tf.set_random_seed(0)
    images = tf.placeholder(tf.float32, [None, mnist.IMAGE_PIXELS])
    labels = tf.placeholder(tf.int32, [None])
    logits = mnist.inference(images, 128, 32)
    loss = mnist.loss(logits, labels)
    train_op = mnist.training(loss, 0.01)
    correct = mnist.evaluation(logits, labels)
    names = [v.op.name for v in tf.global_variables()]
    assert names == ["hidden1/weights", "hidden1/biases", "hidden2/weights", "hidden2/biases",
                     "softmax_linear/weights", "softmax_linear/biases", "global_step"]
    assert logits.shape.as_list() == [None, 10] and correct.dtype == tf.int32
    assert [s.op.name for s in tf.get_collection(tf.GraphKeys.SUMMARIES)] == ["loss"]
    rng = np.random.RandomState(0)
    x, y = rng.rand(64, 784).astype(np.float32), rng.randint(0, 10, 64)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        w1 = sess.run(tf.global_variables()[0])
        # truncated normal with stddev 1/sqrt(784): cut at 2 stddev, so the spread is ~0.88 of it
        assert abs(w1.std() * math.sqrt(784) - 0.88) < 0.02 and np.abs(w1).max() <= 2 / math.sqrt(784)
        first, count, out = sess.run([loss, correct, logits], {images: x, labels: y})
        assert count == int((out.argmax(1) == y).sum())
        for _ in range(50):
            sess.run(train_op, {images: x, labels: y})
        assert sess.run(loss, {images: x, labels: y}) < first
        assert sess.run(tf.train.get_global_step()) == 50
