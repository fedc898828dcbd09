"""A lesson for the runner's tests only: the cheapest run that shows what the runner does with a logdir
(its events moved aside by a second run) and with Ctrl-C (in a step busy in Session.run calls).

Loaded with ``lowtf.catalog.load_lesson(path)`` or run as a script: ``python tests/tiny_lesson.py --logdir DIR``
(without --fast its second step trains until stopped, up to a minute)."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import time

import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

lesson = Lesson("99", "runner test")

SECONDS = 60   # how long the second step trains without --fast (the tests stop it long before)


@lesson.step("one scalar to TensorBoard")
def events(ctx):
    """A FileWriter writes one event file into the logdir."""
    with tf.summary.FileWriter(str(ctx.logdir)) as writer:
        writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="x", simple_value=1.0)]), 0)
    ctx.record(wrote_events=True)


@lesson.step("train until stopped")
def train(ctx):
    """Small Session.run steps on a variable; ctx.logdir/train appears after the first one."""
    w = tf.Variable(tf.zeros([64, 64]))
    step = tf.assign_add(w, tf.matmul(tf.ones([64, 64]), tf.ones([64, 64])) * 1e-6)
    steps, deadline = 0, time.monotonic() + (0 if ctx.fast else SECONDS)
    with tf.Session() as sess:
        sess.run(w.initializer)
        while True:
            sess.run(step)
            steps += 1
            if steps == 1:
                (ctx.logdir / "train").mkdir(exist_ok=True)
            if time.monotonic() >= deadline:
                break
    ctx.record(steps=steps)


if __name__ == "__main__":
    raise SystemExit(lesson.main())
