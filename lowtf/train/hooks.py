"""The trainer's policies, each a ``tf.train.SessionRunHook``: TensorFlow's own hook protocol.

A hook is asked before every step what to add to the step's ``Session.run`` (``before_run`` returns
``SessionRunArgs``: fetches, feeds, run options) and is handed the results after it (``after_run``);
``run_context.request_stop()`` ends the loop. That is how TF 1.x packaged its training loop
(``MonitoredTrainingSession`` + ``SessionRunHook``s; lesson 15 uses them), and how
``lowtf.train.trainer`` runs lesson 10's loop. TensorFlow's own hooks are used where they fit
(``StopAtStepHook``, ``NanTensorHook``, ``SummarySaverHook``: see ``trainer.py``); these are the
course's own:

- ``TrainCurve``: a train point every N steps, the mean of the steps since the last one;
- ``TestPoints``: the fixed test subset (and the validation split) every N steps;
- ``EarlyStopping`` on validation, ``StopAtAccuracy`` on the test points;
- ``Checkpoints`` every N steps or M seconds. TensorFlow's ``CheckpointSaverHook`` does not fit:
  it saves at the first step and writes an events file of its own into the checkpoint folder,
  which TensorBoard shows as one more run;
- ``TraceStep``: one step's run metadata for TensorBoard's graph (compute time, memory);
- ``OptimizedGraph``: the first step's optimized graphs, to count the ops in bfloat16;
- ``Progress``: the tqdm bar; ``CallEvery``: a ``Hook`` (filter snapshots, say) every N steps.

Every course hook reads the step from a shared ``Clock`` the loop advances, never from a
``global_step`` fetched beside the train op (which may be read before or after the increment).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Optional

import tensorflow.compat.v1 as tf
from tqdm import tqdm

from lowtf.train import precision as number_format
from lowtf.train.evaluation import Scorer, scalars


@dataclass
class Hook:
    """The course's simple hook: call ``fn(sess, step, params)`` every ``every`` steps (and once before
    the first step). The trainer runs it as a ``CallEvery`` SessionRunHook."""

    every: int
    fn: Callable

    def __call__(self, sess, step: int, params: dict) -> None:
        self.fn(sess, step, params)


@dataclass
class Clock:
    """The global step the loop has completed, and where the run started (a resumed run: not 0)."""
    step: int = 0
    start_step: int = 0


class TrainCurve(tf.train.SessionRunHook):
    """Every ``every`` steps: the mean loss and metrics since the last point, to TensorBoard and ``history``."""

    def __init__(self, clock: Clock, every: int, loss: tf.Tensor, metrics: dict, writer, history):
        self.clock, self.every, self.writer, self.history = clock, every, writer, history
        self.fetches = {"loss": loss, **metrics}
        self.sums, self.count = {name: 0.0 for name in self.fetches}, 0
        self.last = {}

    def before_run(self, run_context):
        return tf.train.SessionRunArgs(self.fetches)

    def after_run(self, run_context, run_values):
        self.last = {name: float(v) for name, v in run_values.results.items()}
        self.history.step_losses.append(self.last["loss"])
        self.sums = {name: self.sums[name] + self.last[name] for name in self.sums}
        self.count += 1
        if self.clock.step % self.every == 0:
            means = {name: value / self.count for name, value in self.sums.items()}
            self.writer.add_summary(scalars(**means), self.clock.step)
            self.history.steps.append(self.clock.step)
            self.history.loss.append(means["loss"])
            self.history.accuracy.append(means.get("accuracy", math.nan))
            self.history.train_metrics.append(means)
            self.sums, self.count = {name: 0.0 for name in self.sums}, 0


class TestPoints(tf.train.SessionRunHook):
    """Every ``every`` steps before the last: score the fixed test subset (and validation); the last
    step is scored on the whole test set by the trainer itself."""

    def __init__(self, clock: Clock, every: int, last_step: int, scorer: Scorer):
        self.clock, self.every, self.last_step, self.scorer = clock, every, last_step, scorer

    def after_run(self, run_context, run_values):
        if self.clock.step % self.every == 0 and self.clock.step < self.last_step:
            self.scorer.point(run_context.session, self.clock.step)


class EarlyStopping(tf.train.SessionRunHook):
    """Stop once ``patience`` test points in a row have not beaten the best validation accuracy
    (points made before the hook, the untrained step 0's, do not count)."""

    def __init__(self, history, patience: int):
        self.history, self.patience = history, patience
        self.seen, self.best, self.since_best = len(history.validation_accuracy), -math.inf, 0

    def after_run(self, run_context, run_values):
        scores = self.history.validation_accuracy
        if len(scores) == self.seen:
            return                                   # no new point this step
        self.seen = len(scores)
        self.best, self.since_best = (scores[-1], 0) if scores[-1] > self.best else (self.best, self.since_best + 1)
        if self.since_best >= self.patience:
            self.history.stopped_early = True
            run_context.request_stop()


class StopAtAccuracy(tf.train.SessionRunHook):
    """Stop after the first test point at or above ``target`` (the trainer's full-test-set score decides
    whether the run reached it)."""

    def __init__(self, history, target: float):
        self.history, self.target, self.seen = history, target, len(history.test_accuracy)

    def after_run(self, run_context, run_values):
        if len(self.history.test_accuracy) > self.seen:
            self.seen = len(self.history.test_accuracy)
            if self.history.test_accuracy[-1] >= self.target:
                run_context.request_stop()


class Checkpoints(tf.train.SessionRunHook):
    """Save every ``every_steps`` steps (if set) and at least every ``every_seconds``, and at the end."""

    def __init__(self, clock: Clock, saver: tf.train.Saver, prefix: str, every_steps: Optional[int],
                 every_seconds: float):
        self.clock, self.saver, self.prefix = clock, saver, prefix
        self.every_steps, self.every_seconds = every_steps, every_seconds
        self.last_save, self.path = time.perf_counter(), ""

    def after_run(self, run_context, run_values):
        if ((self.every_steps and self.clock.step % self.every_steps == 0)
                or time.perf_counter() - self.last_save > self.every_seconds):
            self.save(run_context.session)

    def end(self, session):
        self.save(session)            # whatever ended the run: Ctrl-C included

    def save(self, session) -> None:
        self.path = self.saver.save(session, self.prefix, global_step=self.clock.step)
        self.last_save = time.perf_counter()


class TraceStep(tf.train.SessionRunHook):
    """Trace step ``step`` in full: TensorBoard's Graph tab colours nodes by its compute time and memory."""

    def __init__(self, clock: Clock, step: int, writer):
        self.clock, self.step, self.writer = clock, step, writer

    def before_run(self, run_context):
        if self.clock.step + 1 == self.step:
            return tf.train.SessionRunArgs(None, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE))
        return None

    def after_run(self, run_context, run_values):
        if self.clock.step == self.step:
            self.writer.add_run_metadata(run_values.run_metadata, f"step{self.step}", self.step)


