"""A small ConvNet on MNIST with tf.layers (TF 1.4+ style), written for lowtf's tests.

Usage: layers_cnn.py DATA_DIR [STEPS]. Logs its test accuracy with tf.logging, as TF 1.x
examples did, and prints it."""
import sys

import numpy as np
import tensorflow as tf
from tensorflow.examples.tutorials.mnist import input_data

tf.logging.set_verbosity(tf.logging.INFO)
tf.set_random_seed(1)

data_dir = sys.argv[1]
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 600
mnist = input_data.read_data_sets(data_dir, one_hot=False, seed=1)

images = tf.placeholder(tf.float32, [None, 784], name="images")
labels = tf.placeholder(tf.int64, [None], name="labels")
training = tf.placeholder_with_default(False, [], name="training")

net = tf.reshape(images, [-1, 28, 28, 1])
net = tf.layers.conv2d(net, 16, 5, padding="same", activation=tf.nn.relu)
net = tf.layers.max_pooling2d(net, 2, 2)
net = tf.layers.conv2d(net, 32, 5, padding="same", activation=tf.nn.relu)
net = tf.layers.max_pooling2d(net, 2, 2)
net = tf.reshape(net, [-1, 7 * 7 * 32])
net = tf.layers.dense(net, 256, activation=tf.nn.relu)
net = tf.layers.dropout(net, rate=0.4, training=training)
logits = tf.layers.dense(net, 10)

loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), labels), tf.float32))

with tf.Session() as sess:
  sess.run(tf.global_variables_initializer())
  for step in range(steps):
    batch_x, batch_y = mnist.train.next_batch(50)
    sess.run(train_op, {images: batch_x, labels: batch_y, training: True})
  scores = [sess.run(accuracy, {images: mnist.test.images[i:i + 1000],
                                labels: mnist.test.labels[i:i + 1000]})
            for i in range(0, 10000, 1000)]
  tf.logging.info("test accuracy %g", np.mean(scores))
  print("variables", " ".join(v.name for v in tf.trainable_variables()))
  print("accuracy %g" % np.mean(scores))
