"""Control flow in the graph (tf.cond, tf.while_loop, tf.scan, and why Python if/for mislead) and debugging a graph."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import os
import sys
import tempfile

import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

lesson = Lesson("32", "control flow and debugging")

# --- knobs -----------------------------------------------------------------------------
SEED = 32
LOOP_SIZES = (
    10,
    100,
    1000,
)  # iterations of the unrolled and the graph loop
SQUARES = (
    2.0,
    10.0,
    1e6,
)  # numbers whose square roots Newton's loop finds
TOLERANCE = 1e-4  # Newton stops when |x^2 - a| / a is below this
SEQUENCE = 50  # values in the sequence tf.scan smooths
DECAY = 0.9  # the moving average's weight on its past


def op_count(graph=None) -> int:
    """How many ops a graph (the default one if none) holds."""
    return len((graph or tf.get_default_graph()).get_operations())


def tf_message(error) -> str:
    """The line of a TensorFlow error that says what went wrong (its
    message also holds the node and the Python stack where the op was
    made)."""
    skip = (
        "Graph execution error",
        "Detected at",
        "File ",
        "Node:",
        "[[",
        "Original stack",
    )
    lines = [line.strip() for line in error.message.splitlines()]
    return next(
        line for line in lines if line and not line.startswith(skip)
    )


@lesson.step("a Python `if` on a tensor: decided once, or refused")
def python_if(ctx):
    """Python runs while the graph is built, TensorFlow while it runs. A Python `if` on a
    placeholder asks "is this tensor true?" before it has any value: TensorFlow refuses
    (OperatorNotAllowedInGraphError). A Python `if` on a Python value is allowed, and is
    decided once, at build time: only the chosen branch becomes ops, and no later feed
    can change that. To choose per run, the choice must be an op: tf.cond (next step)."""
    x = tf.placeholder(tf.float32, [], name="x")
    try:
        if x > 0:  # the learner's hope: branch on the fed value
            y = x * 2.0
        refused = "no error"
    except TypeError as e:  # OperatorNotAllowedInGraphError is a TypeError
        refused = f"{type(e).__name__}: {str(e).split('. ')[0]}"
    double = True  # a Python value: read once, now
    before = op_count()
    y = x * 2.0 if double else -x
    built = [
        op.type for op in tf.get_default_graph().get_operations()[before:]
    ]
    with tf.Session() as sess:
        values = [float(sess.run(y, {x: v})) for v in (3.0, -3.0)]
    ctx.record(python_if_error=refused, python_if_ops=built)
    return {
        "if x > 0 (x a placeholder)": refused,
        "ops built by `x * 2.0 if double else -x`": built,
        "y for x = 3 and x = -3": values,
    }


@lesson.step(
    "tf.cond: both branches in the graph, one runs per Session.run"
)
def cond(ctx):
    """tf.cond(pred, true_fn, false_fn) takes the branches as functions and builds both
    into the graph; each run evaluates pred and runs only the chosen branch. The trap:
    only ops created inside the functions belong to a branch. An op made outside and
    merely used inside (the `outside` counter below) runs on every run, whichever branch
    is taken, since the branch depends on it; the one made inside the function runs
    only with its branch."""
    x = tf.placeholder(tf.float32, [], name="x")
    outside = tf.Variable(0, name="outside")
    inside = tf.Variable(0, name="inside")
    bump_outside = tf.assign_add(outside, 1)  # made here, outside tf.cond

    def positive():
        with tf.control_dependencies([bump_outside]):
            return tf.identity(x * 2.0)

    def negative():
        with tf.control_dependencies([tf.assign_add(inside, 1)]):
            return tf.identity(-x)

    y = tf.cond(x > 0, positive, negative)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        values = {v: float(sess.run(y, {x: v})) for v in (3.0, -3.0, -5.0)}
        counts = sess.run({"outside": outside, "inside": inside})
    ctx.record(cond_values=list(values.values()), cond_counts=counts)
    return {
        "y = 2x if x > 0 else -x": values,
        "after 1 positive, 2 negative runs": counts,
    }


@lesson.step("a Python loop unrolls: the graph grows with every iteration")
def unrolled(ctx):
    """`for i in range(n): v = v * 1.01` in graph code does not loop at run time: it runs
    now, once, and adds n multiply ops, a graph as long as the loop (slow to build, to
    save, to show in TensorBoard, and fixed at n). tf.while_loop(cond, body, vars) puts
    the loop itself into the graph: a few ops whatever the count, and the count can be a
    tensor fed at run time. Both compute 1.01^n."""
    table = {}
    for n in LOOP_SIZES:
        with tf.Graph().as_default() as python_graph:
            v = tf.constant(1.0)
            for _ in range(n):
                v = v * 1.01
        with tf.Graph().as_default() as loop_graph:
            steps = tf.placeholder(tf.int32, [], name="steps")
            _, w = tf.while_loop(
                lambda i, w: i < steps,
                lambda i, w: (i + 1, w * 1.01),
                [tf.constant(0), tf.constant(1.0)],
            )
            with tf.Session() as sess:
                loop_value = float(sess.run(w, {steps: n}))
        with tf.Session(graph=python_graph) as sess:
            python_value = float(sess.run(v))
        table[n] = {
            "Python for: ops": op_count(python_graph),
            "tf.while_loop: ops": op_count(loop_graph),
            "1.01^n both ways": (
                round(python_value, 4),
                round(loop_value, 4),
            ),
        }
    ctx.record(
        loop_op_counts={
            n: (t["Python for: ops"], t["tf.while_loop: ops"])
            for n, t in table.items()
        }
    )
    return table


@lesson.step(
    "tf.while_loop when the count depends on the data: Newton's sqrt"
)
def newton(ctx):
    """Some loops cannot know their length in advance: iterate until good enough. Newton's
    method for sqrt(a) repeats x <- (x + a / x) / 2 until x^2 is within TOLERANCE of a.
    In a graph that is a tf.while_loop whose condition reads the loop's own state; the
    loop carries (x, i) and returns both, so the number of iterations is an output too.
    A bigger a starts further from its root (x = a) and takes more iterations."""
    a = tf.placeholder(tf.float32, [], name="a")

    def not_yet(x, i):
        return tf.abs(x * x - a) / a > TOLERANCE

    def newton_step(x, i):
        return (x + a / x) / 2.0, i + 1

    root, iterations = tf.while_loop(
        not_yet, newton_step, [a, tf.constant(0)]
    )
    found = {}
    with tf.Session() as sess:
        for value in SQUARES:
            r, n = sess.run([root, iterations], {a: value})
            found[value] = {
                "root": float(r),
                "np.sqrt": float(np.sqrt(value)),
                "iterations": int(n),
            }
    ctx.record(newton=found)
    return found


@lesson.step(
    "tf.scan: a loop that keeps every step's result (a moving average)"
)
def scan(ctx):
    """tf.scan(fn, elems, initializer) runs fn(state, element) along the first axis and
    stacks every state it passes through: a loop whose whole history is the output. It
    is how a recurrent network runs over time (lesson 33). Here it smooths a noisy
    sequence with an exponential moving average, m <- DECAY m + (1 - DECAY) x, checked
    against the same loop in Python."""
    rng = np.random.RandomState(SEED)
    series = (
        np.sin(np.linspace(0, 3, SEQUENCE)) + rng.normal(0, 0.3, SEQUENCE)
    ).astype(np.float32)
    xs = tf.placeholder(tf.float32, [None], name="series")
    smoothed = tf.scan(
        lambda m, x: DECAY * m + (1 - DECAY) * x,
        xs,
        initializer=tf.constant(0.0),
    )
    with tf.Session() as sess:
        by_scan = sess.run(smoothed, {xs: series})
    m, by_python = 0.0, []
    for x in series:
        m = DECAY * m + (1 - DECAY) * x
        by_python.append(m)
    diff = float(np.max(np.abs(by_scan - np.array(by_python))))
    ctx.record(scan_vs_python_max_diff=diff, scan_length=len(by_scan))
    return {
        "series (first 5)": series[:5].round(3),
        "smoothed (first 5)": by_scan[:5].round(3),
        "max |scan - Python loop|": diff,
    }


def stderr_of(run) -> str:
    """Call ``run()`` and return what was written to the process's
    stderr meanwhile: tf.Print writes there from C++, past Python's
    sys.stderr, so file descriptor 2 itself is redirected."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            run()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        caught.seek(0)
        return caught.read().decode(errors="replace")


