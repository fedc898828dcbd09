"""``lowtf bench --to-accuracy 0.992``: how long LeNet-5 (architecture unchanged) takes to reach a
test accuracy, with lesson 10's recipe, evaluating the full test set once per epoch."""
from __future__ import annotations

import json
import resource
import tempfile
import time
from pathlib import Path

import tensorflow.compat.v1 as tf

from lowtf.data.augment import random_shift
from lowtf.data.splits import load_splits
from lowtf.models import lenet5
from lowtf.train import TrainConfig, train


def recipe_optimizer(global_step, steps_per_epoch):
    """Lesson 10's recipe: Adam 1e-3, multiplied by 0.7 once per epoch."""
    rate = tf.train.exponential_decay(1e-3, global_step, steps_per_epoch, 0.7, staircase=True)
    return tf.train.AdamOptimizer(rate)


def run(target: float = 0.992, max_epochs: int = 12, batch: int = 128, seed: int = 0,
        out: Path = Path("runs/bench/time_to_accuracy.json")) -> dict:
    splits = load_splits(validation_size=5000)
    per_epoch = len(splits.train) // batch
    config = TrainConfig(steps=max_epochs * per_epoch, batch_size=batch, eval_every=per_epoch, resume=False,
                         seed=seed, augment=random_shift, target_accuracy=target, progress=False)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as logdir:
        h = train(lenet5, splits, recipe_optimizer, config, logdir)
    result = {"target": target, "reached": h.reached_target, "epochs": round(h.final_step / per_epoch, 2),
              "steps": h.final_step, "train_seconds": round(h.train_seconds, 1),
              "wall_seconds": round(time.perf_counter() - started, 1),
              "images_per_second": round(h.images_per_second),
              "test_accuracy_per_epoch": [round(a, 4) for a in h.test_accuracy],
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    print(json.dumps(result, indent=1))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return result