class OptimizedGraph(tf.train.SessionRunHook):
    """The first step's optimized graphs (after Grappler's rewrites): which ops compute in bfloat16."""

    def __init__(self, history):
        self.history, self.done = history, False

    def before_run(self, run_context):
        return None if self.done else tf.train.SessionRunArgs(None, options=tf.RunOptions(output_partition_graphs=True))

    def after_run(self, run_context, run_values):
        if not self.done:
            self.history.bfloat16_ops = number_format.bfloat16_ops(run_values.run_metadata)
            self.done = True


class Progress(tf.train.SessionRunHook):
    """A tqdm bar (off when stderr is not a terminal) with the last loss, accuracy and images/s."""

    def __init__(self, clock: Clock, total: int, name: str, batch_size: int, curve: TrainCurve, history,
                 enabled: bool = True):
        self.clock, self.curve, self.history, self.batch_size = clock, curve, history, batch_size
        self.bar = tqdm(total=total, initial=clock.step, desc=name or None, unit="step", dynamic_ncols=True,
                        disable=None if enabled else True)

    def after_run(self, run_context, run_values):
        if self.clock.step % 20 == 0 and not self.bar.disable:
            done = self.clock.step - self.clock.start_step
            shown = {"loss": f"{self.curve.last['loss']:.3f}"}
            if "accuracy" in self.curve.last:
                shown["acc"] = f"{self.curve.last['accuracy']:.3f}"
            rate = done * self.batch_size / max(self.history.train_seconds, 1e-9)
            self.bar.set_postfix(**shown, img_s=f"{rate:.0f}")
        self.bar.update(1)

    def end(self, session):
        self.bar.close()


class CallEvery(tf.train.SessionRunHook):
    """Run a course ``Hook`` once when the Session is ready, then every ``hook.every`` steps."""

    def __init__(self, clock: Clock, hook: Hook, params: dict):
        self.clock, self.hook, self.params = clock, hook, params

    def after_create_session(self, session, coord):
        self.hook(session, self.clock.step, self.params)

    def after_run(self, run_context, run_values):
        if self.clock.step % self.hook.every == 0:
            self.hook(run_context.session, self.clock.step, self.params)