@lesson.step("tf.print is an op: it prints only when something needs it")
def printing(ctx):
    """Python's print in graph code prints the Tensor's description once, at build time.
    tf.print makes an op that prints values when it runs, and an op runs only if the fetch
    depends on it. A tf.print nothing depends on never prints; tie it in with
    tf.control_dependencies and it prints on every run. It writes to stderr unless told
    otherwise; here it writes to a file (output_stream="file://...") so the lesson can
    show the lines. The TF 1.x form, tf.Print(x, [x], "x: "), is an identity op placed in
    the data path: use its output instead of x and it logs x as it passes, to stderr
    (caught here to show it; in a notebook it goes to the Jupyter server's log)."""
    log = ctx.logdir / "tf_print.txt"
    x = tf.placeholder(tf.float32, [3], name="x")
    shout = tf.print(
        "x =", x, "sum =", tf.reduce_sum(x), output_stream=f"file://{log}"
    )
    total = tf.reduce_sum(x)  # nothing here depends on shout
    with tf.control_dependencies([shout]):
        total_printed = tf.reduce_sum(x)
    legacy = tf.Print(x, [x], "tf.Print says x = ")  # to stderr
    with tf.Session() as sess:
        sess.run(total, {x: [1.0, 2.0, 3.0]})
        silent = log.read_text() if log.exists() else ""
        sess.run(total_printed, {x: [4.0, 5.0, 6.0]})
        logged = stderr_of(
            lambda: sess.run(tf.reduce_sum(legacy), {x: [7.0, 8.0, 9.0]})
        )
    printed = log.read_text().strip()
    ctx.record(
        print_without_dependency=silent,
        print_with_dependency=printed,
        tf_Print_logged=logged.strip(),
    )
    return {
        "Python print(x)": str(x),
        "tf.print, nothing depends on it": repr(silent),
        "tf.print under control_dependencies": printed,
        "tf.Print in the data path, on stderr": logged.strip(),
    }


