"""Lesson 10's graph-mode loop run in a process of its own, for the Keras lessons to compare against.

Keras 3 runs eagerly and the course's trainer needs graph mode (``disable_v2_behavior``,
a v1 Session), and the two do not share a process. ``train_lenet5_by_hand`` starts
``python -m lowtf.train.graph_process`` with the run's settings as JSON, waits for it, and
reads back what it measured; the child writes TensorBoard events under ``logdir`` as every
trainer run does. Ctrl-C or an exception in the parent kills the child (``subprocess.run``
does), and a child that fails raises ``GraphRunError`` with the end of its error output.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class GraphRun:
    """What to train: LeNet-5 (init ``tutorial`` or ``he``) with Adam at ``learning_rate``."""

    steps: int
    batch_size: int
    learning_rate: float
    train_size: int | None
    validation_size: int
    test_size: int | None
    seed: int
    init: str = "tutorial"
    eval_points: int = 4


class GraphRunError(RuntimeError):
    """The graph-mode process failed; the message ends with its last error lines."""


def train_lenet5_by_hand(run: GraphRun, logdir: Path, timeout: float = 1800) -> dict:
    """Train in a child process into ``logdir``; return {"test_accuracy", "images_per_second", "steps"}."""
    logdir = Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    result = logdir / "result.json"
    proc = subprocess.run([sys.executable, "-m", "lowtf.train.graph_process", json.dumps(asdict(run)), str(logdir)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=timeout)
    if proc.returncode != 0 or not result.is_file():
        raise GraphRunError(f"the graph-mode run exited with status {proc.returncode}: "
                            + (proc.stderr.strip()[-800:] or "no error output"))
    return json.loads(result.read_text())


def _main(settings: str, logdir: str) -> None:
    from lowtf.console import load_tensorflow

    load_tensorflow()
    import tensorflow.compat.v1 as tf

    from lowtf.data.splits import load_splits
    from lowtf.data.store import atomic_write
    from lowtf.models import lenet5
    from lowtf.train import TrainConfig, train

    tf.disable_v2_behavior()
    run = GraphRun(**json.loads(settings))
    splits = load_splits("mnist", validation_size=run.validation_size, train_size=run.train_size,
                         test_size=run.test_size)
    # Few evaluations and histograms: the comparison is about training, and each one costs seconds.
    config = TrainConfig(steps=run.steps, batch_size=run.batch_size, seed=run.seed, progress=False,
                         eval_points=run.eval_points, histogram_every=run.steps, checkpoint_seconds=10 ** 9,
                         name="by_hand")
    history = train(lambda images, training: lenet5(images, training, init=run.init), splits,
                    lambda step, steps_per_epoch: tf.train.AdamOptimizer(run.learning_rate), config, logdir)
    atomic_write(Path(logdir) / "result.json", json.dumps({
        "test_accuracy": history.final_test_accuracy, "images_per_second": history.images_per_second,
        "steps": history.final_step}).encode())


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
