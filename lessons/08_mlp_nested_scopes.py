"""A 784-500-100-10 MLP (the computation-framework article's) in nested name scopes, trained by its own loop; >= 0.97."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import inspect

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf import verdicts
from lowtf.data.splits import load_splits
from lowtf.models import count_parameters, mlp
from lowtf.nn import dense

tf.disable_v2_behavior()

lesson = Lesson("08", "mlp nested scopes")

# --- knobs -----------------------------------------------------------------------------
STEPS = {"fast": 600, "full": 2000}  # the article ran 20,000
BATCH_SIZE = 100
SUMMARY_EVERY = 20  # steps between summaries
VALIDATION_SIZE = 1000  # held-out training images, scored at every summary
LEARNING_RATE = 1e-3
SMALL_RATE = 3e-3  # Adam's rate for the small networks: there in fewer steps
# training steps of each small network in the initialisation step
SYMMETRY_STEPS = 200
LINEAR_STEPS = 500  # ... and in the non-linearity step: long enough for ReLU to pull ahead
DEEP_LAYERS = 4  # sigmoid layers of 100 units in the batch-normalisation step
DEEP_STEPS = 300  # its steps of plain gradient descent, at DEEP_RATE
DEEP_RATE = 0.5
SEED = 8


def digits(ctx):
    """MNIST loaded on first use and kept for the later steps: {"train",
    "validation", "test"}: (images [N, 28, 28, 1] float32 in 0-1, labels
    [N]); VALIDATION_SIZE images held out of the 60,000 training ones."""
    if not hasattr(ctx, "digits"):
        splits = load_splits(validation_size=VALIDATION_SIZE)
        ctx.digits = {
            name: (split.images / np.float32(255), split.labels)
            for name, split in [
                ("train", splits.train),
                ("validation", splits.validation),
                ("test", splits.test),
            ]
        }
    return ctx.digits


@lesson.step("a dense layer is a name scope around matmul + bias + ReLU")
def layer(ctx):
    """lowtf.nn.dense opens a scope named for the layer and creates 'weights' and 'biases'
    inside it, so every op reads like a path: mlp/hidden1/weights."""
    return {"dense": "\n" + inspect.getsource(dense)}


@lesson.step("the model: three dense layers inside an 'mlp' scope")
def model(ctx):
    """Nested scopes make the graph fold into mlp > hidden1, hidden2, logits in TensorBoard."""
    with tf.Graph().as_default():
        logits, params = mlp(
            tf.placeholder(tf.float32, [None, 28, 28, 1]), tf.constant(False)
        )
        ops = [
            op.name
            for op in tf.get_default_graph().get_operations()
            if op.name.startswith("mlp/hidden1/")
        ]
    ctx.record(parameters=count_parameters(params))
    return {
        "mlp": "\n" + inspect.getsource(mlp),
        "variables": list(params),
        "parameters": count_parameters(params),
        "ops under mlp/hidden1": ops[:8],
    }


@lesson.step("the article's loop: Adam 1e-3, two summaries merged, a Saver")
def fit(ctx):
    """The article's training, written out: cross-entropy and Adam (1e-3) in a 'train'
    scope, accuracy in an 'evaluation' scope, a summary for each merged into one op, a
    Saver so the model is not lost. Then batches of 100, a summary every SUMMARY_EVERY
    steps (the article: every 100 of 20,000), the test accuracy once at the end, and the
    model saved. Adam adapts a step size per parameter from running averages of the
    gradient and its square; 1e-3 is its usual default. The article wrote the training
    batch's summary only, a noisy sample of a different 100 images at each point; here
    the VALIDATION_SIZE held-out images are scored too, into a second writer,
    as lesson 07 did."""
    data = digits(ctx)  # images [N, 28, 28, 1] in 0-1, labels [N]
    (train_x, train_y), (validation_x, validation_y), (test_x, test_y) = (
        data["train"], data["validation"], data["test"]
    )
    with tf.Graph().as_default() as graph:
        tf.set_random_seed(SEED)  # the initial weights repeat
        x = tf.placeholder(tf.float32, [None, 28, 28, 1], name="images")
        y = tf.placeholder(tf.int64, [None], name="labels")
        logits, _ = mlp(x, tf.constant(False))
        with tf.name_scope("train"):
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=y, logits=logits
                )
            )
            train_step = tf.train.AdamOptimizer(LEARNING_RATE).minimize(loss)
        with tf.name_scope(
            "evaluation"
        ):  # a scope named accuracy would make the summary accuracy_1
            accuracy = tf.reduce_mean(
                tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32)
            )
        tf.summary.scalar("loss", loss)
        tf.summary.scalar("accuracy", accuracy)
        merged = tf.summary.merge_all()
        saver = tf.train.Saver()
        train_writer = tf.summary.FileWriter(str(ctx.logdir / "train"), graph)
        validation_writer = tf.summary.FileWriter(
            str(ctx.logdir / "validation")
        )
        rng = np.random.RandomState(SEED)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for step in range(1, STEPS[ctx.mode] + 1):
                batch = rng.randint(0, len(train_x), BATCH_SIZE)
                feed = {x: train_x[batch], y: train_y[batch]}
                if step % SUMMARY_EVERY == 0:
                    _, summary = sess.run([train_step, merged], feed)
                    train_writer.add_summary(summary, step)
                    summary, seen = sess.run(
                        [merged, accuracy], {x: validation_x, y: validation_y}
                    )
                    validation_writer.add_summary(summary, step)
                    if step % (10 * SUMMARY_EVERY) == 0:  # and on screen
                        print(f"   step {step}: validation accuracy "
                              f"{seen:.4f}", flush=True)
                else:
                    sess.run(train_step, feed)
            test_accuracy = float(
                sess.run(accuracy, {x: test_x, y: test_y})
            )
            saved = saver.save(
                sess, str(ctx.logdir / "model" / "mlp"), global_step=step
            )
        train_writer.close()
        validation_writer.close()
    ctx.record(test_accuracy=round(test_accuracy, 4), steps=step)
    return {
        "steps of 100 images": step,
        "test accuracy": round(test_accuracy, 4),
        "saved": saved,
        "the scopes (Graphs) and the curves (Scalars)": ctx.tensorboard(),
    }


def flat(data):
    """((train images [N, 784], labels), (test images, labels)) from
    digits(ctx): each image one row, as the small networks take it."""
    return tuple(
        (images.reshape(-1, 784), labels)
        for images, labels in (data["train"], data["test"])
    )


def one_hidden_layer(x, init, activation=tf.nn.relu):
    """784 -> 64 units -> 10 logits, every weight from ``init(shape)``,
    biases 0.1 and 0. Returns (logits [N, 10], the variables {"w1",
    "b1", "w2", "b2"})."""
    w1 = tf.Variable(init([784, 64]), name="w1")
    b1 = tf.Variable(tf.fill([64], 0.1), name="b1")
    hidden = activation(tf.matmul(x, w1) + b1)
    w2 = tf.Variable(init([64, 10]), name="w2")
    b2 = tf.Variable(tf.zeros([10]), name="b2")
    logits = tf.matmul(hidden, w2) + b2
    return logits, {"w1": w1, "b1": b1, "w2": w2, "b2": b2}


def train_small(
    x_all,
    labels,
    test_x,
    test_labels,
    init,
    activation=tf.nn.relu,
    steps=SYMMETRY_STEPS,
):
    """one_hidden_layer trained ``steps`` steps of Adam at SMALL_RATE (so
    small a network takes larger steps than the MLP's 1e-3 and gets there
    sooner); returns (test accuracy, its variables' values)."""
    rng = np.random.RandomState(SEED)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 784])
        y = tf.placeholder(tf.int64, [None])
        logits, variables = one_hidden_layer(x, init, activation)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=y, logits=logits
            )
        )
        step = tf.train.AdamOptimizer(SMALL_RATE).minimize(loss)
        correct = tf.reduce_mean(
            tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32)
        )
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(steps):
                batch = rng.randint(0, len(x_all), BATCH_SIZE)
                sess.run(step, {x: x_all[batch], y: labels[batch]})
            return float(
                sess.run(correct, {x: test_x, y: test_labels})
            ), sess.run(variables)


