"""Softmax regression with tf.app.flags and tf.app.run, written for lowtf's tests in the style of
TF 1.x's flag-driven examples: a Saver checkpoint and summaries in --train_dir, tf.logging output,
and an exit status the script chooses (--exit_code)."""
import tensorflow as tf
from tensorflow.examples.tutorials.mnist import input_data

flags = tf.app.flags
FLAGS = flags.FLAGS
flags.DEFINE_string("data_dir", "/tmp/mnist-data", "Directory for storing mnist data")
flags.DEFINE_string("train_dir", "/tmp/flags_app", "Checkpoints and summaries")
flags.DEFINE_integer("train_steps", 500, "Number of training steps")
flags.DEFINE_float("learning_rate", 0.5, "Learning rate")
flags.DEFINE_integer("exit_code", 0, "Exit with this status at the end")


def main(unused_argv):
  mnist = input_data.read_data_sets(FLAGS.data_dir, one_hot=True)
  x = tf.placeholder(tf.float32, [None, 784], name="x")
  y_ = tf.placeholder(tf.float32, [None, 10], name="y_")
  with tf.name_scope("softmax"):
    W = tf.Variable(tf.zeros([784, 10]), name="weights")
    b = tf.Variable(tf.zeros([10]), name="biases")
    y = tf.matmul(x, W) + b
  loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=y))
  tf.summary.scalar("loss", loss)
  global_step = tf.train.get_or_create_global_step()
  train = tf.train.GradientDescentOptimizer(FLAGS.learning_rate).minimize(loss, global_step=global_step)
  accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1)), tf.float32))
  merged = tf.summary.merge_all()
  saver = tf.train.Saver()
  with tf.Session() as sess:
    writer = tf.summary.FileWriter(FLAGS.train_dir, sess.graph)
    sess.run(tf.global_variables_initializer())
    for step in range(FLAGS.train_steps):
      xs, ys = mnist.train.next_batch(100)
      summary, _ = sess.run([merged, train], feed_dict={x: xs, y_: ys})
      if step % 100 == 0:
        writer.add_summary(summary, step)
    writer.close()
    path = saver.save(sess, FLAGS.train_dir + "/model.ckpt", global_step=global_step)
    tf.logging.warning("saved %s", path)
    print("accuracy %g" % sess.run(accuracy, feed_dict={x: mnist.test.images, y_: mnist.test.labels}))
  return FLAGS.exit_code


if __name__ == "__main__":
  tf.app.run()
