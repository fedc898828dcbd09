"""An MLP on MNIST with the tf.contrib pieces TF 1.x tutorials used, written for lowtf's tests:
tf.contrib.layers.flatten, xavier_initializer and l2_regularizer. Usage: contrib_flatten.py DATA_DIR [STEPS]"""
import sys

import tensorflow as tf
from tensorflow.contrib.layers import flatten
from tensorflow.examples.tutorials.mnist import input_data

tf.set_random_seed(2)
mnist = input_data.read_data_sets(sys.argv[1], one_hot=True, reshape=False)
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 1000

x = tf.placeholder(tf.float32, [None, 28, 28, 1])
y_ = tf.placeholder(tf.float32, [None, 10])
flat = flatten(x)
init = tf.contrib.layers.xavier_initializer()
regularizer = tf.contrib.layers.l2_regularizer(1e-4)

W1 = tf.get_variable("W1", [784, 200], initializer=init, regularizer=regularizer)
b1 = tf.get_variable("b1", [200], initializer=tf.zeros_initializer())
hidden = tf.nn.relu(tf.matmul(flat, W1) + b1)
W2 = tf.get_variable("W2", [200, 10], initializer=init, regularizer=regularizer)
b2 = tf.get_variable("b2", [10], initializer=tf.zeros_initializer())
logits = tf.matmul(hidden, W2) + b2

loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=logits))
loss += tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))
train = tf.train.GradientDescentOptimizer(0.3).minimize(loss)
correct = tf.equal(tf.argmax(logits, 1), tf.argmax(y_, 1))
accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))

with tf.Session() as sess:
  sess.run(tf.global_variables_initializer())
  for _ in range(steps):
    xs, ys = mnist.train.next_batch(100)
    sess.run(train, feed_dict={x: xs, y_: ys})
  print("flattened shape", flat.shape.as_list())
  print("accuracy %g" % sess.run(accuracy, feed_dict={x: mnist.test.images, y_: mnist.test.labels}))