@lesson.step(
    "why weights start random: from zeros, every hidden unit stays the same"
)
def symmetry(ctx):
    """Started from zeros, every hidden unit computes the same thing, receives the same
    gradient and takes the same step: they stay copies of one another however long they
    train, and 64 units do the work of one. Random initial weights make the units
    differ from the start, so each can learn something of its own (softmax regression,
    lesson 07, has no hidden layer and can start at zero). Below: the same small network
    trained twice, the number of different hidden units it ends with, and the test
    accuracies with their standard error."""
    (train_x, train_y), (test_x, test_y) = flat(digits(ctx))
    inits = {
        "zeros": tf.zeros,
        "random": lambda shape: tf.truncated_normal(
            shape, stddev=0.1, seed=SEED
        ),
    }
    result = {}
    for name, init in inits.items():
        accuracy, values = train_small(
            train_x, train_y, test_x, test_y, init
        )
        units = len(
            np.unique(np.round(values["w1"], 6), axis=1).T
        )  # hidden units that differ
        result[name] = {
            "different hidden units": units,
            "test accuracy": round(float(accuracy), 4),
        }
    verdict = verdicts.accuracies(
        "test accuracy, random vs zero initial weights",
        result["random"]["test accuracy"],
        result["zeros"]["test accuracy"],
        len(test_x),
        names=("random", "zeros"),
    )
    ctx.record(symmetry=result)
    return {**result, "verdict": ctx.verdict(verdict)}


