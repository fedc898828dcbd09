"""Scoring splits during a run: large batches through the evaluation reader, written for TensorBoard
and recorded in the run's ``History`` (lesson 10's ``evaluate`` and ``log_test``, packaged)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import tensorflow.compat.v1 as tf

from lowtf.data.splits import Split, Splits
from lowtf.train.pipeline import Inputs


def evaluate(sess: tf.Session, inputs: Inputs, sums: dict, split: Split) -> dict:
    """{"loss": mean, each metric: mean} over the whole ``split``; ``sums`` maps those names and
    "count" to per-batch sums."""
    handle = inputs.start_evaluation(sess, split)
    totals = {name: 0.0 for name in sums}
    while True:
        try:
            batch = sess.run(sums, {inputs.handle: handle})
        except tf.errors.OutOfRangeError:
            break
        totals = {name: totals[name] + float(batch[name]) for name in totals}
    count = totals.pop("count")
    return {name: value / count for name, value in totals.items()}


def scalars(**values: float) -> tf.Summary:
    """A Summary protocol buffer written straight from Python numbers."""
    return tf.Summary(value=[tf.Summary.Value(tag=k, simple_value=float(v)) for k, v in values.items()])


@dataclass
class Writers:
    """The run's FileWriters: ``logdir/train``, ``logdir/test`` and (with a validation split) ``logdir/validation``."""
    train: tf.summary.FileWriter
    test: tf.summary.FileWriter
    validation: Optional[tf.summary.FileWriter]

    def all(self) -> list:
        return [w for w in (self.train, self.test, self.validation) if w is not None]

    def close(self) -> None:
        for w in self.all():
            w.close()


@dataclass
class Scorer:
    """Scores the fixed test subset (every point of the curve uses the same images), the validation
    split, and at the end the whole test set; writes each score and records it in ``history``."""
    inputs: Inputs
    sums: dict               # "loss", each metric, "count" -> sums over a batch
    splits: Splits
    test_subset: Split
    writers: Writers
    history: object

    def score(self, sess, split: Split) -> dict:
        """{"loss": mean, each metric: mean} over ``split``, recorded nowhere."""
        return evaluate(sess, self.inputs, self.sums, split)

    def point(self, sess, step: int, train_point: bool = False) -> None:
        """A test point (and a validation point; and at step 0 a training point on as many images)."""
        self._record(sess, step, self.test_subset, train_point)

    def final(self, sess, step: int) -> None:
        """The end of the run: the curve's last point, on the same test subset as every other point (a
        curve that switched test sets at the end would jump), and the whole test set under tags of its
        own, ``full_test/accuracy`` and ``full_test/loss``: the run's result."""
        h = self.history
        if not (h.eval_steps and h.eval_steps[-1] == step):
            self._record(sess, step, self.test_subset, False)
        whole = len(self.test_subset) == len(self.splits.test)
        full = dict(h.test_metrics[-1]) if whole else self.score(sess, self.splits.test)
        self.writers.test.add_summary(scalars(**{f"full_test/{name}": v for name, v in full.items()}), step)
        self.writers.test.flush()
        h.final_test_metrics, h.test_images = full, len(self.splits.test)

    def _record(self, sess, step: int, test: Split, train_point: bool) -> None:
        scores = evaluate(sess, self.inputs, self.sums, test)
        self.writers.test.add_summary(scalars(**scores), step)
        self.writers.test.flush()
        validation = math.nan
        if self.writers.validation is not None:
            found = evaluate(sess, self.inputs, self.sums, self.splits.validation)
            self.writers.validation.add_summary(scalars(**found), step)
            validation = found.get("accuracy", -found["loss"])     # higher is better
        if train_point and self.splits.train is not None:
            self.writers.train.add_summary(
                scalars(**evaluate(sess, self.inputs, self.sums, self.splits.train.take(len(test)))), step)
        h = self.history
        h.eval_steps.append(step)
        h.test_accuracy.append(scores.get("accuracy", math.nan))
        h.test_loss.append(scores["loss"])
        h.test_metrics.append(scores)
        h.validation_accuracy.append(validation)
