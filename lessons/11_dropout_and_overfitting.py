"""Overfitting and dropout: the source article's four-convolution ConvNet on 500 digits, with and without dropout."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import dataclasses
import functools
import inspect
import math

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.data.splits import load_splits
from lowtf.models import convnet
from lowtf.train import Hook, TrainConfig, train
from lowtf import verdicts
from lowtf.viz.plots import training_curves

tf.disable_v2_behavior()

lesson = Lesson("11", "dropout and overfitting")

# --- knobs -----------------------------------------------------------------------------
# fast: fewer, so 80 steps memorise them (500 in 150 steps: 0.974, no
# clear rise; 200 needed 100 steps, 100 digits overfit more and sooner)
TRAIN_IMAGES = {"fast": 100, "full": 500}
STEPS = {"fast": 80, "full": 600}
TEST_IMAGES = {"fast": 1000, "full": None}  # None: all 10,000
CURVE_IMAGES = {"fast": 300, "full": 2000}  # test images of each curve point
# test points after step 0; the weights at each are kept and scored
POINTS = {"fast": 5, "full": 10}
VALIDATION_IMAGES = {"fast": 300, "full": 2000}  # where the lowest is picked
# the accuracy on training batches: the mean of the last 5 train points
TRAIN_POINTS_AVERAGED = 5


@lesson.step("a tiny training set: 100 to 500 digits")
def data(ctx):
    """With a few hundred examples or fewer and 1.7 M parameters the network can memorise the
    training set: training accuracy climbs towards 1.0 while test accuracy stalls. That
    gap is overfitting. (100 digits in --fast, 500 in the full run.) A validation
    split, other training digits set apart, is where this lesson makes its one choice
    (the point where the loss was lowest), so that the test set only reports."""
    ctx.splits = load_splits(
        validation_size=VALIDATION_IMAGES[ctx.mode],
        train_size=TRAIN_IMAGES[ctx.mode],
        test_size=TEST_IMAGES[ctx.mode],
    )
    return {
        "train": len(ctx.splits.train),
        "validation": len(ctx.splits.validation),
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
    v1_keep = tf.nn.dropout(ones, keep_prob=0.2, seed=1)  # v1: keep 20%
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
    "the same ConvNet twice: dropout off, and dropout on "
    "(0.25 after each block, 0.5 after fc)"
)
def fit(ctx):
    """Dropout zeroes random units while training, so no unit can rely on a particular
    other one; at test time it is off. Both runs share seeds and data order, and log to
    logdir/no_dropout and logdir/dropout: TensorBoard shows them side by side.
    (The source article kept 0.5 and 0.2 of the units; here 0.25 and 0.5 are dropped.)
    Its cost is paid in training: every step trains a thinned network on noisier
    gradients. The accuracy on the training batches shows that cost, not what the
    network knows: the dropout model is scored there with dropout on. Step 4 scores
    both models on all the training digits with dropout off.
    lowtf.train.train runs lesson 10's loop: Adam, train and test writers, checkpoints;
    each point of the test curves scores the first 300 test digits (2,000 in the full
    run). The network is the low-level CNN article's 4-conv ConvNet, its source below."""
    steps = STEPS[ctx.mode]
    variants = {
        "no_dropout": functools.partial(
            convnet, conv_dropout=0.0, fc_dropout=0.0
        ),
        "dropout": functools.partial(
            convnet, conv_dropout=0.25, fc_dropout=0.5
        ),
    }
    # the validation split is scored in step 4, from the kept weights
    for_training = dataclasses.replace(ctx.splits, validation=None)
    ctx.histories, ctx.weights = {}, {}
    for name, model in variants.items():
        config = TrainConfig(
            steps=steps,
            batch_size=50,
            eval_every=steps // POINTS[ctx.mode],
            eval_subset=CURVE_IMAGES[ctx.mode],
            summary_every=10,
            seed=0,
            name=name,
        )
        # step -> the weights then, at every test point
        weights = ctx.weights[name] = {}

        def keep(sess, step, params, weights=weights):
            weights[step] = sess.run(params)

        ctx.histories[name] = train(
            model,
            for_training,
            lambda step: tf.train.AdamOptimizer(1e-3),
            config,
            ctx.logdir / name,
            hooks=[Hook(steps // POINTS[ctx.mode], keep)],
        )
    ctx.variants = variants
    report = {}
    for name, h in ctx.histories.items():
        batches = float(np.mean(h.accuracy[-TRAIN_POINTS_AVERAGED:]))
        report[name] = {
            "its last training batches' accuracy": round(batches, 3),
            "test accuracy": round(h.final_test_accuracy, 4),
            "training seconds": round(h.train_seconds, 1),
        }
        ctx.record(
            **{
                f"{name}_batch_accuracy": round(batches, 4),
                f"{name}_test_accuracy": round(h.final_test_accuracy, 4),
            }
        )
    return {"convnet": "\n" + inspect.getsource(convnet), **report}


def scores(model, weight_sets: list, split) -> list:
    """Each image's (cross-entropy [N], 1.0 if right else 0.0 [N]) under
    ``model`` with dropout off, once per set of weights {name: value}."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None,) + split.images.shape[1:])
        y = tf.placeholder(tf.int64, [None])
        logits, params = model(x, tf.constant(False))
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y, logits=logits
        )
        right = tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32)
        found = []
        with tf.Session() as sess:
            for weights in weight_sets:
                for name, variable in params.items():
                    variable.load(weights[name], sess)
                parts = [  # 1,000 images at a time: activations fit
                    sess.run(
                        [loss, right],
                        {
                            x: split.images[i : i + 1000] / 255.0,
                            y: split.labels[i : i + 1000],
                        },
                    )
                    for i in range(0, len(split.labels), 1000)
                ]
                losses, rights = (np.concatenate(p) for p in zip(*parts))
                found.append((losses, rights))
        return found


def paired_se(a, b) -> float:
    """The standard error of mean(a - b) when a and b score the same
    images: std(a_i - b_i) / sqrt(n). An image both get right (or
    both wrong) adds no noise to the difference."""
    d = np.asarray(a, float) - np.asarray(b, float)
    return float(d.std(ddof=1) / math.sqrt(len(d)))


@lesson.step("train vs test, in numbers with their noise, and one picture")
def plot(ctx):
    """Overfitting shows as a gap: training accuracy above test accuracy, and a test loss
    that stops falling and turns up while the training loss keeps falling (the network
    grows confident on digits it has memorised, and its wrong answers cost more). Dropout
    is meant to narrow the gap. Both models are scored here as they would be used, with
    dropout off, on the same images: all the training digits, all the test digits.
    Each claim below is computed from the numbers with its standard error (SE). An
    accuracy p on n images has SE sqrt(p(1 - p) / n). Two models scored on the same
    images are compared image by image (a paired SE, from the spread of the per-image
    differences), which is smaller: an image both get right adds no noise. A difference
    over two SE is reported as one; under two SE the verdict says "no difference beyond
    noise", which does not show the two are equal: a real difference that size could
    hide in the noise.
    Where did the test loss bottom out? The weights kept at every test point score the
    validation split, and the lowest validation loss picks the point; the test set,
    which took no part in the choice, then says whether the final weights lost ground
    since: image by image, with a paired SE. Picking the point on the test set itself
    would flatter it."""
    splits = ctx.splits
    said, rose, found = {}, {}, {}
    for name, h in ctx.histories.items():
        model, kept = ctx.variants[name], ctx.weights[name]
        points = sorted(kept)
        # seconds of scoring per model: say so, not a still screen
        print(f"   scoring {name}: {len(points)} kept points on validation",
              flush=True)
        on_validation = scores(
            model, [kept[s] for s in points], splits.validation
        )
        losses = [loss.mean() for loss, _ in on_validation]
        lowest = points[int(np.argmin(losses))]
        final = kept[h.final_step]
        print(f"   scoring {name}: the training and test digits", flush=True)
        ((_, train_right),) = scores(model, [final], splits.train)
        (before, _), (after, test_right) = scores(
            model, [kept[lowest], final], splits.test
        )
        found[name] = train_right, test_right
        said[f"{name}: train vs test accuracy"] = ctx.verdict(
            verdicts.accuracies(
                f"train vs test accuracy, {name}",
                train_right.mean(),
                test_right.mean(),
                len(train_right),
                len(test_right),
                names=("train", "test"),
            ),
            # sized so that --fast overfits beyond its noise without dropout
            expects="train" if name == "no_dropout" else "whichever",
        )
        rose[name] = round(float(after.mean() - before.mean()), 3)
        if lowest == h.final_step:
            said[f"{name}: test loss"] = "lowest validation loss at the end"
        else:
            said[f"{name}: test loss, final vs its lowest"] = ctx.verdict(
                verdicts.paired(
                    f"test loss, final vs at the lowest validation loss "
                    f"(step {lowest}), {name}",
                    after,
                    before,
                    names=("final", f"step {lowest}'s"),
                    ahead="above",
                )
            )
        ctx.record(
            **{
                f"{name}_train_accuracy": round(float(train_right.mean()), 4),
                f"{name}_test_loss": round(float(after.mean()), 4),
                f"{name}_lowest_validation_step": lowest,
                f"{name}_test_loss_there": round(float(before.mean()), 4),
            }
        )
    train_d, test_d = found["dropout"]
    train_n, test_n = found["no_dropout"]
    # gap(dropout) - gap(none) = (train_d - train_n) - (test_d - test_n):
    # two paired differences, on two separate sets of images
    said["the gap, dropout vs none"] = ctx.verdict(
        verdicts.with_se(
            "train-test gap, dropout vs no dropout",
            train_d.mean() - test_d.mean(),
            train_n.mean() - test_n.mean(),
            math.hypot(
                paired_se(train_d, train_n), paired_se(test_d, test_n)
            ),
            names=("dropout's gap", "no dropout's gap"),
            ahead="larger than",
            kind="paired",
        )
    )
    said["test accuracy, dropout vs none"] = ctx.verdict(
        verdicts.paired(
            "test accuracy, dropout vs no dropout",
            test_d,
            test_n,
            names=("dropout", "no dropout"),
        )
    )
    path = training_curves(
        ctx.histories,
        ctx.logdir / "overfitting.png",
        f"{len(splits.train)} training digits",
    )
    ctx.record(plot=str(path), test_loss_rise=rose)
    return {
        **said,
        "test loss, final minus at the lowest validation loss": rose,
        "plot": str(path),
        "tensorboard": ctx.tensorboard(),
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
