"""``lowtf bench --to-accuracy 0.992 [--precision bfloat16]``: how long LeNet-5 (architecture unchanged)
takes to reach a test accuracy with lesson 10's recipes (``lowtf.train.recipes.RECIPES``).

With ``--precision bfloat16`` it runs twice in one call, float32 (2.5 epochs) then bfloat16 (its
recipe: 3 epochs), and the JSON gives the ratio of their training times (seconds compare only
within one run). Accuracies
are of float32 evaluations: a bfloat16 run's final weights are scored in float32 (its bfloat16
score is recorded beside)."""
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
from lowtf.train.recipes import RECIPES, Recipe


def one_run(target: float, recipe: Recipe, evaluations: int, seed: int, precision: str) -> dict:
    """Train with ``recipe`` in ``precision``, evaluating the test set ``evaluations`` times; stop at the
    first evaluation at or above ``target``. Training seconds exclude evaluations."""
    splits = load_splits(validation_size=recipe.validation_size)
    steps = recipe.total_steps(len(splits.train))
    per_epoch = len(splits.train) / recipe.batch_size
    config = TrainConfig(steps=steps, batch_size=recipe.batch_size, eval_every=max(1, steps // evaluations),
                         eval_subset=None, seed=seed, target_accuracy=target, progress=False, precision=precision)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as logdir:
        h = train(functools.partial(lenet5, init=recipe.init), splits, recipe.optimizer(steps), config, logdir)
    result = {"precision": h.precision, "why": h.precision_reason, "bfloat16_ops": sum(h.bfloat16_ops.values()),
              "reached": h.reached_target, "epochs": round(h.final_step / per_epoch, 2), "steps": h.final_step,
              "train_seconds": round(h.train_seconds, 1), "wall_seconds": round(time.perf_counter() - started, 1),
              "images_per_second": round(h.images_per_second),
              "test_accuracy": dict(zip(h.eval_steps, (round(a, 4) for a in h.test_accuracy)))}
    if h.low_precision_test_accuracy is not None:
        result["final_test_accuracy_in_bfloat16"] = round(h.low_precision_test_accuracy, 4)
    print(f"{precision}: {'reached' if h.reached_target else 'did not reach'} {target} after {h.final_step} steps, "
          f"{result['train_seconds']} s of training, {result['images_per_second']:,} img/s", flush=True)
    return result


def measure_time_to_accuracy(target: float = 0.992, evaluations: int = 8, seed: int = 0, precisions=("float32",),
                             out: Path = Path("runs/bench/time_to_accuracy.json")) -> dict:
    """One run per precision, each with its recipe, in this order; with two, ``train_seconds_ratio`` is the
    second's training time over the first's."""
    runs = {p: one_run(target, RECIPES[p], evaluations, seed, p) for p in precisions}
    result = {"target": target, "recipes": {p: dataclasses.asdict(RECIPES[p]) for p in precisions}, "seed": seed,
              "reached": all(r["reached"] for r in runs.values()), "runs": runs,
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    if len(runs) == 2:
        first, second = runs.values()
        result["train_seconds_ratio"] = round(second["train_seconds"] / first["train_seconds"], 3)
    print(json.dumps(result, indent=1))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return result