@lesson.step("why a non-linearity: without one, layers collapse into one")
def nonlinearity(ctx):
    """Take the ReLU out and the hidden layer is x W1 + b1, and the logits are
    (x W1 + b1) W2 + b2 = x (W1 W2) + (b1 W2 + b2): one matrix, one bias, softmax
    regression again, however many layers are stacked. The non-linearity between the
    layers is what lets a network draw boundaries a single matrix cannot. Below: the
    small network trained LINEAR_STEPS steps with and without its ReLU, the linear one's logits recomputed
    from the single matrix W1 W2, and the two test accuracies."""
    (train_x, train_y), (test_x, test_y) = flat(digits(ctx))

    def init(shape):
        return tf.truncated_normal(shape, stddev=0.1, seed=SEED)

    relu_accuracy, _ = train_small(
        train_x, train_y, test_x, test_y, init, steps=LINEAR_STEPS
    )
    linear_accuracy, v = train_small(
        train_x,
        train_y,
        test_x,
        test_y,
        init,
        activation=tf.identity,
        steps=LINEAR_STEPS,
    )
    two_layers = (test_x @ v["w1"] + v["b1"]) @ v["w2"] + v["b2"]
    one_matrix, one_bias = (
        v["w1"] @ v["w2"],
        v["b1"] @ v["w2"] + v["b2"],
    )  # [784, 10], [10]
    difference = float(
        np.abs(test_x @ one_matrix + one_bias - two_layers).max()
    )
    verdict = ctx.verdict(
        verdicts.accuracies(
            "test accuracy, ReLU vs no activation",
            round(relu_accuracy, 4),
            round(linear_accuracy, 4),
            len(test_x),
            names=("ReLU", "linear"),
        )
    )
    ctx.record(linear_collapse_max_difference=difference)
    return {
        "test accuracy": {
            "with ReLU": round(relu_accuracy, 4),
            "without": round(linear_accuracy, 4),
        },
        "largest difference, two linear layers vs x (W1 W2) + b": difference,
        "one matrix": one_matrix.shape,
        "verdict": verdict,
    }


def batch_norm_layer(x, units, training, name, update_averages=True):
    """x [N, in] -> sigmoid(batch-normalised x W) [N, units]. While
    ``training`` the batch's own mean and variance normalise; otherwise
    the moving averages, which an update op in the UPDATE_OPS collection
    moves toward each batch's statistics (as tf.layers did)."""
    with tf.name_scope(name):
        w = tf.Variable(
            tf.truncated_normal(
                [int(x.shape[1]), units], stddev=0.1, seed=SEED
            ),
            name="weights",
        )
        z = tf.matmul(x, w)  # no bias: beta below shifts instead
        batch_mean, batch_variance = tf.nn.moments(z, axes=[0])
        moving_mean = tf.Variable(
            tf.zeros([units]), trainable=False, name="moving_mean"
        )
        moving_variance = tf.Variable(
            tf.ones([units]), trainable=False, name="moving_variance"
        )
        if update_averages:
            tf.add_to_collection(
                tf.GraphKeys.UPDATE_OPS,
                tf.assign(
                    moving_mean, 0.99 * moving_mean + 0.01 * batch_mean
                ),
            )
            tf.add_to_collection(
                tf.GraphKeys.UPDATE_OPS,
                tf.assign(
                    moving_variance,
                    0.99 * moving_variance + 0.01 * batch_variance,
                ),
            )
        mean, variance = tf.cond(
            training,
            lambda: (batch_mean, batch_variance),
            lambda: (
                tf.identity(moving_mean),
                tf.identity(moving_variance),
            ),
        )
        gamma = tf.Variable(
            tf.ones([units]), name="gamma"
        )  # learned scale and shift: BN can undo itself
        beta = tf.Variable(tf.zeros([units]), name="beta")
        return tf.nn.sigmoid(
            tf.nn.batch_normalization(
                z, mean, variance, beta, gamma, variance_epsilon=1e-3
            )
        )


def plain_layer(x, units, training, name, update_averages=True):
    """x [N, in] -> sigmoid(x W + b) [N, units], initialised as
    batch_norm_layer is."""
    with tf.name_scope(name):
        w = tf.Variable(
            tf.truncated_normal(
                [int(x.shape[1]), units], stddev=0.1, seed=SEED
            ),
            name="weights",
        )
        return tf.nn.sigmoid(
            tf.matmul(x, w) + tf.Variable(tf.zeros([units]), name="biases")
        )