def cross_entropy_graph(fused):
    """In the default graph: logits and labels placeholders [None, 10] and
    the summed cross-entropy, lesson 07's naive form or (``fused``) the
    fused op."""
    z = tf.placeholder(tf.float32, [None, 10], name="logits")
    y_ = tf.placeholder(tf.float32, [None, 10], name="labels")
    if fused:
        return (
            z,
            y_,
            tf.reduce_sum(
                tf.nn.softmax_cross_entropy_with_logits_v2(
                    labels=y_, logits=z
                )
            ),
        )
    probs = tf.nn.softmax(z, name="probs")
    return z, y_, -tf.reduce_sum(y_ * tf.log(probs, name="log_probs"))


def confident_mistake(fused, check=None, gradient=True):
    """Lesson 07's loss (naive or ``fused``) and its gradient dloss/dz in a
    graph of their own, with ``check`` None, "gradient" (check_numerics on
    dloss/dz) or "every op" (add_check_numerics_ops), run on logits [1000,
    0, ...] for the digit 1; the loss alone unless ``gradient``. Returns
    {"loss": ..., "dloss/dz": ...} or the error's message."""
    with tf.Graph().as_default():
        z, y_, loss = cross_entropy_graph(fused)
        (grad,) = tf.gradients(loss, [z])
        fetch = (
            {"loss": loss, "dloss/dz": grad}
            if gradient
            else {"loss": loss}
        )
        if check == "gradient":
            fetch["dloss/dz"] = tf.debugging.check_numerics(
                grad, "dloss/dz"
            )
        if check == "every op":  # last: it checks the ops made before it
            fetch["checks"] = tf.add_check_numerics_ops()
        feed = {z: [[1000.0] + [0.0] * 9], y_: [[0.0, 1.0] + [0.0] * 8]}
        with tf.Session() as sess:
            try:
                found = sess.run(fetch, feed)
            except tf.errors.InvalidArgumentError as e:
                return tf_message(e)
    if not gradient:
        return {"loss": float(found["loss"])}
    return {
        "loss": float(found["loss"]),
        "dloss/dz": found["dloss/dz"].round(3),
    }


