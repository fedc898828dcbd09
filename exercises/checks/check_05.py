"""Exercise 05: the softmax regression training loop with feed_dict."""
from lowtf.data import mnist as mnist_store
from lowtf.practice.checking import check, expect
from lowtf.tutorials.mnist import input_data

HINT = "batch_xs, batch_ys = mnist.train.next_batch(100); sess.run(train_step, feed_dict={x: batch_xs, y_: batch_ys})"


@check(HINT, "07, step 7")
def test_reaches_0_91(ex):
    mnist = input_data.read_data_sets(str(mnist_store.folder()), one_hot=True, seed=0)
    accuracy = ex.train_and_test(mnist, steps=1000)
    expect(0.91 <= accuracy <= 1.0, "a test accuracy of at least 0.91 after 1,000 steps", f"{accuracy:.4f}")
