"""What a training run is asked to do (``TrainConfig``) and what it did (``History``)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from lowtf.errors import CourseError


@dataclass
class TrainConfig:
    steps: int                          # stop at this global step
    batch_size: Optional[int] = None    # None: 128 from arrays; a train_data dataset's own batch size
    eval_every: Optional[int] = None    # steps between test points; None: steps // eval_points
    eval_points: int = 20               # test points in a run when eval_every is None (curves need points)
    eval_subset: Optional[int] = 2000   # test images scored at every point (None: all); the end uses all
    eval_batch_size: int = 500          # measured fastest for LeNet-5 on 2 cores (2000: 4,200 img/s, 500: 6,100)
    summary_every: Optional[int] = None  # train-curve points (mean since the last one); None: steps // 50
    histogram_every: Optional[int] = None  # weight histograms and filter images; None: steps // 10
    checkpoint_every: Optional[int] = None   # steps between checkpoints (besides the time rule below)
    checkpoint_seconds: float = 60.0    # a checkpoint at least this often: a killed run loses at most a minute
    max_to_keep: int = 3
    seed: int = 0
    patience: Optional[int] = None      # test points without a better validation accuracy (needs a validation split)
    target_accuracy: Optional[float] = None  # stop after a test point reaching this accuracy
    resume: bool = False                # continue from logdir/checkpoints (only when asked)
    progress: bool = True
    name: str = ""                      # shown on the progress bar and the final line
    trace_step: Optional[int] = 2       # write this step's run metadata (compute time, memory) for TensorBoard
    warm_start: Optional[str] = None    # checkpoint to copy model Variables from before step 1
    warm_start_vars: Optional[Sequence[str]] = None  # name prefixes to copy (None: all the model's)
    train_only: Optional[Sequence[str]] = None       # name prefixes the optimizer may change (None: all)
    precision: str = "float32"          # "float32", "bfloat16" or "auto" (lowtf.train.precision.choose)

    def every(self) -> tuple[int, int, int]:
        """(eval_every, summary_every, histogram_every) with the defaults filled in."""
        return (self.eval_every or max(1, self.steps // self.eval_points),
                self.summary_every or max(1, self.steps // 50),
                self.histogram_every or max(1, self.steps // 10))


class CheckpointMismatch(CourseError, ValueError):
    """The checkpoint to resume from does not fit the model being trained."""


@dataclass
class History:
    """What a run did, step by step: what the plots (``lowtf.viz.plots.training_curves``) draw."""
    steps: list = field(default_factory=list)            # train points (every summary_every)
    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    train_metrics: list = field(default_factory=list)    # {"loss": ..., each metric: ...} per train point
    eval_steps: list = field(default_factory=list)      # test points: the fixed test subset (eval_subset)
    validation_accuracy: list = field(default_factory=list)
    test_accuracy: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    test_metrics: list = field(default_factory=list)     # {"loss": ..., each metric: ...} per evaluation
    final_test_metrics: dict = field(default_factory=dict)  # the whole test set at the end: the run's result
    test_images: int = 0                                 # how many images that was
    step_losses: list = field(default_factory=list)      # every step's batch loss
    start_step: int = 0
    final_step: int = 0
    batch_size: int = 0
    train_seconds: float = 0.0       # time inside training steps only
    seconds: float = 0.0             # wall time of the whole run, evaluations included
    first_step_seconds: float = 0.0  # the first step also optimises the graph and sets up kernels
    images_per_second: float = 0.0   # steady state: the first step left out
    logdir: str = ""                 # where the events, history.json and checkpoints/ are
    checkpoint: str = ""             # the checkpoint saved at the end (a path prefix for Saver.restore)
    stopped_early: bool = False
    reached_target: bool = False
    interrupted: bool = False
    precision: str = "float32"       # what the Session computed in
    precision_reason: str = ""       # why (lowtf.train.precision.Choice)
    bfloat16_ops: dict = field(default_factory=dict)  # {op type: count} computing in bfloat16 (optimized graph)
    low_precision_test_accuracy: Optional[float] = None  # the final weights scored in bfloat16, beside float32's

    @property
    def final_test_accuracy(self) -> float:
        """Accuracy on the whole test set at the end (NaN for an interrupted run, which has no end)."""
        return self.final_test_metrics.get("accuracy", float("nan"))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))
