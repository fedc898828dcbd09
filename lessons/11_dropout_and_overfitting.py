"""Overfitting and dropout: the source article's four-convolution ConvNet on 500 digits, with and without dropout."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import functools
import inspect
import math

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.data.splits import load_splits
from lowtf.models import convnet
from lowtf.train import Hook, TrainConfig, train
from lowtf import verdicts
from lowtf.verdicts import accuracy_se
from lowtf.viz.plots import training_curves

tf.disable_v2_behavior()

lesson = Lesson("11", "dropout and overfitting")

# --- knobs -----------------------------------------------------------------------------
TRAIN_IMAGES = {
    "fast": 200,
    "full": 500,
}  # fast: fewer, so 150 steps memorise them (500: 0.974, no clear rise)
STEPS = {"fast": 150, "full": 600}
TEST_IMAGES = {"fast": 2000, "full": None}  # None: all 10,000
# the training accuracy is the mean of the last 5 train points
TRAIN_POINTS_AVERAGED = 5


@lesson.step("a tiny training set: a few hundred digits")
def data(ctx):
    """With a few hundred examples and 1.7 M parameters the network can memorise the
    training set: training accuracy climbs towards 1.0 while test accuracy stalls. That
    gap is overfitting. (200 digits in --fast, 500 in the full run.)"""
    ctx.splits = load_splits(
        validation_size=0,
        train_size=TRAIN_IMAGES[ctx.mode],
        test_size=TEST_IMAGES[ctx.mode],
    )
    return {
        "train": len(ctx.splits.train),
        "test": len(ctx.splits.test),
        "examples per class": np.bincount(ctx.splits.train.labels).tolist(),
    }


@lesson.step("dropout by hand: survivors are scaled up; keep_prob became rate")
def dropout_scaling(ctx):
    """While training, dropout zeroes each unit with probability `rate` and divides the
    survivors by (1 - rate), so a unit's expected value is unchanged and nothing needs
    rescaling at test time ("inverted" dropout). TensorFlow 1 spelled it with the
    probability to KEEP: tf.nn.dropout(x, keep_prob), as the course's source articles
    do (keep 0.5; keep 0.2 in one of them). TensorFlow 2's tf.nn.dropout takes the
    probability to DROP, and compat.v1's still reads a second positional argument as
    keep_prob: the same call, dropout(x, 0.2), drops 20% in one and 80% in the other.
    Name the argument."""
    ones = tf.ones([100_000])
    v1_keep = tf.nn.dropout(ones, keep_prob=0.2, seed=1)  # compat.v1: keep 20%
    v2_rate = tf.nn.dropout(ones, rate=0.2, seed=1)  # rate: drop 20%
    with tf.Session() as sess:
        kept_v1, kept_v2 = sess.run([v1_keep, v2_rate])
    report = {}
    for name, values in (("keep_prob=0.2", kept_v1), ("rate=0.2", kept_v2)):
        survivors = values[values > 0]
        report[name] = {
            "fraction kept": round(float((values > 0).mean()), 3),
            "survivors' value": float(survivors[0]),
            "mean": round(float(values.mean()), 3),
        }
    ctx.record(
        dropout_keep_prob_0_2_kept=report["keep_prob=0.2"]["fraction kept"],
        dropout_rate_0_2_kept=report["rate=0.2"]["fraction kept"],
    )
    return report


@lesson.step(
    "the same ConvNet twice: dropout off, and dropout on (0.25 after each block, 0.5 after fc)"
)
def fit(ctx):
    """Dropout zeroes random units while training, so no unit can rely on a particular
    other one; at test time it is off. Both runs share seeds and data order, and log to
    logdir/no_dropout and logdir/dropout: TensorBoard shows them side by side.
    (The source article kept 0.5 and 0.2 of the units; here 0.25 and 0.5 are dropped.)
    Its cost is paid in training: every step trains a thinned network on noisier
    gradients (the two runs' training accuracies and curves show what it cost here).
    lowtf.train.train runs lesson 10's loop: Adam, train and test writers, checkpoints.
    The network is the low-level CNN article's 4-conv ConvNet, its source below."""
    steps = STEPS[ctx.mode]
    variants = {
        "no_dropout": functools.partial(
            convnet, conv_dropout=0.0, fc_dropout=0.0
        ),
        "dropout": functools.partial(
            convnet, conv_dropout=0.25, fc_dropout=0.5
        ),
    }
    ctx.histories, ctx.weights = {}, {}
    for name, model in variants.items():
        config = TrainConfig(
            steps=steps,
            batch_size=50,
            eval_every=steps // 10,
            summary_every=10,
            seed=0,
            name=name,
        )
        weights = ctx.weights[
            name
        ] = {}  # step -> the weights then, at every test point

        def keep(sess, step, params, weights=weights):
            weights[step] = sess.run(params)

        ctx.histories[name] = train(
            model,
            ctx.splits,
            lambda step: tf.train.AdamOptimizer(1e-3),
            config,
            ctx.logdir / name,
            hooks=[Hook(steps // 10, keep)],
        )
    ctx.variants = variants
    report = {}
    for name, h in ctx.histories.items():
        train_acc = float(np.mean(h.accuracy[-TRAIN_POINTS_AVERAGED:]))
        lowest = int(np.argmin(h.test_loss))
        report[name] = {
            f"train accuracy (last {TRAIN_POINTS_AVERAGED * 10} steps)": round(
                train_acc, 3
            ),
            "test accuracy": round(h.final_test_accuracy, 4),
            "gap": round(train_acc - h.final_test_accuracy, 3),
            "test loss: lowest, at step, final": (
                round(h.test_loss[lowest], 3),
                h.eval_steps[lowest],
                round(h.test_loss[-1], 3),
            ),
            "training seconds": round(h.train_seconds, 1),
        }
        ctx.record(
            **{
                f"{name}_train_accuracy": round(train_acc, 4),
                f"{name}_test_accuracy": round(h.final_test_accuracy, 4),
                f"{name}_test_loss": round(h.test_loss[-1], 4),
                f"{name}_lowest_test_loss": round(h.test_loss[lowest], 4),
            }
        )
    return {"convnet": "\n" + inspect.getsource(convnet), **report}


def test_losses(model, weight_sets: list, split) -> list:
    """Each test image's cross-entropy [N] under ``model``, once per set
    of weights ({name: value})."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None,) + split.images.shape[1:])
        logits, params = model(x, tf.constant(False))
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=split.labels, logits=logits
        )
        found = []
        with tf.Session() as sess:
            for weights in weight_sets:
                for name, variable in params.items():
                    variable.load(weights[name], sess)
                found.append(sess.run(losses, {x: split.images / 255.0}))
        return found


@lesson.step("train vs test, in numbers with their noise, and one picture")
def plot(ctx):
    """Overfitting shows as a gap: training accuracy above test accuracy, and a test loss
    that stops falling and turns up while the training loss keeps falling (the network
    grows confident on digits it has memorised, and its wrong answers cost more). Dropout
    is meant to narrow the gap. Each claim below is computed from the numbers with its
    standard error (an accuracy p on n images: sqrt(p(1 - p) / n)); a difference under two
    standard errors is no difference. The training accuracy is the mean over the last
    50 steps' batches (2,500 images, counted as independent: that understates its noise).
    The test loss's rise is read image by image: the weights kept at the lowest test point
    and the final ones score every test image, and the mean of the differences carries
    the standard error of their spread."""
    n_test, n_train = len(ctx.splits.test), TRAIN_POINTS_AVERAGED * 10 * 50
    gaps, said = {}, {}
    for name, h in ctx.histories.items():
        train_acc = float(np.mean(h.accuracy[-TRAIN_POINTS_AVERAGED:]))
        test_acc = h.final_test_accuracy
        gaps[name] = (
            train_acc - test_acc,
            math.hypot(
                accuracy_se(train_acc, n_train), accuracy_se(test_acc, n_test)
            ),
        )
        said[f"{name}: train vs test accuracy"] = ctx.verdict(
            verdicts.accuracies(
                f"train vs test accuracy, {name}",
                train_acc,
                test_acc,
                n_train,
                n_test,
                names=("train", "test"),
            )
        )
    said["the gap, dropout vs none"] = ctx.verdict(
        verdicts.estimates(
            "train-test gap, dropout vs no dropout",
            *gaps["dropout"],
            *gaps["no_dropout"],
            names=("dropout's gap", "no dropout's gap"),
        )
    )
    said["test accuracy, dropout vs none"] = ctx.verdict(
        verdicts.accuracies(
            "test accuracy, dropout vs no dropout",
            ctx.histories["dropout"].final_test_accuracy,
            ctx.histories["no_dropout"].final_test_accuracy,
            n_test,
            names=("dropout", "no dropout"),
        )
    )
    for (
        name,
        h,
    ) in (
        ctx.histories.items()
    ):  # the rise, image by image: lowest point vs final
        lowest_step = h.eval_steps[int(np.argmin(h.test_loss))]
        before, after = test_losses(
            ctx.variants[name],
            [ctx.weights[name][lowest_step], ctx.weights[name][h.final_step]],
            ctx.splits.test,
        )
        said[f"{name}: test loss, final vs lowest"] = ctx.verdict(
            verdicts.with_se(
                f"test loss, final vs its lowest (step {lowest_step}), {name}",
                after.mean(),
                before.mean(),
                (after - before).std(ddof=1) / math.sqrt(len(after)),
                names=("final", "lowest"),
                ahead="above",
            )
        )
    rose = {
        name: round(h.test_loss[-1] - min(h.test_loss), 3)
        for name, h in ctx.histories.items()
    }
    path = training_curves(
        ctx.histories,
        ctx.logdir / "overfitting.png",
        f"{len(ctx.splits.train)} training digits",
    )
    ctx.record(plot=str(path), test_loss_rise=rose)
    return {
        **said,
        "test loss, final minus lowest": rose,
        "plot": str(path),
        "tensorboard": ctx.tensorboard(),
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
