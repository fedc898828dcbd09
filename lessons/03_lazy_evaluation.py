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
        ctx.a = tf.reduce_mean(
            tf.matmul(ctx.x, tf.ones([256, 256])), name="mean"
        )
    with tf.name_scope("branch_b"):
        ctx.b = tf.reduce_sum(ctx.x, name="total")
    return {"ops": [op.name for op in tf.get_default_graph().get_operations()]}


@lesson.step(
    "fetching branch b runs branch b alone: the run's metadata shows it"
)
def only_what_is_needed(ctx):
    """With FULL_TRACE, run() fills a RunMetadata with the ops that executed on each
    device. Fetching b prunes the graph to b's ancestors: branch a's matmul never runs."""
    options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
    metadata = tf.RunMetadata()
    with tf.Session() as sess:
        sess.run(
            ctx.b,
            {ctx.x: np.ones((4, 256))},
            options=options,
            run_metadata=metadata,
        )
    ran = executed_ops(metadata)
    ctx.record(
        executed_ops=ran,
        branch_a_ran=any(n.startswith("branch_a") for n in ran),
    )
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
    ctx.record(
        changes_between_runs=bool(not np.allclose(first, second)),
        same_within_one_run=bool(np.array_equal(*twice)),
        variable_keeps_value=bool(np.array_equal(kept1, kept2)),
    )
    return {
        "run 1": first,
        "run 2": second,
        "[r, r] in one run": twice,
        "Variable, two runs": (kept1, kept2),
    }


@lesson.step(
    "the graph-growth pitfall: building ops inside the loop, and finalize()"
)
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
                sess.run(
                    tf.reduce_sum(v)
                )  # the mistake: a new op on every pass
                sizes.append(len(g.get_operations()))
            total = tf.reduce_sum(v)  # the fix: build it once, before the loop
            g.finalize()
            for _ in range(5):
                sess.run(total)
            try:
                tf.reduce_sum(v)
                finalized = "no error (unexpected)"
            except RuntimeError as e:
                finalized = f"RuntimeError: {e}"
    ctx.record(ops_per_pass=sizes, finalize_error=finalized)
    return {
        "ops in the graph after each pass of the bad loop": sizes,
        "a new op after finalize()": finalized,
    }


@lesson.step("the default graph, and graphs of your own")
def several_graphs(ctx):
    """Every op so far went into one graph that TensorFlow makes for you: the default
    graph. tf.Graph() makes another, and ops built inside `with g.as_default():` go
    there instead. Graphs are separate worlds: names are unique per graph (both below can
    hold an op called "x"), a Session runs one graph (tf.Session(graph=g)), and an op
    cannot take a tensor from another graph. Lessons build each model in a graph of its
    own so that a second model does not pile its ops onto the first."""
    default = tf.get_default_graph()
    first, second = tf.Graph(), tf.Graph()
    with first.as_default():
        x1 = tf.constant(2.0, name="x")
        doubled = tf.multiply(x1, 2.0, name="doubled")
    with second.as_default():
        x2 = tf.constant(3.0, name="x")
    with tf.Session(graph=first) as sess:
        value = sess.run(doubled)
    try:
        with second.as_default():
            tf.add(x1, x2)
        mixed = "no error (unexpected)"
    except ValueError as e:
        # the rest of the message is two memory addresses
        mixed = f"ValueError: {str(e).split(' (graphs are')[0]}"
    ctx.record(
        op_names=[x1.op.name, x2.op.name],
        default_graph_untouched=not any(
            op.name == "doubled" for op in default.get_operations()
        ),
        mixed_graphs_error=mixed.startswith("ValueError"),
    )
    return {
        "ops in the default graph (the steps above)": len(
            default.get_operations()
        ),
        "ops in first / second": [
            len(first.get_operations()),
            len(second.get_operations()),
        ],
        "the name x in each": [x1.name, x2.name],
        "Session(graph=first) runs doubled": value,
        "an op over tensors of both graphs": mixed,
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
