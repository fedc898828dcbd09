"""Regularisation and tuning: weight decay written into the loss, measured with its noise, and a learning-rate sweep for HParams."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import math

import numpy as np
import tensorflow as tf2
import tensorflow.compat.v1 as tf
from tensorboard.plugins.hparams import api as hp

from lowtf import verdicts
from lowtf.data.splits import load_splits
from lowtf.verdicts import accuracy_se

tf.disable_v2_behavior()

lesson = Lesson("34", "regularisation and tuning")

# --- knobs -----------------------------------------------------------------------------
HIDDEN = 256  # one hidden layer: 784-256-10, 203,530 parameters
SMALL_TRAIN = 500  # few enough digits that the network memorises them
DECAY_STEPS = {"fast": 800, "full": 2000}  # batches of 50: 80 / 200 epochs
WEIGHT_DECAY = 3e-3  # lambda in loss = cross-entropy + lambda * sum(w^2) / 2
MOMENTUM = (0.05, 0.9)  # learning rate and momentum of the decay runs
SWEEP_TRAIN = 10_000
SWEEP_RATES = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]  # gradient descent
SWEEP_STEPS = {"fast": 200, "full": 1000}  # batches of 100
SEED = 0


@lesson.step("few training digits, a network that can memorise them")
def data(ctx):
    """Overfitting needs a model with more freedom than the data constrains: 500 digits
    (50 per class) against a 784-256-10 network with 203,530 parameters. It will reach
    100% on its training set; the question is what that costs on the 10,000 test digits.
    Images are flattened to rows of 784 floats in [0, 1]."""
    splits = load_splits(validation_size=0, train_size=SWEEP_TRAIN)
    ctx.train_x = splits.train.images.reshape(-1, 784) / np.float32(255)
    ctx.train_y = splits.train.labels
    ctx.test_x = splits.test.images.reshape(-1, 784) / np.float32(255)
    ctx.test_y = splits.test.labels
    return {
        "small training set": (SMALL_TRAIN, 784),
        "examples per class": np.bincount(ctx.train_y[:SMALL_TRAIN]).tolist(),
        "test": ctx.test_x.shape,
    }


def mlp(x, seed: int = SEED):
    """784-HIDDEN-10 from raw ops: returns (logits, the two weight
    matrices)."""
    tf.set_random_seed(seed)
    w1 = tf.get_variable("w1", [784, HIDDEN])
    zeros = tf.zeros_initializer()
    b1 = tf.get_variable("b1", [HIDDEN], initializer=zeros)
    w2 = tf.get_variable("w2", [HIDDEN, 10])
    b2 = tf.get_variable("b2", [10], initializer=zeros)
    hidden = tf.nn.relu(tf.matmul(x, w1) + b1)
    return tf.matmul(hidden, w2) + b2, [w1, w2]


@lesson.step(
    "L2 in the loss: tf.nn.l2_loss over the weights, and why it is 'decay'"
)
def penalty(ctx):
    """Weight decay adds lambda * sum(w^2) / 2 over the weight matrices to the loss.
    tf.nn.l2_loss(w) is sum(w^2) / 2 (the half makes its gradient exactly w). Biases are
    usually left out: they do not multiply inputs, so they do not make the function
    wiggle. The penalty's gradient is lambda * w, so one gradient-descent step on it
    multiplies every weight by (1 - rate * lambda): the weights decay towards zero unless
    the data keeps pushing them. Checked below on one step of the penalty alone.
    (With Adam the penalty's gradient is rescaled like any other, so L2 in the loss is no
    longer a plain decay; AdamW decouples the two. Here the runs use momentum.)"""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 784])
        _, weights = mlp(x)  # only the weights matter here
        l2 = tf.add_n([tf.nn.l2_loss(w) for w in weights])
        rate = 0.1
        step = tf.train.GradientDescentOptimizer(rate).minimize(
            WEIGHT_DECAY * l2, var_list=weights
        )
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            before, half_sum = sess.run([weights[0], l2])
            values = sess.run(weights)
            by_hand = 0.5 * sum(float((w**2).sum()) for w in values)
            sess.run(step)
            after = sess.run(weights[0])
    shrunk = before * (1 - rate * WEIGHT_DECAY)
    difference = float(np.abs(after - shrunk).max())
    ctx.record(decay_step_max_difference=difference)
    return {
        "l2 term: TensorFlow, numpy": (
            round(float(half_sum), 3),
            round(by_hand, 3),
        ),
        "one step on the penalty vs w * (1 - rate * lambda)": difference,
    }


def decay_run(ctx, weight_decay: float) -> dict:
    """The MLP trained DECAY_STEPS batches of the small training set with
    momentum, loss = mean cross-entropy + weight_decay * l2; every test
    image's correctness and loss, the training accuracy and the weights'
    sum of squares."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 784])
        y = tf.placeholder(tf.int64, [None])
        logits, weights = mlp(x)
        each = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y, logits=logits
        )
        l2 = tf.add_n([tf.nn.l2_loss(w) for w in weights])
        loss = tf.reduce_mean(each) + weight_decay * l2
        train_step = tf.train.MomentumOptimizer(*MOMENTUM).minimize(loss)
        correct = tf.equal(tf.argmax(logits, 1), y)
        rng = np.random.RandomState(SEED)  # the same batches in every run
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            steps = DECAY_STEPS[ctx.mode]
            for i in range(1, steps + 1):
                batch = rng.randint(0, SMALL_TRAIN, 50)
                feed = {x: ctx.train_x[batch], y: ctx.train_y[batch]}
                _, value = sess.run([train_step, loss], feed)
                if i % (steps // 4) == 0:  # a sign of life
                    print(
                        f"   decay {weight_decay:g}: step {i}/{steps}, "
                        f"loss {value:.3f}"
                    )
            train_correct = sess.run(
                correct,
                {x: ctx.train_x[:SMALL_TRAIN],
                 y: ctx.train_y[:SMALL_TRAIN]},
            )
            test_correct, test_loss, squares = sess.run(
                [correct, each, 2 * l2], {x: ctx.test_x, y: ctx.test_y}
            )
    return {
        "train": float(train_correct.mean()),
        "correct": test_correct.astype(float),
        "loss": test_loss,
        "sum of squared weights": float(squares),
    }


@lesson.step(
    "with and without weight decay: the same network, seed and batches"
)
def compare(ctx):
    """Two runs that differ only in the penalty. Both memorise the 500 digits; the
    difference is in how. Without the penalty nothing stops the weights from growing to
    make every training answer more confident, and confident wrong answers on test
    digits cost much in cross-entropy. Each claim is read image by image: both models
    score the same 10,000 test digits, so the standard error is that of the per-image
    differences (paired), smaller than two independent accuracies would give. The loss
    printed while they train includes the penalty, so the decay run's stays higher."""
    ctx.runs = {
        "no decay": decay_run(ctx, 0.0),
        "decay": decay_run(ctx, WEIGHT_DECAY),
    }
    none, decay = ctx.runs["no decay"], ctx.runs["decay"]
    names = ("decay", "no decay")
    said = {
        "test accuracy": ctx.verdict(
            verdicts.paired(
                "test accuracy, weight decay vs none",
                decay["correct"],
                none["correct"],
                names=names,
            )
        ),
        "test loss": ctx.verdict(
            verdicts.paired(
                "test cross-entropy, weight decay vs none",
                decay["loss"],
                none["loss"],
                names=names,
                ahead="above",
            ),
            expects="no decay",
        ),
    }
    table = {
        name: {
            "train accuracy": round(run["train"], 4),
            "test accuracy": round(float(run["correct"].mean()), 4),
            "test loss": round(float(run["loss"].mean()), 4),
            "sum of squared weights": round(run["sum of squared weights"], 1),
        }
        for name, run in ctx.runs.items()
    }
    ctx.record(decay_comparison=table)
    return {**table, **said}


def sweep_run(ctx, rate: float, run_dir) -> dict:
    """The MLP trained with gradient descent at ``rate`` for SWEEP_STEPS
    batches of 100 from the first SWEEP_TRAIN digits; its loss curve, test
    accuracy and hyperparameters go to ``run_dir`` as TF2 summaries."""
    with tf.Graph().as_default():
        writer = tf2.summary.create_file_writer(str(run_dir))
        x = tf.placeholder(tf.float32, [None, 784])
        y = tf.placeholder(tf.int64, [None])
        logits, _ = mlp(x)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=y, logits=logits
            )
        )
        train_step = tf.train.GradientDescentOptimizer(rate).minimize(loss)
        correct = tf.equal(tf.argmax(logits, 1), y)
        step = tf.placeholder(tf.int64, [])
        # TF2 summaries, as graph ops (see below)
        with writer.as_default():
            logged = tf2.summary.scalar("loss", loss, step=step)
            accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
            final = tf2.summary.scalar("test_accuracy", accuracy,
                                       step=step)
            hparams = hp.hparams({"learning_rate": rate})
        rng = np.random.RandomState(SEED)
        losses = []
        with tf.Session() as sess:
            sess.run([tf.global_variables_initializer(), writer.init()])
            sess.run(hparams)
            for i in range(SWEEP_STEPS[ctx.mode]):
                batch = rng.randint(0, SWEEP_TRAIN, 100)
                feed = {x: ctx.train_x[batch], y: ctx.train_y[batch],
                        step: i}
                _, value, _ = sess.run([train_step, loss, logged], feed)
                losses.append(value)
            test = {x: ctx.test_x, y: ctx.test_y, step: i}
            test_correct, _ = sess.run([correct, final], test)
            sess.run(writer.flush())
    last = float(np.mean(losses[-20:]))
    return {"correct": test_correct, "train loss": last}


