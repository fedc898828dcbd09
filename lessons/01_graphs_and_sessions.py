"""Graphs and sessions: `a + b` is a Tensor until a Session runs it."""
from lowtf.lesson import Lesson

import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

lesson = Lesson("01", "graphs and sessions")


@lesson.step("a + b builds a node in a graph; it computes nothing")
def build(ctx):
    """In graph mode every TensorFlow call adds an operation to the default graph and
    returns a Tensor: a handle to a value that will exist only when the graph runs.
    A Tensor has a name ('op_name:output_index'), a static shape and a dtype."""
    ctx.a = tf.constant(2.0, name="a")
    ctx.b = tf.constant(3.0, name="b")
    ctx.total = tf.add(ctx.a, ctx.b, name="total")  # the same as ctx.a + ctx.b
    ops = [op.name for op in tf.get_default_graph().get_operations()]
    return {"total": ctx.total, "name": ctx.total.name, "shape": ctx.total.shape,
            "dtype": ctx.total.dtype.name, "operations in the graph": ops}


@lesson.step("Session.run executes the graph and returns numpy values")
def run_it(ctx):
    """A Session owns the runtime: devices, memory, Variable values. run(fetch) executes
    just enough of the graph to compute the fetch and hands back numpy values.
    Close a Session when you are done with it: it holds resources."""
    sess = tf.Session()
    value = sess.run(ctx.total)
    sess.close()
    ctx.record(a_plus_b=float(value))
    return {"sess.run(total)": value, "python type": type(value).__name__}


@lesson.step("fetching a tuple (or a dict) runs the graph once for all of them")
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


if __name__ == "__main__":
    lesson.main()
