"""Exercise 05: the softmax regression training loop with feed_dict."""
import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.data import mnist as mnist_store
from lowtf.practice.checking import accuracy_nudge, check, expect
from lowtf.tutorials.mnist import input_data

HINT = "batch_xs, batch_ys = mnist.train.next_batch(100); sess.run(train_step, feed_dict={x: batch_xs, y_: batch_ys})"


class Watched:
    """What the learner's loop did: the batches next_batch handed out and every Session.run with its feeds."""

    def __init__(self, mnist):
        self.batches, self.runs = [], []
        original_next_batch, original_run = mnist.train.next_batch, tf.Session.run
        watch = self

        def next_batch(batch_size, *args, **kwargs):
            batch = original_next_batch(batch_size, *args, **kwargs)
            watch.batches.append(batch)
            return batch

        def run(session, fetches, feed_dict=None, *args, **kwargs):
            result = original_run(session, fetches, feed_dict, *args, **kwargs)
            watch.runs.append((list((feed_dict or {}).values()), result))
            return result

        mnist.train.next_batch = next_batch
        self._own_run = "run" in vars(tf.Session)
        self._original_run = original_run
        tf.Session.run = run

    def fed_a_batch(self, values) -> bool:
        fed = {id(v) for v in values}
        return any(id(images) in fed for images, _ in self.batches)

    def close(self):
        if self._own_run:
            tf.Session.run = self._original_run
        else:
            del tf.Session.run     # back to the inherited BaseSession.run


@check(HINT, ("07", "the training loop"))
def test_reaches_0_91(ex):
    mnist = input_data.read_data_sets(str(mnist_store.folder()), one_hot=True, seed=0)
    watched = Watched(mnist)
    try:
        accuracy = ex.train_and_test(mnist, steps=1000)
    finally:
        watched.close()
    sizes = {len(images) for images, _ in watched.batches}
    expect(len(watched.batches) >= 1000 and sizes == {100}, "1,000 batches of 100 from mnist.train.next_batch",
           f"{len(watched.batches)} batches of sizes {sorted(sizes)}")
    training_runs = sum(watched.fed_a_batch(values) for values, _ in watched.runs)
    expect(training_runs >= 1000, "1,000 sess.run calls, each fed a batch through feed_dict",
           f"{training_runs} runs fed a batch")
    scored = [result for values, result in watched.runs
              if any(v is mnist.test.images for v in values) and np.ndim(result) == 0]
    expect(any(abs(float(result) - accuracy) < 1e-6 for result in scored),
           "the accuracy your graph computed on mnist.test.images, returned", f"{accuracy!r}, which no "
           f"sess.run fed with mnist.test.images returned")
    expect(0.91 <= accuracy <= 1.0, "a test accuracy of at least 0.91 after 1,000 steps", f"{accuracy:.4f}",
           nudge=accuracy_nudge(accuracy))
