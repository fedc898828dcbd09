"""Variable sharing: tf.get_variable, variable_scope, reuse and AUTO_REUSE, against name_scope; two towers, one set of weights."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf import verdicts

tf.disable_v2_behavior()

lesson = Lesson("31", "variable sharing")

# --- knobs -----------------------------------------------------------------------------
SEED = 31
BATCH = 64  # examples per training step, split between the two towers
HIDDEN = 16  # units of the towers' hidden layer
LEARNING_RATE = 0.5
TOWER_STEPS = {"fast": 200, "full": 1000}  # steps of the two towers
WINDOW = 20  # steps at each end of training whose losses are compared


def variable_names() -> list:
    """The names of every Variable in the default graph, in creation
    order."""
    return [v.op.name for v in tf.global_variables()]


@lesson.step(
    "tf.Variable makes a new Variable every call: a layer called twice"
)
def the_problem(ctx):
    """Lessons 04 and 08 built layers with tf.Variable inside a name scope. Call such a
    layer function twice, say on two images you want compared by the same network (a
    siamese network) or on two halves of a batch, and it makes two sets of weights: the
    second call's get names made unique (layer_1/weights), and the two sets train apart.
    Nothing warns you. Sharing needs a way to say "the weights called layer/weights,
    whether they exist yet or not": that is tf.get_variable."""

    def layer(x):
        with tf.name_scope("layer"):
            w = tf.Variable(tf.ones([3, 2]), name="weights")
            return tf.matmul(x, w)

    with tf.Graph().as_default():
        layer(tf.ones([1, 3]))
        layer(tf.ones([1, 3]))  # meant to be the same layer
        names = variable_names()
    ctx.record(tf_variable_twice=names)
    return {"variables after two calls": names}


@lesson.step(
    "tf.get_variable inside tf.variable_scope: a Variable by its name"
)
def get_variable(ctx):
    """tf.get_variable(name, shape, initializer=...) looks a Variable up by its full name,
    the variable scope's path plus name, and creates it when it is not there. A second
    get_variable of the same name in a scope that does not allow reuse is an error, on
    purpose: TensorFlow will not guess whether you meant a new layer or the old one. The
    message names the fix."""
    with tf.Graph().as_default():
        with tf.variable_scope("layer1"):
            w = tf.get_variable(
                "weights", [3, 2], initializer=tf.ones_initializer()
            )
        try:
            with tf.variable_scope("layer1"):
                tf.get_variable("weights", [3, 2])
            error = "no error"
        except ValueError as e:
            error = str(e).split(" Originally")[0]
    ctx.record(get_variable_name=w.op.name, second_create_error=error)
    return {"w": w.op.name, "again, without reuse": error}


@lesson.step(
    "reuse=True shares; reuse of a missing or differently shaped one fails"
)
def reuse(ctx):
    """Open the scope with reuse=True (or call scope.reuse_variables() inside it) and
    get_variable returns the Variable that already exists: the very same Python object,
    one set of weights. Reuse is strict both ways: asking to reuse a Variable that was
    never made is an error (a typo in a name would otherwise make a fresh, untrained
    layer), and so is asking for another shape."""
    with tf.Graph().as_default():
        with tf.variable_scope("layer1"):
            w = tf.get_variable("weights", [3, 2])
        with tf.variable_scope("layer1", reuse=True):
            same = tf.get_variable("weights", [3, 2])
        with tf.variable_scope("layer1") as scope:
            scope.reuse_variables()  # the same, from inside the scope
            also_same = tf.get_variable("weights", [3, 2])
        errors = {}
        for what, name, shape in (
            ("missing", "bias", [2]),
            ("other shape", "weights", [4, 2]),
        ):
            try:
                with tf.variable_scope("layer1", reuse=True):
                    tf.get_variable(name, shape)
                errors[what] = "no error"
            except ValueError as e:
                errors[what] = str(e).split(" Originally")[0]
        names = variable_names()
    ctx.record(
        reuse_is_same_object=same is w and also_same is w,
        reuse_variables=names,
        reuse_errors=errors,
    )
    return {
        "reuse=True gives the same object": same is w,
        "scope.reuse_variables() too": also_same is w,
        "variables": names,
        "reuse of a missing one": errors["missing"],
        "reuse with another shape": errors["other shape"],
    }


