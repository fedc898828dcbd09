"""A lesson for the runner's tests only: the cheapest run that shows what the runner does with a logdir
(its events moved aside by a second run) and with Ctrl-C (in a step holding a Session open).

Loaded with ``lowtf.catalog.load_lesson(path)`` or run as a script: ``python tests/tiny_lesson.py --logdir DIR``
(without --fast its second step waits until stopped, up to a minute)."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import time

import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

lesson = Lesson("99", "runner test")

SECONDS = 60   # how long the second step waits without --fast (the tests stop it long before)


@lesson.step("one scalar to TensorBoard")
def events(ctx):
    """A FileWriter writes one event file into the logdir."""
    with tf.summary.FileWriter(str(ctx.logdir)) as writer:
        writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="x", simple_value=1.0)]), 0)
    ctx.record(wrote_events=True)


@lesson.step("train, then wait until stopped")
def train(ctx):
    """Ten Session.run steps on a variable; then ctx.logdir/train appears and the step waits with its
    Session open (up to SECONDS without --fast)."""
    # The wait is in Python, so the tests' Ctrl-C lands at a known place, not wherever TensorFlow's Python
    # code around a Session.run happens to be (one Ctrl-C of 11 sent to a plain script looping on tiny runs
    # did not end it here, unexplained); what Ctrl-C does inside TensorFlow is not what these tests are about.
    w = tf.Variable(tf.zeros([64, 64]))
    step = tf.assign_add(w, tf.matmul(tf.ones([64, 64]), tf.ones([64, 64])) * 1e-6)
    deadline = time.monotonic() + (0 if ctx.fast else SECONDS)
    with tf.Session() as sess:
        sess.run(w.initializer)
        for _ in range(10):
            sess.run(step)
        (ctx.logdir / "train").mkdir(exist_ok=True)
        while time.monotonic() < deadline:
            time.sleep(0.05)
    ctx.record(steps=10)


if __name__ == "__main__":
    raise SystemExit(lesson.main())
