"""The Session training loop.

``train(model_fn, splits, optimizer_fn, config, logdir)`` builds a fresh graph
(input pipeline -> model -> loss -> optimizer -> summaries -> Saver), then runs it:

- batches come from tf.data, not feed_dict; one feedable iterator switches between
  the training stream and single passes over the validation and test splits;
- ``logdir/train`` and ``logdir/test`` hold side-by-side events (loss and accuracy
  scalars, weight histograms, input and first-layer filter images);
- every ``eval_every`` steps the full validation and test splits are evaluated in
  large batches; early stopping watches validation accuracy;
- checkpoints in ``logdir/checkpoints`` carry ``global_step``; a new run resumes from
  the latest, and Ctrl-C saves one and closes the writers before returning;
- seeds fix the graph-level randomness and the data order, also across a resume;
- hooks run every N steps (filter snapshots for GIFs, say).

It returns a ``History`` of what happened, for plots and tests.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import tensorflow.compat.v1 as tf
from tqdm import tqdm

from lowtf.data.splits import Split, Splits
from lowtf.nn import training_flag
from lowtf.train.pipeline import make_inputs

ModelFn = Callable[[tf.Tensor, tf.Tensor], tuple]
OptimizerFn = Callable[[tf.Tensor, int], tf.train.Optimizer]


@dataclass
class TrainConfig:
    steps: int                          # stop at this global step
    batch_size: int = 128
    eval_every: int = 500               # steps between evaluations (and at the end)
    eval_batch_size: int = 500         # measured fastest for LeNet-5 on 2 cores (2000: 4,200 img/s, 500: 6,100)
    summary_every: int = 100            # loss/accuracy scalars
    histogram_every: int = 500          # weight histograms and filter images (costlier)
    checkpoint_every: int = 1000
    max_to_keep: int = 3
    seed: int = 0
    patience: Optional[int] = None      # evaluations without a better validation accuracy
    target_accuracy: Optional[float] = None  # stop after an evaluation reaching this test accuracy
    resume: bool = True
    progress: bool = True
    threads: int = 0                    # intra/inter-op threads; 0 = TensorFlow's choice
    augment: Optional[Callable] = None  # (images, labels) -> (images, labels) on float batches
    warm_start: Optional[str] = None    # checkpoint to copy model Variables from before step 1
    warm_start_vars: Optional[Sequence[str]] = None  # name prefixes to copy (None: all the model's)
    train_only: Optional[Sequence[str]] = None       # name prefixes the optimizer may change (None: all)


@dataclass
class History:
    steps: list = field(default_factory=list)            # train points (every summary_every)
    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    eval_steps: list = field(default_factory=list)
    validation_accuracy: list = field(default_factory=list)
    test_accuracy: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    start_step: int = 0
    final_step: int = 0
    train_seconds: float = 0.0       # time inside training steps only
    seconds: float = 0.0             # wall time of the whole run, evaluations included
    first_step_seconds: float = 0.0  # the first step also optimises the graph and sets up kernels
    images_per_second: float = 0.0   # steady state: the first step left out
    stopped_early: bool = False
    reached_target: bool = False
    interrupted: bool = False

    @property
    def final_test_accuracy(self) -> float:
        return self.test_accuracy[-1] if self.test_accuracy else float("nan")

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))


@dataclass
class _Graph:
    graph: tf.Graph
    inputs: object
    training: tf.Tensor
    params: dict
    loss: tf.Tensor
    accuracy: tf.Tensor
    eval_sums: tuple
    global_step: tf.Tensor
    train_op: tf.Operation
    scalar_summary: tf.Tensor
    detail_summary: tf.Tensor
    saver: tf.train.Saver


def _filter_images(params: dict) -> list:
    """Image summaries of single-channel conv kernels [k, k, 1, out] -> out images [k, k, 1]."""
    out = []
    for name, v in params.items():
        if len(v.shape) == 4 and int(v.shape[2]) == 1:
            kernels = tf.transpose(v, [3, 0, 1, 2])
            lo = tf.reduce_min(kernels, axis=[1, 2, 3], keepdims=True)
            hi = tf.reduce_max(kernels, axis=[1, 2, 3], keepdims=True)
            out.append(tf.summary.image(name.replace("/", "_"), (kernels - lo) / (hi - lo + 1e-8), max_outputs=8))
    return out


def build_graph(model_fn: ModelFn, image_shape: tuple, optimizer_fn: OptimizerFn, steps_per_epoch: int,
                config: TrainConfig) -> _Graph:
    """Everything the loop runs, in a new graph."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(config.seed)
        inputs = make_inputs(image_shape, config.batch_size, config.eval_batch_size, config.seed, config.augment)
        training = training_flag()
        logits, params = model_fn(inputs.images, training)
        # Scope names differ from the summary names, so the tags stay "loss" and
        # "accuracy" (a taken name gets a _1 suffix) and match the test writer's tags.
        with tf.name_scope("cross_entropy"):
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=inputs.labels, logits=logits)
            loss = tf.reduce_mean(losses)
        with tf.name_scope("metrics"):
            correct = tf.cast(tf.equal(tf.argmax(logits, 1), inputs.labels), tf.float32)
            accuracy = tf.reduce_mean(correct)
            eval_sums = (tf.reduce_sum(correct), tf.reduce_sum(losses), tf.size(correct))
        global_step = tf.train.get_or_create_global_step()
        var_list = None
        if config.train_only is not None:
            # Freezing = leaving Variables out of the optimizer's var_list: no update op is built for them.
            var_list = [v for n, v in params.items() if n.startswith(tuple(config.train_only))]
            if not var_list:
                raise ValueError(f"train_only {list(config.train_only)} matches none of {list(params)}")
        with tf.name_scope("train"):
            train_op = optimizer_fn(global_step, steps_per_epoch).minimize(loss, global_step=global_step,
                                                                           var_list=var_list)
        scalar_summary = tf.summary.merge([tf.summary.scalar("loss", loss), tf.summary.scalar("accuracy", accuracy)])
        details = [tf.summary.histogram(f"params/{name}", v) for name, v in params.items()]
        details += _filter_images(params)
        details.append(tf.summary.image("inputs", inputs.images, max_outputs=4))
        detail_summary = tf.summary.merge(details)
        saver = tf.train.Saver(max_to_keep=config.max_to_keep)
    return _Graph(graph, inputs, training, params, loss, accuracy, eval_sums, global_step, train_op,
                  scalar_summary, detail_summary, saver)