@lesson.step(
    "batch normalisation: a deep sigmoid network that trains, and its trap"
)
def batch_norm(ctx):
    """A stack of DEEP_LAYERS sigmoid layers trained by plain gradient descent hardly moves:
    the sigmoid is steep only near 0, its slope is at most 1/4, and the gradient can
    shrink on its way back through each layer (below, each run's gradient size at each
    layer's weights on the first batch, layer 1 first). Batch normalisation rescales each layer's inputs
    over the batch to mean 0 and variance 1, then by a learned gamma and beta. At test
    time there is no batch to average over, so it uses moving averages of the training
    batches' statistics, and those are updated by ops that nothing fetches: the train op
    must depend on tf.GraphKeys.UPDATE_OPS, or they stay at their start (0 and 1). Below:
    the same network plain, with batch norm, and with batch norm but the update ops
    forgotten, DEEP_STEPS steps each on the same batches. The last two train the same
    weights (the update ops change no weight), so scored with the test set's own batch
    statistics they agree; only their moving averages differ. Even updated, the averages
    trail a model still changing (0.99 per step: about the last 100 batches)."""
    (train_x, train_y), (test_x, test_y) = flat(digits(ctx))
    runs = {
        "plain": (plain_layer, True),
        "batch norm": (batch_norm_layer, True),
        "batch norm, updates forgotten": (batch_norm_layer, False),
    }
    result = {}
    for name, (layer_fn, update_averages) in runs.items():
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [None, 784])
            y = tf.placeholder(tf.int64, [None])
            training = tf.placeholder_with_default(False, [])
            h = x
            for i in range(1, DEEP_LAYERS + 1):
                h = layer_fn(h, 100, training, f"layer{i}", update_averages)
            logits = tf.matmul(
                h,
                tf.Variable(
                    tf.truncated_normal([100, 10], stddev=0.1, seed=SEED)
                ),
            )
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=y, logits=logits
                )
            )
            with tf.control_dependencies(
                tf.get_collection(tf.GraphKeys.UPDATE_OPS)
            ):  # the update ops run
                train_step = tf.train.GradientDescentOptimizer(
                    DEEP_RATE
                ).minimize(loss)  # with every step
            accuracy = tf.reduce_mean(
                tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32)
            )
            # the gradient's size at each layer's weights, layer 1 first
            weights = [
                v
                for v in tf.trainable_variables()
                if v.op.name.endswith("/weights")
            ]
            sizes = [tf.norm(g) for g in tf.gradients(loss, weights)]
            rng = np.random.RandomState(SEED)
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                first = {
                    x: train_x[:BATCH_SIZE],
                    y: train_y[:BATCH_SIZE],
                    training: True,
                }
                at_start = [round(float(s), 5) for s in sess.run(sizes, first)]
                for _ in range(DEEP_STEPS):
                    batch = rng.randint(0, len(train_x), BATCH_SIZE)
                    sess.run(
                        train_step,
                        {
                            x: train_x[batch],
                            y: train_y[batch],
                            training: True,
                        },
                    )
                print(f"   {name}: {DEEP_STEPS} steps done", flush=True)
                result[name] = {
                    "gradient size, layer 1 to last, step 0": at_start,
                    "test accuracy": round(
                        float(
                            sess.run(
                                accuracy, {x: test_x, y: test_y}
                            )
                        ),
                        4,
                    ),
                    "with the test set's own statistics": round(
                        float(
                            sess.run(
                                accuracy,
                                {
                                    x: test_x,
                                    y: test_y,
                                    training: True,
                                },
                            )
                        ),
                        4,
                    ),
                }
    del result["plain"][
        "with the test set's own statistics"
    ]  # plain has no statistics to choose
    n = len(test_x)
    said = [
        ctx.verdict(
            verdicts.accuracies(
                "test accuracy, batch norm vs plain",
                result["batch norm"]["test accuracy"],
                result["plain"]["test accuracy"],
                n,
                names=("batch norm", "plain"),
            )
        ),
        ctx.verdict(
            verdicts.accuracies(
                "test accuracy, batch norm vs its update ops forgotten",
                result["batch norm"]["test accuracy"],
                result["batch norm, updates forgotten"]["test accuracy"],
                n,
                names=("with updates", "forgotten"),
            )
        ),
    ]
    ctx.record(batch_norm=result)
    return {
        **result,
        "batch norm against plain": said[0],
        "the update ops forgotten": said[1],
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