def dense(x, units, name):
    """A dense layer whose Variables are found by name: ``name``/weights
    [in, units] and ``name``/biases [units], made on the first call and
    shared after it."""
    with tf.variable_scope(name, reuse=tf.AUTO_REUSE):
        w = tf.get_variable(
            "weights",
            [x.shape[-1], units],
            initializer=tf.glorot_uniform_initializer(),
        )
        b = tf.get_variable(
            "biases", [units], initializer=tf.zeros_initializer()
        )
        return tf.matmul(x, w) + b


@lesson.step("reuse=tf.AUTO_REUSE: make it the first time, share it after")
def auto_reuse(ctx):
    """With reuse=tf.AUTO_REUSE get_variable creates what is missing and reuses what is
    there, so a layer function can be called any number of times without the caller
    tracking which call is first. The price: the error of the last step that caught a
    typo is gone too. dense, above, is such a layer; called on two inputs it gives one
    pair of Variables, and the same input gives the same output through either call."""
    with tf.Graph().as_default():
        tf.set_random_seed(SEED)
        left = tf.placeholder(tf.float32, [None, 3], name="left")
        right = tf.placeholder(tf.float32, [None, 3], name="right")
        out_left, out_right = (
            dense(left, 2, "shared"),
            dense(right, 2, "shared"),
        )
        names = variable_names()
        point = np.array([[1.0, 2.0, 3.0]], np.float32)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            a, b = sess.run(
                [out_left, out_right], {left: point, right: point}
            )
    ctx.record(
        auto_reuse_variables=names,
        auto_reuse_same_output=bool(np.array_equal(a, b)),
    )
    return {
        "variables after two calls": names,
        "same input, both calls": (a.round(4), b.round(4)),
    }


@lesson.step(
    "name_scope against variable_scope: which names each one prefixes"
)
def scopes(ctx):
    """Two kinds of scope, two kinds of name. tf.name_scope prefixes the names of ops and
    of tf.Variable, but tf.get_variable ignores it: a get_variable inside name_scope("ns")
    is called plain "v". tf.variable_scope prefixes both, and opens a name scope of the
    same name for the ops. Reopening a variable scope with reuse gives the ops a fresh
    name scope (vs_1/) while the Variables are still found under vs/: TensorBoard shows two
    boxes, one set of weights. That is why the CIFAR-10 tutorial names its towers with
    name_scope: each tower's ops get their own box, and the weights stay shared."""
    with tf.Graph().as_default():
        with tf.name_scope("ns"):
            by_get = tf.get_variable("v", [1])
            by_variable = tf.Variable(1.0, name="u")
            op = tf.identity(by_get, name="op")
        with tf.variable_scope("vs"):
            in_vs = tf.get_variable("v", [1])
            vs_variable = tf.Variable(1.0, name="u")
            vs_op = tf.identity(in_vs, name="op")
        with tf.variable_scope("vs", reuse=True):
            again = tf.get_variable("v", [1])
            again_op = tf.identity(again, name="op")
        names = variable_names()
    table = {
        "inside name_scope('ns')": {
            "get_variable('v')": by_get.op.name,
            "tf.Variable(name='u')": by_variable.op.name,
            "an op": op.op.name,
        },
        "inside variable_scope('vs')": {
            "get_variable('v')": in_vs.op.name,
            "tf.Variable(name='u')": vs_variable.op.name,
            "an op": vs_op.op.name,
        },
        "variable_scope('vs', reuse=True)": {
            "get_variable('v')": again.op.name,
            "an op": again_op.op.name,
        },
    }
    ctx.record(scope_names=table, scope_variables=names)
    return {**table, "tf.global_variables()": names}


def tower_loss(x, y):
    """One tower: a 1-HIDDEN-1 network's mean squared error on (x, y)."""
    hidden = tf.nn.tanh(dense(x, HIDDEN, "hidden"))
    prediction = tf.squeeze(dense(hidden, 1, "output"), axis=1)
    return tf.reduce_mean(tf.square(prediction - y))


