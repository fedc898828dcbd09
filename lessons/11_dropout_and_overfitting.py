"""Overfitting and dropout: the seed 003 ConvNet on a few hundred digits, with and without dropout."""
from lowtf.lesson import Lesson

import functools

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.data.splits import load_splits
from lowtf.models import seed_convnet
from lowtf.train import TrainConfig, train
from lowtf.viz.plots import training_curves

tf.disable_v2_behavior()

lesson = Lesson("11", "dropout and overfitting")


@lesson.step("a tiny training set: 500 digits")
def data(ctx):
    """With 500 examples and 1.7 M parameters the network can memorise the training set:
    training accuracy reaches 1.0 while test accuracy stalls. That gap is overfitting."""
    ctx.splits = load_splits(validation_size=0, train_size=500, test_size=1000 if ctx.fast else None)
    return {"train": len(ctx.splits.train), "test": len(ctx.splits.test),
            "examples per class": np.bincount(ctx.splits.train.labels).tolist()}


@lesson.step("the same ConvNet twice: dropout off, and dropout on (0.25 after each block, 0.5 after fc)")
def fit(ctx):
    """Dropout zeroes random units while training, so no unit can rely on a particular
    other one; at test time it is off. Both runs share seeds and data order, and log to
    logdir/no_dropout and logdir/dropout: TensorBoard shows them side by side."""
    steps = 150 if ctx.fast else 600
    variants = {"no_dropout": functools.partial(seed_convnet, conv_dropout=0.0, fc_dropout=0.0),
                "dropout": functools.partial(seed_convnet, conv_dropout=0.25, fc_dropout=0.5)}
    ctx.histories = {}
    for name, model in variants.items():
        config = TrainConfig(steps=steps, batch_size=50, eval_every=50, summary_every=10, resume=False,
                             seed=0, progress=not ctx.fast)
        ctx.histories[name] = train(model, ctx.splits, lambda s, e: tf.train.AdamOptimizer(1e-3), config,
                                    ctx.logdir / name)
    report = {}
    for name, h in ctx.histories.items():
        train_acc = float(np.mean(h.accuracy[-5:]))
        report[name] = {"train accuracy (last 50 steps)": round(train_acc, 3),
                        "test accuracy": round(h.final_test_accuracy, 4),
                        "gap": round(train_acc - h.final_test_accuracy, 3)}
        ctx.record(**{f"{name}_train_accuracy": round(train_acc, 4),
                      f"{name}_test_accuracy": round(h.final_test_accuracy, 4),
                      f"{name}_test_loss": round(h.test_loss[-1], 4)})
    return report


@lesson.step("train vs test curves, one picture")
def plot(ctx):
    """Without dropout the test loss climbs again while the training loss keeps falling;
    dropout narrows the gap."""
    path = training_curves(ctx.histories, ctx.logdir / "overfitting.png", "500 training digits")
    ctx.record(plot=str(path))
    return {"plot": str(path), "tensorboard": f"tensorboard --logdir {ctx.logdir}"}


if __name__ == "__main__":
    raise SystemExit(lesson.main())
