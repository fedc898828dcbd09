"""Transfer learning: LeNet-5's MNIST conv layers, frozen, under a new head for Fashion-MNIST; then fine-tuning."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf import verdicts
from lowtf.data import fashion_mnist
from lowtf.data.splits import load_splits
from lowtf.models import lenet5
from lowtf.train import TrainConfig, train
from lowtf.viz.plots import training_curves

tf.disable_v2_behavior()

lesson = Lesson("20", "transfer learning")
CONV = ["lenet5/conv1/", "lenet5/conv2/"]
HEAD = ["lenet5/fc1/", "lenet5/logits/"]


def adam(rate):
    return lambda step: tf.train.AdamOptimizer(rate)


def run_config(ctx, name: str, **settings) -> TrainConfig:
    """What every run here shares. This lesson reads accuracies, not
    TensorBoard's detail: weight histograms at the start and the end only,
    no step traced."""
    return TrainConfig(
        name=name,
        seed=0,
        eval_every=ctx.eval_every,
        histogram_every=ctx.steps,
        trace_step=None,
        **settings,
    )


@lesson.step("stage 0: LeNet-5 learns digits")
def pretrain(ctx):
    """The bet of transfer: the conv layers, trained on digits, learn local marks (lesson
    12 showed such filters as they formed) that are useful for clothes too. Whether
    they are is what the last step measures, against a network trained from scratch."""
    ctx.steps = 40 if ctx.fast else 1500
    ctx.eval_every = ctx.steps if ctx.fast else 300
    ctx.batch_size = 32 if ctx.fast else 64  # Fashion-MNIST batches
    mnist = load_splits(
        validation_size=0, test_size=1000 if ctx.fast else None
    )
    config = run_config(
        ctx, "mnist", steps=ctx.steps, batch_size=64 if ctx.fast else 128
    )
    h = train(lenet5, mnist, adam(1e-3), config, ctx.logdir / "mnist")
    ctx.mnist_ckpt = h.checkpoint
    ctx.record(mnist_test_accuracy=round(h.final_test_accuracy, 4))
    return {
        "MNIST test accuracy": h.final_test_accuracy,
        "checkpoint": ctx.mnist_ckpt,
    }


@lesson.step("a small Fashion-MNIST training set")
def fashion(ctx):
    """Transfer is meant to pay off when the new task has little data: here a few hundred
    or a few thousand labelled images."""
    fashion_mnist.fetch(log=lambda m: None)
    ctx.fashion = load_splits(
        "fashion_mnist",
        validation_size=0,
        train_size=300 if ctx.fast else 5000,
        test_size=1000 if ctx.fast else None,
    )
    return {
        "train": len(ctx.fashion.train),
        "test": len(ctx.fashion.test),
        "classes": fashion_mnist.CLASSES,
    }


@lesson.step("stage 1: copy the conv layers, freeze them, train a new head")
def frozen(ctx):
    """warm_start copies conv1 and conv2 from the MNIST checkpoint; train_only limits the
    optimizer's var_list to fc1 and the logits, so the conv Variables get no update op at all."""
    config = run_config(
        ctx,
        "frozen",
        steps=ctx.steps,
        batch_size=ctx.batch_size,
        warm_start=ctx.mnist_ckpt,
        warm_start_vars=CONV,
        train_only=HEAD,
    )
    ctx.h_frozen = train(
        lenet5, ctx.fashion, adam(1e-3), config, ctx.logdir / "frozen"
    )
    ctx.frozen_ckpt = ctx.h_frozen.checkpoint
    before, after = (
        tf.train.load_checkpoint(ctx.mnist_ckpt),
        tf.train.load_checkpoint(ctx.frozen_ckpt),
    )
    unchanged = all(
        np.array_equal(before.get_tensor(p + k), after.get_tensor(p + k))
        for p in CONV
        for k in ("weights", "biases")
    )
    ctx.record(
        frozen_test_accuracy=round(ctx.h_frozen.final_test_accuracy, 4),
        conv_unchanged=unchanged,
        frozen_loss_first=round(ctx.h_frozen.loss[0], 4),
        frozen_loss_last=round(ctx.h_frozen.loss[-1], 4),
        mnist_checkpoint=ctx.mnist_ckpt,
        frozen_checkpoint=ctx.frozen_ckpt,
    )
    return {
        "test accuracy": ctx.h_frozen.final_test_accuracy,
        "conv weights bitwise unchanged": unchanged,
    }