def average_gradients(tower_grads):
    """[[(grad, var), ...] per tower] -> [(mean grad, var), ...], as in
    TensorFlow's cifar10_multi_gpu_train.py."""
    averaged = []
    for pairs in zip(*tower_grads):  # one Variable's (grad, var) from each
        grads = tf.stack([g for g, _ in pairs])
        averaged.append((tf.reduce_mean(grads, axis=0), pairs[0][1]))
    return averaged


def make_points(rng, n):
    """``n`` points of y = sin(3 x) on [-1, 1]: what the towers learn."""
    x = rng.uniform(-1.0, 1.0, (n, 1)).astype(np.float32)
    return x, np.sin(3 * x[:, 0]).astype(np.float32)


@lesson.step(
    "two towers, one set of weights: the CIFAR-10 multi-tower pattern"
)
def towers(ctx):
    """TensorFlow's CIFAR-10 multi-GPU tutorial split each batch between towers, one per
    GPU, each a full copy of the model's ops on its own device and all of them reading
    the same Variables. The first tower creates them; then reuse_variables() makes every
    later get_variable share them. minimize(loss) is two halves, and the pattern splits
    them: each tower's optimizer.compute_gradients(loss) gives its (gradient, Variable)
    pairs, and apply_gradients applies the towers' average once. Here two CPU devices
    stand in for the GPUs (ConfigProto(device_count={"CPU": 2}) makes a /cpu:1; lesson
    05 places ops with tf.device). With
    halves of equal size the averaged gradient is the gradient on the whole batch, so
    one averaged step equals one step of a single tower on all BATCH examples: checked
    below, then the towers train for a while. Every step draws a fresh batch, so its
    loss is noisy: the first WINDOW steps' losses are set against the last WINDOW's,
    with the standard error from their spread."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(SEED)
        x = tf.placeholder(tf.float32, [BATCH, 1], name="x")
        y = tf.placeholder(tf.float32, [BATCH], name="y")
        optimizer = tf.train.GradientDescentOptimizer(LEARNING_RATE)
        tower_grads, halves = [], BATCH // 2
        with tf.variable_scope(tf.get_variable_scope()):
            for i in range(2):
                with tf.device(f"/cpu:{i}"), tf.name_scope(f"tower_{i}"):
                    part = slice(i * halves, (i + 1) * halves)
                    loss = tower_loss(x[part], y[part])
                    tf.get_variable_scope().reuse_variables()
                    tower_grads.append(optimizer.compute_gradients(loss))
        train_op = optimizer.apply_gradients(
            average_gradients(tower_grads)
        )
        whole_batch_loss = tower_loss(x, y)  # one tower on all of it
        (whole_grad, _), *_ = optimizer.compute_gradients(whole_batch_loss)
        (averaged, _), *_ = average_gradients(tower_grads)
        init = tf.global_variables_initializer()
        names = variable_names()
        devices = sorted(
            {
                op.device
                for op in graph.get_operations()
                if op.name.startswith("tower_")
            }
        )
    rng = np.random.RandomState(SEED)
    config = tf.ConfigProto(device_count={"CPU": 2})
    with tf.Session(graph=graph, config=config) as sess:
        sess.run(init)
        xs, ys = make_points(rng, BATCH)
        a, b = sess.run([averaged, whole_grad], {x: xs, y: ys})
        grad_diff = float(np.max(np.abs(a - b)))
        losses = []
        for step in range(TOWER_STEPS[ctx.mode]):
            xs, ys = make_points(rng, BATCH)
            _, value = sess.run(
                [train_op, whole_batch_loss], {x: xs, y: ys}
            )
            losses.append(float(value))
    said = ctx.verdict(
        verdicts.repeated(
            f"batch loss, first {WINDOW} steps vs last {WINDOW}",
            losses[:WINDOW],
            losses[-WINDOW:],
            names=(f"the first {WINDOW}", f"the last {WINDOW}"),
        ),
        expects=f"the first {WINDOW}",
    )
    ctx.record(
        tower_variables=names,
        tower_devices=devices,
        averaged_vs_whole_batch_grad_max_diff=grad_diff,
    )
    return {
        "variables (one set for both towers)": names,
        "devices of the towers' ops": devices,
        "max |averaged gradient - whole-batch gradient|": grad_diff,
        f"batch loss, first {WINDOW} steps against the last {WINDOW}": said,
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