def evaluate(sess: tf.Session, g: _Graph, split: Split) -> tuple[float, float]:
    """(accuracy, mean loss) over the whole split, in large batches."""
    feed = {g.inputs.eval_feed["images"]: split.images, g.inputs.eval_feed["labels"]: split.labels}
    sess.run(g.inputs.eval_iterator.initializer, feed)
    handle = sess.run(g.inputs.eval_iterator.string_handle())
    correct = loss = count = 0.0
    while True:
        try:
            c, l, n = sess.run(g.eval_sums, {g.inputs.handle: handle})
        except tf.errors.OutOfRangeError:
            break
        correct, loss, count = correct + c, loss + l, count + n
    return correct / count, loss / count


def _scalars(**values: float) -> tf.Summary:
    return tf.Summary(value=[tf.Summary.Value(tag=k, simple_value=float(v)) for k, v in values.items()])


def train(model_fn: ModelFn, splits: Splits, optimizer_fn: OptimizerFn, config: TrainConfig,
          logdir: str | Path, hooks: Sequence = ()) -> History:
    """Train ``model_fn`` on ``splits`` until ``config.steps`` (or early stop, or Ctrl-C)."""
    logdir = Path(logdir)
    ckpt_dir = logdir / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    steps_per_epoch = max(1, len(splits.train) // config.batch_size)
    g = build_graph(model_fn, splits.train.images.shape[1:], optimizer_fn, steps_per_epoch, config)
    history = History()
    session_config = tf.ConfigProto(intra_op_parallelism_threads=config.threads,
                                    inter_op_parallelism_threads=config.threads)
    started = time.perf_counter()
    with tf.Session(graph=g.graph, config=session_config) as sess:
        sess.run(tf.variables_initializer(g.graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)))
        latest = tf.train.latest_checkpoint(str(ckpt_dir)) if config.resume else None
        if latest:
            g.saver.restore(sess, latest)
        elif config.warm_start:
            names = [n for n in g.params if config.warm_start_vars is None or n.startswith(tuple(config.warm_start_vars))]
            tf.train.Saver(var_list={n: g.params[n] for n in names}).restore(sess, config.warm_start)
        step = history.start_step = int(sess.run(g.global_step))
        sess.run(g.inputs.train_iterator.initializer, {
            g.inputs.train_feed["images"]: splits.train.images,
            g.inputs.train_feed["labels"]: splits.train.labels,
            g.inputs.train_feed["skip"]: step})
        train_handle = sess.run(g.inputs.train_iterator.string_handle())
        train_writer = tf.summary.FileWriter(str(logdir / "train"), g.graph)
        test_writer = tf.summary.FileWriter(str(logdir / "test"))
        feed = {g.inputs.handle: train_handle, g.training: True}
        best, evals_since_best = -1.0, 0
        # disable=None: tqdm switches itself off when stderr is not a terminal (logs, CI).
        bar = tqdm(total=config.steps, initial=step, disable=None if config.progress else True, unit="step",
                   dynamic_ncols=True, leave=False)
        for hook in hooks:
            hook(sess, step, g.params)
        try:
            while step < config.steps:
                fetches = {"train": g.train_op, "loss": g.loss, "accuracy": g.accuracy}
                if (step + 1) % config.summary_every == 0:
                    fetches["scalars"] = g.scalar_summary
                if (step + 1) % config.histogram_every == 0:
                    fetches["details"] = g.detail_summary
                t0 = time.perf_counter()
                out = sess.run(fetches, feed)
                seconds = time.perf_counter() - t0
                history.train_seconds += seconds
                if step == history.start_step:
                    history.first_step_seconds = seconds
                step += 1
                if "scalars" in out:
                    train_writer.add_summary(out["scalars"], step)
                    history.steps.append(step)
                    history.loss.append(float(out["loss"]))
                    history.accuracy.append(float(out["accuracy"]))
                if "details" in out:
                    train_writer.add_summary(out["details"], step)
                for hook in hooks:
                    if step % hook.every == 0:
                        hook(sess, step, g.params)
                if step % 20 == 0 and config.progress:
                    rate = (step - history.start_step) * config.batch_size / max(history.train_seconds, 1e-9)
                    bar.set_postfix(loss=f"{out['loss']:.3f}", acc=f"{out['accuracy']:.3f}", img_s=f"{rate:.0f}")
                bar.update(1)
                if step % config.checkpoint_every == 0:
                    g.saver.save(sess, str(ckpt_dir / "model"), global_step=step)
                if step % config.eval_every == 0 or step == config.steps:
                    improved = _evaluate_and_log(sess, g, splits, step, history, test_writer)
                    if improved is not None:
                        best, evals_since_best = (improved, 0) if improved > best else (best, evals_since_best + 1)
                    if config.patience is not None and evals_since_best >= config.patience:
                        history.stopped_early = True
                        break
                    if config.target_accuracy is not None and history.test_accuracy[-1] >= config.target_accuracy:
                        history.reached_target = True
                        break
        except KeyboardInterrupt:
            history.interrupted = True
        finally:
            bar.close()
            g.saver.save(sess, str(ckpt_dir / "model"), global_step=step)
            if not history.eval_steps or history.eval_steps[-1] != step:
                if not history.interrupted:
                    _evaluate_and_log(sess, g, splits, step, history, test_writer)
            train_writer.close()
            test_writer.close()
    history.final_step = step
    history.seconds = time.perf_counter() - started
    done = step - history.start_step
    steady_seconds = history.train_seconds - history.first_step_seconds
    history.images_per_second = (done - 1) * config.batch_size / steady_seconds if done > 1 else 0.0
    history.save(logdir / "history.json")
    return history


def _evaluate_and_log(sess, g: _Graph, splits: Splits, step: int, history: History, writer):
    """Evaluate test (and validation), log to the test writer; return the validation accuracy."""
    test_acc, test_loss = evaluate(sess, g, splits.test)
    values = {"accuracy": test_acc, "loss": test_loss}
    val_acc = None
    if splits.validation is not None and len(splits.validation):
        val_acc, _ = evaluate(sess, g, splits.validation)
        values["validation_accuracy"] = val_acc
    writer.add_summary(_scalars(**values), step)
    writer.flush()
    history.eval_steps.append(step)
    history.test_accuracy.append(test_acc)
    history.test_loss.append(test_loss)
    history.validation_accuracy.append(val_acc if val_acc is not None else math.nan)
    return val_acc if val_acc is not None else test_acc