@lesson.step("stage 2: fine-tune everything at a tenth of the learning rate")
def fine_tune(ctx):
    """Unfreeze all layers but move gently (1e-4), so the copied features adapt rather than
    being overwritten by the new head's early, noisy gradients."""
    config = run_config(
        ctx,
        "fine-tuned",
        steps=ctx.steps,
        batch_size=ctx.batch_size,
        warm_start=ctx.frozen_ckpt,
    )
    ctx.h_tuned = train(
        lenet5, ctx.fashion, adam(1e-4), config, ctx.logdir / "fine_tuned"
    )
    ctx.record(
        fine_tuned_test_accuracy=round(ctx.h_tuned.final_test_accuracy, 4)
    )
    return {"test accuracy": ctx.h_tuned.final_test_accuracy}


@lesson.step(
    "against training from scratch for as many steps as both stages together"
)
def compare(ctx):
    """Same data, same architecture, random start. One plot: each stage and the baseline.
    Whether transfer won is read from the numbers, not assumed."""
    config = run_config(
        ctx, "scratch", steps=2 * ctx.steps, batch_size=ctx.batch_size
    )
    scratch = train(
        lenet5, ctx.fashion, adam(1e-3), config, ctx.logdir / "scratch"
    )
    # Put stage 2 after stage 1 on the step axis.
    tuned = ctx.h_tuned
    tuned.steps = [s + ctx.steps for s in tuned.steps]
    tuned.eval_steps = [s + ctx.steps for s in tuned.eval_steps]
    path = training_curves(
        {
            "frozen conv + new head": ctx.h_frozen,
            "fine-tuned": tuned,
            "from scratch": scratch,
        },
        ctx.logdir / "transfer.png",
        "Fashion-MNIST, small training set",
    )
    parameters = {
        n: int(np.prod(v))
        for n, v in tf.train.list_variables(ctx.mnist_ckpt)
        if n.startswith("lenet5/")
    }
    frozen_share = sum(
        v for n, v in parameters.items() if n.startswith(tuple(CONV))
    ) / sum(parameters.values())
    gain = ctx.h_tuned.final_test_accuracy - scratch.final_test_accuracy
    # Each accuracy is measured on len(test) images: it carries a standard
    # error, and so does the gain.
    said = ctx.verdict(
        verdicts.accuracies(
            "fine-tuned vs from scratch",
            ctx.h_tuned.final_test_accuracy,
            scratch.final_test_accuracy,
            len(ctx.fashion.test),
            names=("fine-tuned", "from scratch"),
        )
    )
    verdict = (
        said
        if not said.startswith("fine-tuned ahead")
        else f"transfer helped: {said}"
    )
    if not said.startswith("fine-tuned ahead"):
        verdict += (
            f". The copied conv layers are only {frozen_share:.1%} of the "
            "network; the new head (fc1 + logits) must still be learnt from "
            "the few labels. Transfer pays when a large, general base is "
            "reused under a small head."
        )
    ctx.record(
        scratch_test_accuracy=round(scratch.final_test_accuracy, 4),
        plot=str(path),
        frozen_share=round(frozen_share, 4),
        transfer_gain=round(gain, 4),
        verdict=verdict,
    )
    return {
        "from scratch": scratch.final_test_accuracy,
        "frozen": ctx.h_frozen.final_test_accuracy,
        "fine-tuned": ctx.h_tuned.final_test_accuracy,
        "share of parameters copied and frozen": frozen_share,
        "what the numbers say": verdict,
        "plot": str(path),
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
