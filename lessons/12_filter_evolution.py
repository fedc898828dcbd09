"""Filter evolution: GIFs of the conv filters of LeNet-5 and of the source article's ConvNet as they train."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf import verdicts
from lowtf.data.splits import load_splits
from lowtf.models import lenet5, convnet
from lowtf.train import Hook, TrainConfig, train
from lowtf.viz.filters import filter_gif, relative_change

tf.disable_v2_behavior()

lesson = Lesson("12", "filter evolution")

# --- knobs -----------------------------------------------------------------------------
# fast: at 40 the ConvNet had not learned at all (0.10, chance); at 60 it
# reached 0.795 (0.77 with oneDNN capped at AVX2), LeNet-5 0.90
STEPS = {"fast": 60, "full": 1200}
SNAPSHOTS = 40
RUNS = {
    "lenet5": (lenet5, ["lenet5/conv1/weights", "lenet5/conv2/weights"]),
    "convnet": (
        convnet,
        ["convnet/conv1_1/weights", "convnet/conv2_1/weights"],
    ),
}


@lesson.step(
    "record the filters every few steps while training, and measure how far they move"
)
def record(ctx):
    """A hook is a function the trainer calls every N steps with the Session: here it
    copies the conv weights out. The source article expected first-layer filters to
    turn into edge detectors, and found its first layer barely changed. How far a layer
    moved is a number, |W_end - W_start| / |W_start|, and it depends on the network, its
    initialisation and the optimizer: the numbers below say which layers moved, and the
    GIFs show each filter beside its change since step 0. Which layer moved more is read
    from each filter's own change, with the spread from filter to filter as the noise:
    it describes this run (another seed may move the layers by other amounts). The
    article also expected deeper layers to learn more abstract features: a first layer's 5x5 filters can be
    read as edge and blob detectors, a deeper layer's cannot be read from its weights
    alone, since each of its filters combines all the maps of the layer before."""
    # 1,000 test images: enough to tell a net that learned from chance (0.10)
    splits = load_splits(validation_size=0, test_size=1000)
    steps = STEPS[ctx.mode]
    every = max(5, steps // SNAPSHOTS)
    ctx.gifs, moved, learned, per_filter = {}, {}, {}, {}
    for name, (model, variables) in RUNS.items():
        snapshots = {v: [] for v in variables}
        snapshot_steps = []

        def snapshot(
            sess, step, params
        ):  # called before step 1 and every `every` steps
            snapshot_steps.append(step)
            for v in variables:
                snapshots[v].append(sess.run(params[v]))

        config = TrainConfig(
            steps=steps,
            batch_size=64,
            eval_every=steps,
            eval_subset=200,  # the curve's two points; the end scores all
            # the filters go to GIFs: TensorBoard gets the weights' histograms
            # and images at the start and the end only, and no traced step
            histogram_every=steps,
            trace_step=None,
            seed=0,
            name=name,
        )
        print(f"   {name}: building its graph, then training", flush=True)
        h = train(
            model,
            splits,
            lambda step: tf.train.AdamOptimizer(1e-3),
            config,
            ctx.logdir / name,
            hooks=[Hook(every, snapshot)],
        )
        for v, frames in snapshots.items():
            layer = f"{name}_{v.split('/')[1]}"
            ctx.gifs[layer] = filter_gif(
                frames, snapshot_steps, ctx.logdir / f"{layer}.gif"
            )
            moved[layer] = round(relative_change(frames[0], frames[-1]), 3)
            per_filter[layer] = [
                relative_change(frames[0][..., j], frames[-1][..., j])
                for j in range(frames[0].shape[-1])
            ]
        ctx.record(
            **{f"{name}_test_accuracy": round(h.final_test_accuracy, 4)}
        )
        learned[name] = round(h.final_test_accuracy, 4)
    ctx.record(
        gifs={k: str(v) for k, v in ctx.gifs.items()},
        frames=len(snapshot_steps),
        relative_change=moved,
    )
    reading = {}
    for name, (_, variables) in RUNS.items():
        first, second = (f"{name}_{v.split('/')[1]}" for v in variables)
        reading[name] = ctx.verdict(
            verdicts.repeated(
                f"{name}: mean change of a filter, {first} vs {second}",
                per_filter[first],
                per_filter[second],
                names=(first, second),
                ahead="moved more than",
            )
        )
    return {
        "test accuracy (1,000 images; chance is 0.10)": learned,
        "GIFs": {k: str(v) for k, v in ctx.gifs.items()},
        "relative weight change": moved,
        "a filter's change, mean over each layer's filters": {
            layer: round(float(np.mean(changes)), 3)
            for layer, changes in per_filter.items()
        },
        "which layer's filters moved more "
        "(2 SE from filter to filter)": reading,
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