@lesson.step("a learning-rate sweep, as a table and for TensorBoard's HParams")
def sweep(ctx):
    """The learning rate is the knob that matters most for gradient descent: too small
    and 200 steps go nowhere, too large and the loss jumps about or overflows to NaN.
    A sweep tries rates a factor of about 3 apart, each from the same start and batches.
    Each trial's run directory gets its hyperparameters (hp.hparams) and its metric
    (the scalar test_accuracy), and the sweep's root the list of both
    (hp.hparams_config), which TensorBoard's HPARAMS dashboard turns into a table and
    parallel coordinates (lesson 35). These are TensorFlow 2's summaries: in graph mode
    tf.summary.scalar(..., step=) and hp.hparams build ops like any other, which run in
    the Session once the writer is initialised (writer.init()); writer.flush() writes
    them out. The best rate is then judged against the runner-up on the same test
    digits, image by image (paired)."""
    root = ctx.logdir / "lr_sweep"
    with tf.Graph().as_default():
        config_writer = tf2.summary.create_file_writer(str(root))
        with config_writer.as_default():
            config = hp.hparams_config(
                hparams=[
                    hp.HParam("learning_rate", hp.Discrete(SWEEP_RATES))
                ],
                metrics=[
                    hp.Metric("test_accuracy", display_name="test accuracy")
                ],
            )
        with tf.Session() as sess:
            sess.run(config_writer.init())
            sess.run([config, config_writer.flush()])
    results = {}
    for rate in SWEEP_RATES:
        results[rate] = sweep_run(ctx, rate, root / f"lr={rate:g}")
        print(f"   lr={rate:g}: trained")  # a sign of life
    n = len(ctx.test_y)
    table = {}
    for rate, r in results.items():
        accuracy = float(r["correct"].mean())
        loss = (
            "diverged (NaN)"
            if math.isnan(r["train loss"])
            else round(r["train loss"], 4)
        )
        table[f"lr={rate:g}"] = (
            f"train loss {loss}, test accuracy {accuracy:.4f}"
            f" +/- {accuracy_se(accuracy, n):.4f}"
        )
    ranked = sorted(SWEEP_RATES, key=lambda r: -results[r]["correct"].mean())
    best, second = ranked[:2]
    said = ctx.verdict(
        verdicts.paired(
            f"test accuracy, lr={best:g} vs lr={second:g}",
            results[best]["correct"],
            results[second]["correct"],
            names=(f"lr={best:g}", f"lr={second:g}"),
        )
    )
    ctx.record(
        sweep={k: v for k, v in table.items()},
        best_rate=best,
        sweep_dir=str(root),
    )
    return {
        **table,
        "best vs runner-up": said,
        "tensorboard": ctx.tensorboard(root).replace("#scalars", "#hparams"),
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
