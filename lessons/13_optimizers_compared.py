"""Optimisers compared: gradient descent, momentum and Adam on the same MLP and the same batches."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import tensorflow.compat.v1 as tf

from lowtf import verdicts
from lowtf.data.splits import load_splits
from lowtf.models import mlp
from lowtf.train import TrainConfig, train
from lowtf.viz.plots import training_curves

tf.disable_v2_behavior()

lesson = Lesson("13", "optimizers compared")

# --- knobs -----------------------------------------------------------------------------
STEPS = {"fast": 200, "full": 1500}
TEST_IMAGES = {"fast": 2000, "full": None}  # None: all 10,000
OPTIMIZERS = {
    # w -= lr * g
    "gradient_descent": lambda step: tf.train.GradientDescentOptimizer(0.05),
    # v = 0.9 v + g; w -= lr * v: velocity smooths the zig-zag and speeds up along valleys
    "momentum": lambda step: tf.train.MomentumOptimizer(0.05, momentum=0.9),
    # per-parameter steps from running means of g and g^2
    "adam": lambda step: tf.train.AdamOptimizer(1e-3),
}


@lesson.step("three optimisers, same model, same seed, same batches")
def compare(ctx):
    """Only the update rule differs: the initial weights and the data order are fixed by
    the seed. Each run logs to its own folder, so TensorBoard overlays the three curves.
    lowtf.train.train runs lesson 10's loop for each."""
    splits = load_splits(validation_size=0, test_size=TEST_IMAGES[ctx.mode])
    ctx.test_labels = splits.test.labels
    steps = STEPS[ctx.mode]
    ctx.histories = {}
    for name, optimizer in OPTIMIZERS.items():
        config = TrainConfig(
            steps=steps,
            batch_size=128,
            eval_every=max(50, steps // 10),
            summary_every=20,
            seed=0,
            name=name,
        )
        h = ctx.histories[name] = train(
            mlp, splits, optimizer, config, ctx.logdir / name
        )
        ctx.record(
            **{
                f"{name}_test_accuracy": round(h.final_test_accuracy, 4),
                f"{name}_final_loss": round(h.loss[-1], 4),
            }
        )
    return {
        name: round(h.final_test_accuracy, 4)
        for name, h in ctx.histories.items()
    }


@lesson.step("what the numbers say, one plot, three TensorBoard runs")
def plot(ctx):
    """Momentum and Adam are expected to get further than plain gradient descent in the same
    number of steps: momentum keeps moving along a valley, Adam scales each parameter's step.
    Whether they did here is read from the test accuracies, each on the same test images,
    with its standard error. Under two standard errors the verdict says "no difference
    beyond noise": this run cannot tell them apart, which does not show they are equal."""
    n = len(ctx.test_labels)
    plain = ctx.histories["gradient_descent"].final_test_accuracy
    said = {
        f"{name} vs gradient descent": ctx.verdict(
            verdicts.accuracies(
                f"test accuracy, {name} vs gradient descent",
                ctx.histories[name].final_test_accuracy,
                plain,
                n,
                names=(name, "gradient descent"),
            )
        )
        for name in ("momentum", "adam")
    }
    path = training_curves(
        ctx.histories, ctx.logdir / "optimizers.png", "MLP on MNIST"
    )
    ctx.record(plot=str(path))
    return {**said, "plot": str(path), "tensorboard": ctx.tensorboard()}


if __name__ == "__main__":
    raise SystemExit(lesson.main())
