"""Filter evolution: GIFs of conv1 and conv2 filters of LeNet-5 and of the seed ConvNet as they train."""
from lowtf.lesson import Lesson

import tensorflow.compat.v1 as tf

from lowtf.data.splits import load_splits
from lowtf.models import lenet5, seed_convnet
from lowtf.train import FilterRecorder, TrainConfig, train
from lowtf.viz.filters import filter_gif

tf.disable_v2_behavior()

lesson = Lesson("12", "filter evolution")


@lesson.step("record the filters every few steps while training")
def record(ctx):
    """A FilterRecorder hook copies a conv layer's weights out of the Session every N
    steps. First-layer filters start as noise and turn into stroke and edge detectors;
    second-layer filters (shown for input channel 0) change more slowly."""
    splits = load_splits(validation_size=0, test_size=2000)
    steps = 60 if ctx.fast else 1200
    every = max(5, steps // 40)
    runs = {"lenet5": (lenet5, ["lenet5/conv1/weights", "lenet5/conv2/weights"]),
            "convnet": (seed_convnet, ["convnet/conv1_1/weights", "convnet/conv2_1/weights"])}
    ctx.gifs = {}
    for name, (model, variables) in runs.items():
        recorders = [FilterRecorder(v, every) for v in variables]
        config = TrainConfig(steps=steps, batch_size=64, eval_every=steps, resume=False, seed=0,
                             progress=not ctx.fast)
        h = train(model, splits, lambda s, e: tf.train.AdamOptimizer(1e-3), config, ctx.logdir / name,
                  hooks=recorders)
        for r in recorders:
            layer = r.variable.split("/")[1]
            ctx.gifs[f"{name}_{layer}"] = filter_gif(r.frames, r.steps, ctx.logdir / f"{name}_{layer}.gif")
        ctx.record(**{f"{name}_test_accuracy": round(h.final_test_accuracy, 4)})
    ctx.record(gifs={k: str(v) for k, v in ctx.gifs.items()}, frames=len(recorders[0].frames))
    return {"GIFs": {k: str(v) for k, v in ctx.gifs.items()}}


if __name__ == "__main__":
    raise SystemExit(lesson.main())
