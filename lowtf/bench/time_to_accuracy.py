"""``lowtf bench --to-accuracy 0.992``: how long LeNet-5 (architecture unchanged) takes to reach a
test accuracy with lesson 10's recipe (``lowtf.train.recipes.LENET5_FAST``)."""
from __future__ import annotations

import dataclasses
import functools
import json
import resource
import tempfile
import time
from pathlib import Path

from lowtf.data.splits import load_splits
from lowtf.models import lenet5
from lowtf.train import TrainConfig, train
from lowtf.train.recipes import LENET5_FAST, Recipe


def measure_time_to_accuracy(target: float = 0.992, recipe: Recipe = LENET5_FAST, evaluations: int = 8, seed: int = 0,
        out: Path = Path("runs/bench/time_to_accuracy.json")) -> dict:
    """Train with ``recipe``, evaluating the test set ``evaluations`` times, and stop at the
    first evaluation at or above ``target``. Training seconds exclude evaluations."""
    splits = load_splits(validation_size=recipe.validation_size)
    steps = recipe.total_steps(len(splits.train))
    per_epoch = len(splits.train) / recipe.batch_size
    config = TrainConfig(steps=steps, batch_size=recipe.batch_size, eval_every=max(1, steps // evaluations),
                         eval_subset=None, seed=seed, target_accuracy=target, progress=False)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as logdir:
        h = train(functools.partial(lenet5, init=recipe.init), splits, recipe.optimizer(steps), config, logdir)
    result = {"target": target, "reached": h.reached_target, "recipe": dataclasses.asdict(recipe),
              "epochs": round(h.final_step / per_epoch, 2), "steps": h.final_step,
              "train_seconds": round(h.train_seconds, 1), "wall_seconds": round(time.perf_counter() - started, 1),
              "images_per_second": round(h.images_per_second),
              "test_accuracy": dict(zip(h.eval_steps, (round(a, 4) for a in h.test_accuracy))),
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    print(json.dumps(result, indent=1))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return result
