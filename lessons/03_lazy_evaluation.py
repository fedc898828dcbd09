"""Lazy evaluation: a run executes only what its fetches need, and recomputes it every time."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on
from lowtf.run_metadata import executed_ops

import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

lesson = Lesson("03", "lazy evaluation")


@lesson.step("two branches from one input")
def build(ctx):
    """Branch a is an expensive matmul; branch b is a cheap sum. Both read x."""
    ctx.x = tf.placeholder(tf.float32, [None, 256], name="x")
    with tf.name_scope("branch_a"):
        ctx.a = tf.reduce_mean(tf.matmul(ctx.x, tf.ones([256, 256])), name="mean")
    with tf.name_scope("branch_b"):
        ctx.b = tf.reduce_sum(ctx.x, name="total")
    return {"ops": [op.name for op in tf.get_default_graph().get_operations()]}


@lesson.step("fetching branch b runs branch b alone: the run's metadata shows it")
def only_what_is_needed(ctx):
    """With FULL_TRACE, run() fills a RunMetadata with the ops that executed on each
    device. Fetching b prunes the graph to b's ancestors: branch a's matmul never runs."""
    options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
    metadata = tf.RunMetadata()
    with tf.Session() as sess:
        sess.run(ctx.b, {ctx.x: np.ones((4, 256))}, options=options, run_metadata=metadata)
    ran = executed_ops(metadata)
    ctx.record(executed_ops=ran, branch_a_ran=any(n.startswith("branch_a") for n in ran))
    return {"executed ops": ran}


@lesson.step("values are recomputed on every run unless a Variable keeps them")
def recomputed(ctx):
    """A random op draws new numbers on every run. Within one run a tensor is computed
    once, so fetching it twice gives the same value. To keep a value across runs,
    store it in a Variable."""
    r = tf.random_uniform([3], seed=3, name="r")
    kept = tf.Variable(r, name="kept")
    with tf.Session() as sess:
        sess.run(kept.initializer)
        first, second = sess.run(r), sess.run(r)
        twice = sess.run([r, r])
        kept1, kept2 = sess.run(kept), sess.run(kept)
    ctx.record(changes_between_runs=bool(not np.allclose(first, second)),
               same_within_one_run=bool(np.array_equal(*twice)),
               variable_keeps_value=bool(np.array_equal(kept1, kept2)))
    return {"run 1": first, "run 2": second, "[r, r] in one run": twice, "Variable, two runs": (kept1, kept2)}


@lesson.step("the graph-growth pitfall: building ops inside the loop, and finalize()")
def graph_growth(ctx):
    """Every tf.* call adds nodes, also inside a training loop. A loop that writes
    `sess.run(tf.reduce_sum(v))` adds a new op on every pass: the graph grows, each run
    gets slower and memory climbs, and nothing reports it. Build every op before the
    loop; graph.finalize() then makes the graph read-only, so a stray op becomes an
    error at the line that made it."""
    with tf.Graph().as_default() as g:
        v = tf.Variable(tf.ones([100]), name="v")
        with tf.Session() as sess:
            sess.run(v.initializer)
            sizes = []
            for _ in range(5):
                sess.run(tf.reduce_sum(v))          # the mistake: a new op on every pass
                sizes.append(len(g.get_operations()))
            total = tf.reduce_sum(v)                # the fix: build it once, before the loop
            g.finalize()
            for _ in range(5):
                sess.run(total)
            try:
                tf.reduce_sum(v)
                finalized = "no error (unexpected)"
            except RuntimeError as e:
                finalized = f"RuntimeError: {e}"
    ctx.record(ops_per_pass=sizes, finalize_error=finalized)
    return {"ops in the graph after each pass of the bad loop": sizes,
            "a new op after finalize()": finalized}


if __name__ == "__main__":
    raise SystemExit(lesson.main())