@lesson.step(
    "check_numerics: which op made the NaN? (lesson 07's naive loss)"
)
def numerics(ctx):
    """Lesson 07's first cross-entropy, -sum(y_ * log(softmax(z))), breaks on the
    confident mistake z = [1000, 0, ...]: softmax gives exactly [1, 0, ...], log(0) is
    -inf, and 0 * -inf is NaN. Here it hides: fetched alone, the loss reads 1000, the
    right value, because Grappler (the optimiser that rewrites a graph before it runs)
    replaced log(softmax(z)) by the stable log_softmax. Fetch the gradient too, which
    needs the softmax itself, and the rewrite is off: loss and gradient are NaN, and a
    NaN in a gradient spreads into every weight at the next step. tf.debugging.check_numerics(t, message) is an identity that fails the run if t
    holds a NaN or an Inf, with your message: on the gradient it catches this. To find
    where it began, tf.add_check_numerics_ops() checks every floating-point op of the
    graph, in order, and the run fails at the first op whose output went bad: the log
    (log_probs), one op before the first NaN. The fix is lesson 07's fused op: every op
    passes. Add the checks after the whole graph is built (they cover only the ops that
    exist then), and not beside a check_numerics of your own, whose output it would
    check too (which of the two fails first is then a race)."""
    said = {
        "naive, the loss alone": confident_mistake(False, gradient=False),
        "naive, loss and gradient": confident_mistake(fused=False),
        "naive, check_numerics(dloss/dz)": confident_mistake(
            False, "gradient"
        ),
        "naive, add_check_numerics_ops()": confident_mistake(
            False, "every op"
        ),
        "fused, add_check_numerics_ops()": confident_mistake(
            True, "every op"
        ),
    }
    ctx.record(numerics=said)
    return said


@lesson.step(
    "tf.debugging.assert_*: a wrong input stops the run, in words"
)
def asserts(ctx):
    """An assertion is an op: tf.debugging.assert_less(labels, 10, message=...) fails the
    run when its condition does not hold, and its error shows the message, the condition
    and the offending values. Like tf.print it runs only when something depends on it, so
    put the work under tf.control_dependencies([assertion]). (With constant inputs the
    check is done at once, while building, and a false one raises there.) Below, labels
    must be digits and a batch of probabilities must sum to 1 per row."""
    labels = tf.placeholder(tf.int32, [None], name="labels")
    probs = tf.placeholder(tf.float32, [None, 10], name="probs")
    checks = [
        tf.debugging.assert_less(labels, 10, message="labels must be 0-9"),
        tf.debugging.assert_non_negative(labels, message="labels >= 0"),
        tf.debugging.assert_less(
            tf.abs(tf.reduce_sum(probs, axis=1) - 1.0),
            1e-3,
            message="each row of probs sums to 1",
        ),
    ]
    with tf.control_dependencies(checks):
        picked = tf.reduce_sum(tf.one_hot(labels, 10) * probs, axis=1)
    uniform = np.full([2, 10], 0.1, np.float32)
    said = {}
    with tf.Session() as sess:
        for name, feed in (
            ("labels [3, 7]", {labels: [3, 7], probs: uniform}),
            ("labels [3, 12]", {labels: [3, 12], probs: uniform}),
            ("rows summing to 2", {labels: [3, 7], probs: 2 * uniform}),
        ):
            try:
                said[name] = sess.run(picked, feed).round(3)
            except tf.errors.InvalidArgumentError as e:
                said[name] = tf_message(e)
    ctx.record(asserts={k: str(v) for k, v in said.items()})
    return said


if __name__ == "__main__":
    raise SystemExit(lesson.main())
