"""Placeholders and Variables: feeding data in, keeping state between runs."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on
from lowtf.error_text import tf_error_line

import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

lesson = Lesson("02", "placeholders and variables")


@lesson.step("a placeholder with a None dimension takes any batch size")
def placeholder(ctx):
    """A placeholder is a hole in the graph that every run must fill through feed_dict.
    `None` in its shape means 'any size here': the usual batch dimension."""
    ctx.x = tf.placeholder(tf.float32, shape=[None, 4], name="x")
    ctx.row_sums = tf.reduce_sum(ctx.x, axis=1, name="row_sums")
    with tf.Session() as sess:
        two = sess.run(ctx.row_sums, feed_dict={ctx.x: np.ones((2, 4))})
        five = sess.run(
            ctx.row_sums, feed_dict={ctx.x: np.arange(20).reshape(5, 4)}
        )
    ctx.record(row_sums_of_ones=two.tolist())
    return {"x.shape (static)": ctx.x.shape, "2 rows": two, "5 rows": five}


@lesson.step(
    "-1 in a reshape is inferred; None in a shape is unknown; -1 in a placeholder is an error"
)
def minus_one(ctx):
    """reshape's -1 means 'whatever makes the element count work out'. The static
    shape keeps what can be known before running: here the batch stays unknown (?).
    The two are easy to mix up (one of the course's source articles did): a
    placeholder's unknown dimension is None, and -1 there is rejected at once."""
    grid = tf.reshape(ctx.x, [-1, 2, 2], name="as_2x2")
    with tf.Session() as sess:
        value = sess.run(grid, feed_dict={ctx.x: np.arange(8).reshape(2, 4)})
    try:
        tf.placeholder(tf.float32, shape=[-1, 2])
        minus_one_error = "no error (unexpected)"
    except ValueError as e:
        minus_one_error = f"ValueError: {str(e).splitlines()[0]}"
    ctx.record(placeholder_minus_one_error=minus_one_error)
    return {
        "static shape": grid.shape,
        "run-time shape": value.shape,
        "tf.placeholder(tf.float32, shape=[-1, 2])": minus_one_error,
    }


@lesson.step(
    "a wrong shape is caught at build time or at feed time, never silently"
)
def wrong_shapes(ctx):
    """Shapes known while building are checked while building: matmul of [2,3] by [2,3]
    fails at once. A feed is checked when run() is called, before anything executes."""
    try:
        tf.matmul(tf.ones([2, 3]), tf.ones([2, 3]))
        build_error = "no error (unexpected)"
    except ValueError as e:
        build_error = f"ValueError at build time: {str(e).splitlines()[0]}"
    try:
        with tf.Session() as sess:
            sess.run(ctx.row_sums, feed_dict={ctx.x: np.ones((2, 3))})
        feed_error = "no error (unexpected)"
    except ValueError as e:
        feed_error = f"ValueError at run time: {e}"
    ctx.record(wrong_feed_error=feed_error)
    return {
        "matmul [2,3]x[2,3]": build_error,
        "feeding (2, 3) into (?, 4)": feed_error,
    }


@lesson.step("Variables hold state, and must be initialised before use")
def variables(ctx):
    """A Variable's value lives in the Session, not in the graph, so it survives between
    run() calls. Its initialiser is an op of its own; running the graph before it runs
    is a FailedPreconditionError."""
    ctx.w = tf.Variable(
        tf.truncated_normal([4, 2], stddev=0.1, seed=1), name="w"
    )
    ctx.b = tf.Variable(tf.zeros([2]), name="b")
    ctx.y = tf.matmul(ctx.x, ctx.w) + ctx.b
    ctx.sess = tf.Session()
    ctx.on_exit(ctx.sess.close)  # closed when the lesson ends, however it ends
    try:
        ctx.sess.run(ctx.y, feed_dict={ctx.x: np.ones((1, 4))})
        before = "ran (unexpected)"
    except tf.errors.FailedPreconditionError as e:
        before = tf_error_line(e, "uninitialized")
    ctx.sess.run(tf.global_variables_initializer())
    return {
        "before initialising": before,
        "w after initialising": ctx.sess.run(ctx.w),
    }


@lesson.step("Variable.load and assign change a Variable's value")
def assign(ctx):
    """Variable.load(value, sess) writes a numpy value straight in (TensorFlow 2 marks it
    deprecated: "Prefer Variable.assign which has equivalent behavior in 2.X"). tf.assign
    and assign_add are ops: they change the Variable each time they are run."""
    ctx.w.load(np.full((4, 2), 0.5, np.float32), ctx.sess)
    y = ctx.sess.run(ctx.y, feed_dict={ctx.x: np.ones((1, 4))})
    counter = tf.Variable(0, name="counter")
    increment = tf.assign_add(counter, 1)
    reset = tf.assign(counter, 10)
    ctx.sess.run(counter.initializer)
    for _ in range(3):
        ctx.sess.run(increment)
    after_three = ctx.sess.run(counter)
    ctx.sess.run(reset)
    after_reset = ctx.sess.run(counter)
    ctx.record(
        counter_after_three=int(after_three),
        counter_after_assign=int(after_reset),
    )
    return {
        "y with w loaded to 0.5": y,
        "counter after 3 increments": after_three,
        "counter after assign(10)": after_reset,
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
