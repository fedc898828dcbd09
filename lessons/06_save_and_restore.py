"""Save and restore: checkpoints, names, fresh graphs, and what a mismatch says."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on
from lowtf.error_text import tf_error_line

import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

lesson = Lesson("06", "save and restore")


@lesson.step("a Saver writes every Variable's value under its graph name")
def save(ctx):
    """A checkpoint maps *graph* names ('weights') to values; the Python variable name
    (`w` here) is not stored anywhere. global_step numbers the files; max_to_keep
    deletes old ones; a 'checkpoint' file records the latest."""
    w = tf.Variable(
        tf.truncated_normal([3, 2], stddev=1.0, seed=6), name="weights"
    )
    b = tf.Variable(tf.constant([0.5, -0.5]), name="bias")
    bump = tf.assign_add(b, [1.0, 1.0])  # built once, run in the loop (03)
    saver = tf.train.Saver(max_to_keep=2)
    ctx.ckpt_dir = ctx.logdir / "checkpoints"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in (1, 2, 3):
            sess.run(bump)
            saver.save(sess, str(ctx.ckpt_dir / "model"), global_step=step)
        ctx.saved = {"weights": sess.run(w), "bias": sess.run(b)}
    ctx.latest = tf.train.latest_checkpoint(str(ctx.ckpt_dir))
    stored = tf.train.list_variables(ctx.latest)
    return {
        "latest_checkpoint": ctx.latest,
        "stored (name, shape)": stored,
        "saved values": ctx.saved,
    }


@lesson.step(
    "restoring into a fresh graph: same graph names, any Python names"
)
def restore(ctx):
    """Build the variables again (in a new graph, as a new process would) with the same
    graph names, then restore. No initialiser is needed: restore assigns every value."""
    with tf.Graph().as_default():
        kernel = tf.Variable(tf.zeros([3, 2]), name="weights")
        offset = tf.Variable(tf.zeros([2]), name="bias")
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, ctx.latest)
            restored = {"weights": sess.run(kernel), "bias": sess.run(offset)}
    equal = all(np.array_equal(restored[k], ctx.saved[k]) for k in restored)
    ctx.record(restored_equal=equal, restored_bias=restored["bias"].tolist())
    return {"restored": restored, "equal to saved": equal}


@lesson.step("a name map restores into differently named variables")
def name_map(ctx):
    """Saver(var_list={'name in checkpoint': variable}) decouples the two: useful when a
    model's scopes changed, or to load part of a checkpoint."""
    with tf.Graph().as_default():
        renamed = tf.Variable(tf.zeros([2]), name="layer/b")
        with tf.Session() as sess:
            tf.train.Saver(var_list={"bias": renamed}).restore(
                sess, ctx.latest
            )
            value = sess.run(renamed)
    return {"checkpoint 'bias' -> graph 'layer/b'": value}


@lesson.step("importing the meta graph: restore without the Python code")
def meta_graph(ctx):
    """Every save also writes MODEL.meta, the graph itself. import_meta_graph rebuilds
    it; tensors are then found by name."""
    with tf.Graph().as_default() as graph:
        saver = tf.train.import_meta_graph(ctx.latest + ".meta")
        with tf.Session() as sess:
            saver.restore(sess, ctx.latest)
            value = sess.run(graph.get_tensor_by_name("bias:0"))
    return {"bias:0 from the imported graph": value}


@lesson.step("what a shape mismatch says")
def mismatch(ctx):
    """Restoring a [3, 2] checkpoint value into a [4, 2] variable fails loudly, naming
    both shapes: checkpoints never silently load into the wrong architecture."""
    with tf.Graph().as_default():
        tf.Variable(tf.zeros([4, 2]), name="weights")
        tf.Variable(tf.zeros([2]), name="bias")
        try:
            with tf.Session() as sess:
                tf.train.Saver().restore(sess, ctx.latest)
            message = "restored (unexpected)"
        except tf.errors.InvalidArgumentError as e:
            message = tf_error_line(e, "shape")
    ctx.record(mismatch_error=message)
    return {"error": message}


if __name__ == "__main__":
    raise SystemExit(lesson.main())
