"""Graphs and sessions: eager TensorFlow 2 computes at once; the course's graph mode builds first, runs later."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import time

import numpy as np
import tensorflow as tf2
import tensorflow.compat.v1 as tf

from lowtf import verdicts

lesson = Lesson("01", "graphs and sessions")

SMALL_OPS = 200  # the ops of many_small_ops
ROUNDS = 3  # each way timed this many times, interleaved


@lesson.step("TensorFlow 2 runs eagerly: a + b is a number at once")
def eager(ctx):
    """TensorFlow 2 starts in eager mode: every call computes its value immediately, like
    numpy. tf.function traces a Python function once into a graph and then runs the
    graph; it is how TensorFlow 2 still gets graphs' speed (measured in the next step).
    The old tutorials this course follows (and its source articles) were written for
    TensorFlow 1, where you built the graph yourself and ran it in a Session: that is
    what the rest of the course does.
    Why graphs at all: in eager mode every op is a call from Python into TensorFlow's C++
    runtime and back, Python's overhead paid op by op (the next step measures what that
    costs on this machine). A graph goes to the runtime once and runs there whole.
    (When it loads, TensorFlow prints start-up lines about CPU kernels and missing CUDA
    drivers; they are not errors, and the course hides them. LOWTF_VERBOSE=1 shows them.)
    Installing: pip install tensorflow is the CPU build used here; on Linux with an NVIDIA
    GPU, pip install "tensorflow[and-cuda]" adds CUDA and cuDNN as pip packages. To check
    an install, print tf.__version__ and tf.config.list_physical_devices(), as below."""
    if not tf2.executing_eagerly():
        raise RuntimeError(
            "lesson 01 starts in eager mode, so it must be the first lesson "
            "in its process: run it on its own (lowtf lesson 01)"
        )
    eager_sum = tf2.constant(2.0) + tf2.constant(3.0)

    @tf2.function
    def add(a, b):
        return a + b

    traced = add.get_concrete_function(
        tf2.TensorSpec([], tf2.float32), tf2.TensorSpec([], tf2.float32)
    )
    ops = [op.type for op in traced.graph.get_operations()]
    ctx.record(
        eager_a_plus_b=float(eager_sum.numpy()),
        tensorflow_version=tf2.__version__,
    )
    return {
        "tf.__version__": tf2.__version__,
        "tf.config.list_physical_devices()": [
            d.name for d in tf2.config.list_physical_devices()
        ],
        "eager a + b": eager_sum,
        "its value, already computed": eager_sum.numpy(),
        "the graph tf.function traced from add(a, b)": ops,
    }


def many_small_ops(x):
    """x -> x after SMALL_OPS multiply-adds: ops too small to be worth a
    trip from Python."""
    for _ in range(SMALL_OPS // 2):
        x = x * 1.0001 + 0.0001
    return x


@lesson.step(
    "why graphs: the same small ops, one by one from Python and as one graph"
)
def why_graphs(ctx):
    """Measured: many_small_ops run eagerly (each op a call from Python into the runtime)
    and wrapped in tf.function (traced once into a graph that the runtime runs whole).
    ROUNDS rounds of each, interleaved; the verdict is read from their spread."""
    x = tf2.constant([1.0, 2.0, 3.0])
    as_graph = tf2.function(many_small_ops)
    as_graph(x)  # the first call traces: not timed
    ways = {"eager": many_small_ops, "tf.function": as_graph}
    rounds = {name: [] for name in ways}
    for _ in range(ROUNDS):
        for name, fn in ways.items():
            start, calls = time.perf_counter(), 0
            while time.perf_counter() - start < 0.2:
                fn(x)
                calls += 1
            rounds[name].append(calls / (time.perf_counter() - start))
    same = bool(np.allclose(many_small_ops(x), as_graph(x)))
    verdict = ctx.verdict(
        verdicts.speeds(
            f"calls/s of {SMALL_OPS} small ops, tf.function vs eager",
            rounds["tf.function"],
            rounds["eager"],
            names=("tf.function", "eager"),
        )
    )
    ctx.record(same_result_both_ways=same)
    return {
        f"calls per second, {ROUNDS} rounds": {
            k: [round(r) for r in v] for k, v in rounds.items()
        },
        "same result both ways": same,
        "verdict": verdict,
    }


@lesson.step(
    "switch to graph mode: tensorflow.compat.v1 and disable_v2_behavior()"
)
def graph_mode(ctx):
    """tensorflow.compat.v1 keeps TensorFlow 1's API (placeholders, Sessions, Savers) inside
    TensorFlow 2. disable_v2_behavior() turns eager execution off for the whole process,
    along with the other TF2 defaults, so TF 1.x code runs as written. Call it once,
    before building any graph: every later lesson starts with these two lines."""
    tf.disable_v2_behavior()
    ctx.record(eager_after_disable=tf.executing_eagerly())
    return {"executing eagerly": tf.executing_eagerly()}


@lesson.step("a + b builds a node in a graph; it computes nothing")
def build(ctx):
    """In graph mode every TensorFlow call adds an operation to the default graph and
    returns a Tensor: a handle to a value that will exist only when the graph runs.
    A Tensor has a name ('op_name:output_index'), a static shape and a dtype.
    A tensor is an n-dimensional array, and its rank is its number of dimensions: a
    scalar like total has rank 0 (shape []), a vector 1, a matrix 2. A grey image is a
    rank-2 tensor [height, width], a colour image rank 3 [height, width, 3], and a batch
    of images rank 4 [batch, height, width, channels], the layout conv2d takes (lesson 09)."""
    ctx.a = tf.constant(2.0, name="a")
    ctx.b = tf.constant(3.0, name="b")
    ctx.total = tf.add(ctx.a, ctx.b, name="total")  # the same as ctx.a + ctx.b
    ops = [op.name for op in tf.get_default_graph().get_operations()]
    return {
        "total": ctx.total,
        "name": ctx.total.name,
        "shape": ctx.total.shape,
        "rank": ctx.total.shape.rank,
        "dtype": ctx.total.dtype.name,
        "operations in the graph": ops,
    }


@lesson.step("Session.run executes the graph and returns numpy values")
def run_it(ctx):
    """A Session owns the runtime: devices, memory, Variable values. run(fetch) executes
    just enough of the graph to compute the fetch and hands back numpy values.
    Close a Session when you are done with it: it holds resources.
    This is TensorFlow's split between interface and implementation: the graph, built
    in Python, says what to compute; the runtime behind the Session, in C++, decides how
    and where (this CPU here; a GPU, or another machine, elsewhere: lessons 05 and 14)."""
    sess = tf.Session()
    value = sess.run(ctx.total)
    sess.close()
    ctx.record(a_plus_b=float(value))
    return {"sess.run(total)": value, "python type": type(value).__name__}


@lesson.step(
    "fetching a tuple (or a dict) runs the graph once for all of them"
)
def fetch_many(ctx):
    """run accepts any nesting of lists, tuples and dicts of Tensors and returns the same
    structure of values, all computed in one execution of the graph."""
    with tf.Session() as sess:
        a, b, total = sess.run((ctx.a, ctx.b, ctx.total))
        as_dict = sess.run({"a": ctx.a, "total": ctx.total})
    return {"(a, b, total)": (a, b, total), "dict fetch": as_dict}


@lesson.step("InteractiveSession and .eval(): the shell-friendly form")
def interactive(ctx):
    """An InteractiveSession installs itself as the default session, so Tensor.eval() and
    Operation.run() work without passing a session around. Handy in a notebook;
    in scripts prefer an explicit Session."""
    isess = tf.InteractiveSession()
    product = (ctx.a * ctx.b).eval()
    total = ctx.total.eval()
    isess.close()
    ctx.record(a_times_b=float(product))
    return {"(a * b).eval()": product, "total.eval()": total}


@lesson.step("the Session as a context manager closes itself")
def context_manager(ctx):
    """`with tf.Session() as sess:` closes the session at the end of the block, even on
    an exception. Using it afterwards is an error that says so."""
    with tf.Session() as sess:
        inside = sess.run(ctx.total)
    try:
        sess.run(ctx.total)
        after = "ran (unexpected)"
    except RuntimeError as e:
        after = f"{type(e).__name__}: {e}"
    return {"inside the block": inside, "after the block": after}


@lesson.step("the same ideas in TensorFlow 2: a map")
def tf2_map(ctx):
    """Everything this course builds by hand has a TensorFlow 2 form. Knowing both lets you
    read old tutorials and new code alike; the Keras lessons at the end use the right
    column.
    TF 1.x's official high-level API, tf.estimator, is not in the course: TensorFlow 2.16
    removed it (TF 2.15 was the last with it). Its pieces map too: model_fn (features,
    labels, mode -> an EstimatorSpec of predictions, loss, train_op, metrics) became a
    Keras model with compile(loss, optimizer, metrics), or a tf.Module trained by a loop
    of your own; input_fn became the tf.data.Dataset itself, handed to fit; and
    train_and_evaluate(TrainSpec, EvalSpec) became fit(validation_data=...) with
    callbacks (checkpoints, TensorBoard), its multi-machine side tf.distribute."""
    return {
        "TF 1.x graph mode (this course)": "TensorFlow 2",
        "tf.Session().run(fetch)": "call the function (eager), a tf.function",
        "tf.placeholder + feed_dict": "function arguments",
        "tf.global_variables_initializer()": "a tf.Variable is set when made",
        "tf.train.Saver": "tf.train.Checkpoint / keras Model.save",
        "tf.summary.FileWriter + add_summary": (
            "tf.summary.create_file_writer + tf.summary.scalar(step=)"
        ),
        "optimizer.minimize(loss)": (
            "tf.GradientTape + optimizer.apply_gradients, or Model.fit"
        ),
        "tf.saved_model.Builder / simple_save": (
            "tf.saved_model.save / Model.export"
        ),
        "tf.estimator (removed in TF 2.16): model_fn": (
            "a keras.Model + compile(loss, optimizer, metrics)"
        ),
        "tf.estimator: input_fn": "the tf.data.Dataset, passed to Model.fit",
        "tf.estimator.train_and_evaluate": (
            "Model.fit(validation_data=...) + callbacks"
        ),
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
