"""Exercise 05 (a solution): the softmax regression training loop with feed_dict.

Train softmax regression on MNIST with the TF 1.x loop: next_batch(100) and
sess.run(train_step, feed_dict=...), then return the test accuracy (at least 0.91).

Checked as a learner file would be: lowtf check 05 --file exercises/solutions/05_softmax_training_loop.py
Re-read: lesson 07, steps "the model", "the loss we train" and "the training loop".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def train_and_test(mnist, steps: int = 1000) -> float:
    """mnist: read_data_sets(..., one_hot=True). Placeholders x [None, 784] and y_ [None, 10],
    W and b at zero, logits = x W + b, the fused cross-entropy averaged, gradient descent 0.5,
    `steps` batches of 100; return the accuracy on mnist.test."""
    x = tf.placeholder(tf.float32, [None, 784])
    y_ = tf.placeholder(tf.float32, [None, 10])
    W = tf.Variable(tf.zeros([784, 10]))
    b = tf.Variable(tf.zeros([10]))
    logits = tf.matmul(x, W) + b
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=logits))
    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), tf.argmax(y_, 1)), tf.float32))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            batch_xs, batch_ys = mnist.train.next_batch(100)
            sess.run(train_step, feed_dict={x: batch_xs, y_: batch_ys})
        return float(sess.run(accuracy, feed_dict={x: mnist.test.images, y_: mnist.test.labels}))
