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
- hooks run every N steps (filter snapshots for GIFs, say);
- ``precision`` "bfloat16" (or "auto", see ``lowtf.train.precision``) turns on Grappler's
  bfloat16 rewrite; the final evaluation then runs the saved weights in float32.

It returns a ``History`` of what happened, for plots and tests.
"""
from __future__ import annotations

import json
import math
import shutil
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import tensorflow.compat.v1 as tf
from tqdm import tqdm

from lowtf.data.splits import Split, Splits
from lowtf.nn import training_flag
from lowtf.train import precision as number_format
from lowtf.train.objectives import ObjectiveFn, classification
from lowtf.train.pipeline import make_inputs

ModelFn = Callable[[tf.Tensor, tf.Tensor], tuple]
OptimizerFn = Callable[[tf.Tensor, int], tf.train.Optimizer]


@dataclass
class TrainConfig:
    steps: int                          # stop at this global step
    batch_size: int = 128
    eval_every: Optional[int] = None    # steps between test evaluations; None: steps // eval_points
    eval_points: int = 20               # evaluations in a run when eval_every is None (curves need points)
    eval_subset: Optional[int] = 2000   # test images scored during training (None: all); the end uses all
    eval_batch_size: int = 500         # measured fastest for LeNet-5 on 2 cores (2000: 4,200 img/s, 500: 6,100)
    summary_every: Optional[int] = None  # train-curve points (mean since the last one); None: steps // 50
    histogram_every: Optional[int] = None  # weight histograms and filter images; None: steps // 10
    checkpoint_every: Optional[int] = None   # steps between checkpoints (besides the time rule below)
    checkpoint_seconds: float = 60.0    # a checkpoint at least this often: a killed run loses at most a minute
    max_to_keep: int = 3
    seed: int = 0
    patience: Optional[int] = None      # evaluations without a better validation accuracy (needs a validation split)
    target_accuracy: Optional[float] = None  # stop after an evaluation reaching this test accuracy
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


class CheckpointMismatch(ValueError):
    """The checkpoint to resume from does not fit the model being trained."""


@dataclass
class History:
    steps: list = field(default_factory=list)            # train points (every summary_every)
    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    train_metrics: list = field(default_factory=list)    # {"loss": ..., each metric: ...} per train point
    eval_steps: list = field(default_factory=list)
    validation_accuracy: list = field(default_factory=list)
    test_accuracy: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    test_metrics: list = field(default_factory=list)     # {"loss": ..., each metric: ...} per evaluation
    start_step: int = 0
    final_step: int = 0
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
        return self.test_accuracy[-1] if self.test_accuracy else float("nan")

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))


@dataclass
class _Graph:
    graph: tf.Graph
    inputs: object
    training: tf.Tensor
    params: dict
    loss: tf.Tensor                        # the batch mean, minimised
    metrics: dict                          # name -> batch mean
    eval_sums: dict                        # "loss", each metric, "count" -> sums over a batch
    global_step: tf.Tensor
    train_op: tf.Operation
    graph_summaries: Optional[tf.Tensor]   # what the model and optimizer defined (the learning rate, say)
    param_summary: tf.Tensor               # weight histograms and first-layer filter images
    detail_summary: tf.Tensor              # those and a few input images
    saver: tf.train.Saver


def _filter_images(params: dict) -> list:
    """Image summaries of single-channel conv kernels [k, k, 1, out] -> out images [k, k, 1]."""
    out = []
    for name, v in params.items():
        if len(v.shape) == 4 and int(v.shape[2]) == 1:
            kernels = tf.transpose(v, [3, 0, 1, 2])
            lo = tf.reduce_min(kernels, axis=[1, 2, 3], keepdims=True)
            hi = tf.reduce_max(kernels, axis=[1, 2, 3], keepdims=True)
            out.append(tf.summary.image(name.replace("/", "_"), (kernels - lo) / (hi - lo + 1e-8),
                                        max_outputs=int(v.shape[3])))
    return out


def build_graph(model_fn: ModelFn, image_shape: tuple, optimizer_fn: OptimizerFn, steps_per_epoch: Optional[int],
                config: TrainConfig, objective: ObjectiveFn = classification,
                train_data: Optional[Callable[[], tf.data.Dataset]] = None) -> _Graph:
    """Everything the loop runs, in a new graph: the graph lesson 10 builds by hand, in the same order
    (seed, input pipeline, training flag, model), so the same seed gives the same numbers."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(config.seed)
        inputs = make_inputs(image_shape, config.batch_size, config.eval_batch_size, config.seed, train_data)
        training = training_flag()
        outputs, params = model_fn(inputs.images, training)
        scored = objective(outputs, inputs.labels)
        loss = tf.reduce_mean(scored.losses)
        metrics = {name: tf.reduce_mean(value) for name, value in scored.metrics.items()}
        eval_sums = {"loss": tf.reduce_sum(scored.losses), "count": tf.size(scored.losses),
                     **{name: tf.reduce_sum(value) for name, value in scored.metrics.items()}}
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
        # merge_all, not merge of our own list: summaries the model or the optimizer defined
        # (a learning-rate schedule's) are written too. Loss and accuracy are written as
        # means over the steps since the last point, so they are not graph summaries.
        graph_summaries = tf.summary.merge_all()
        # Summary tags carry their op's scope, so these stay outside one: "params/...", "inputs".
        weights = [tf.summary.histogram(f"params/{name}", v) for name, v in params.items()]
        weights += _filter_images(params)
        param_summary = tf.summary.merge(weights)
        # The input images come from the training stream: fetched only with a training step.
        detail_summary = tf.summary.merge([param_summary, tf.summary.image("inputs", inputs.images, max_outputs=4)])
        saver = tf.train.Saver(max_to_keep=config.max_to_keep)
    return _Graph(graph, inputs, training, params, loss, metrics, eval_sums, global_step, train_op,
                  graph_summaries, param_summary, detail_summary, saver)


def evaluate(sess: tf.Session, g: _Graph, split: Split) -> dict:
    """{"loss": mean, each metric: mean} over the whole split, in large batches."""
    feed = {g.inputs.eval_feed["images"]: split.images, g.inputs.eval_feed["labels"]: split.labels}
    sess.run(g.inputs.eval_iterator.initializer, feed)
    handle = sess.run(g.inputs.eval_iterator.string_handle())
    totals = {name: 0.0 for name in g.eval_sums}
    while True:
        try:
            sums = sess.run(g.eval_sums, {g.inputs.handle: handle})
        except tf.errors.OutOfRangeError:
            break
        totals = {name: totals[name] + float(sums[name]) for name in totals}
    count = totals.pop("count")
    return {name: value / count for name, value in totals.items()}


def _scalars(**values: float) -> tf.Summary:
    return tf.Summary(value=[tf.Summary.Value(tag=k, simple_value=float(v)) for k, v in values.items()])


@dataclass
class _Writers:
    train: tf.summary.FileWriter
    test: tf.summary.FileWriter
    validation: Optional[tf.summary.FileWriter]

    def close(self) -> None:
        for w in (self.train, self.test, self.validation):
            if w is not None:
                w.close()


def train(model_fn: ModelFn, splits: Splits, optimizer_fn: OptimizerFn, config: TrainConfig,
          logdir: str | Path, hooks: Sequence = (), objective: ObjectiveFn = classification,
          train_data: Optional[Callable[[], tf.data.Dataset]] = None) -> History:
    """Train ``model_fn`` on ``splits`` until ``config.steps`` (or an early stop); the loop of lesson 10, packaged.

    ``model_fn(images, training) -> (outputs, params)``; ``objective(outputs, labels)`` says what
    to minimise and report (default: softmax cross-entropy and accuracy). Training batches come
    from ``splits.train`` or, if given, ``train_data()``: a tf.data.Dataset of batches of float32
    images in [0, 1] and int64 labels, repeated (a TFRecord stream, say); evaluation reads the
    validation and test arrays. Ctrl-C saves a checkpoint, closes the writers and re-raises
    KeyboardInterrupt: an interrupted run is never reported as a finished one.
    """
    logdir = Path(logdir)
    ckpt_dir = logdir / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    has_validation = splits.validation is not None and len(splits.validation) > 0
    if config.patience is not None and not has_validation:
        raise ValueError("early stopping (patience) watches the validation split, and these splits have none: "
                         "load them with a validation_size, or leave patience unset")
    eval_every, summary_every, histogram_every = config.every()
    if train_data is None and splits.train is None:
        raise ValueError("nothing to train on: give splits.train arrays or a train_data dataset factory")
    steps_per_epoch = max(1, len(splits.train) // config.batch_size) if splits.train is not None else None
    g = build_graph(model_fn, splits.test.images.shape[1:], optimizer_fn, steps_per_epoch, config, objective,
                    train_data)
    choice = number_format.choose(config.precision)
    history = History(precision=choice.precision, precision_reason=choice.reason)
    started = time.perf_counter()
    with tf.Session(graph=g.graph, config=number_format.session_config(choice.precision)) as sess:
        # --- start: initialise, or restore a checkpoint (only when asked), or copy weights in
        step = history.start_step = _start(sess, g, splits, config, ckpt_dir)
        writers = _Writers(tf.summary.FileWriter(str(logdir / "train"), g.graph),
                           tf.summary.FileWriter(str(logdir / "test")),
                           tf.summary.FileWriter(str(logdir / "validation")) if has_validation else None)
        test_subset = splits.test if config.eval_subset is None else splits.test.take(config.eval_subset)
        if step == 0:   # every curve and histogram starts at step 0, before any training
            _log_evaluation(sess, g, splits, test_subset, 0, history, writers, train_point=True)
            writers.train.add_summary(sess.run(g.param_summary), 0)
        else:           # resumed: TensorBoard drops what a killed run wrote after this step
            for writer in (writers.train, writers.test, writers.validation):
                if writer is not None:
                    writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START), step)
        for hook in hooks:
            hook(sess, step, g.params)
        bar = tqdm(total=config.steps, initial=step, desc=config.name or None, unit="step", dynamic_ncols=True,
                   disable=None if config.progress else True)  # None: off when stderr is not a terminal
        best, evals_since_best, count = -1.0, 0, 0
        sums = {name: 0.0 for name in ("loss", *g.metrics)}
        last_save = time.perf_counter()
        feed = {g.inputs.handle: sess.run(g.inputs.train_iterator.string_handle()), g.training: True}
        try:
            while step < config.steps:
                # --- one training step (traced once, for TensorBoard's compute-time view)
                fetches = {"train": g.train_op, "loss": g.loss, "metrics": g.metrics}
                if (step + 1) % histogram_every == 0:
                    fetches["details"] = g.detail_summary
                if g.graph_summaries is not None and (step + 1) % summary_every == 0:
                    fetches["graph"] = g.graph_summaries
                trace, first = step + 1 == config.trace_step, step == history.start_step
                # The first step also returns the optimized graphs: which ops the rewrite made bfloat16.
                options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE if trace else tf.RunOptions.NO_TRACE,
                                        output_partition_graphs=first) if trace or first else None
                metadata = tf.RunMetadata() if options else None
                t0 = time.perf_counter()
                out = sess.run(fetches, feed, options=options, run_metadata=metadata)
                seconds = time.perf_counter() - t0
                history.train_seconds += seconds
                if first:
                    history.first_step_seconds = seconds
                    history.bfloat16_ops = number_format.bfloat16_ops(metadata)
                step += 1
                batch = {"loss": out["loss"], **out["metrics"]}
                sums, count = {name: sums[name] + float(batch[name]) for name in sums}, count + 1
                if trace:
                    writers.train.add_run_metadata(metadata, f"step{step}", step)
                # --- train-curve points: the mean over the steps since the last point
                if step % summary_every == 0:
                    means = {name: value / count for name, value in sums.items()}
                    writers.train.add_summary(_scalars(**means), step)
                    history.steps.append(step)
                    history.loss.append(means["loss"])
                    history.accuracy.append(means.get("accuracy", math.nan))
                    history.train_metrics.append(means)
                    sums, count = {name: 0.0 for name in sums}, 0
                for key in ("details", "graph"):
                    if key in out:
                        writers.train.add_summary(out[key], step)
                for hook in hooks:
                    if step % hook.every == 0:
                        hook(sess, step, g.params)
                _show_progress(bar, batch, step, history, config)
                if ((config.checkpoint_every and step % config.checkpoint_every == 0)
                        or time.perf_counter() - last_save > config.checkpoint_seconds):
                    g.saver.save(sess, str(ckpt_dir / "model"), global_step=step)
                    last_save = time.perf_counter()
                # --- evaluate: a test subset during the run, the whole test set at the end
                if step % eval_every == 0 and step < config.steps:
                    val_acc = _log_evaluation(sess, g, splits, test_subset, step, history, writers)
                    if val_acc is not None:
                        best, evals_since_best = (val_acc, 0) if val_acc > best else (best, evals_since_best + 1)
                    if config.patience is not None and evals_since_best >= config.patience:
                        history.stopped_early = True
                        break
                    if config.target_accuracy is not None and history.test_accuracy[-1] >= config.target_accuracy:
                        history.reached_target = True
                        break
        except KeyboardInterrupt:
            history.interrupted = True
        finally:
            # --- finish: a checkpoint whatever happened; the full test set unless interrupted
            bar.close()
            history.checkpoint = g.saver.save(sess, str(ckpt_dir / "model"), global_step=step)
            if not history.interrupted:
                _final_evaluation(sess, g, splits, step, history, writers)
            writers.close()
    if config.target_accuracy is not None and not history.interrupted:
        history.reached_target = history.final_test_accuracy >= config.target_accuracy   # the full test set decides
    history.final_step, history.logdir = step, str(logdir)
    history.seconds = time.perf_counter() - started
    done = step - history.start_step
    steady_seconds = history.train_seconds - history.first_step_seconds
    history.images_per_second = (done - 1) * config.batch_size / steady_seconds if done > 1 else 0.0
    history.save(logdir / "history.json")
    if history.interrupted:
        raise KeyboardInterrupt
    if config.progress:
        _final_line(history, config)
    return history


def _start(sess: tf.Session, g: _Graph, splits: Splits, config: TrainConfig, ckpt_dir: Path) -> int:
    """Initialise the Variables, restore or warm-start them, feed the training pipeline; return the step."""
    sess.run(tf.variables_initializer(g.graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)))
    state = tf.train.get_checkpoint_state(str(ckpt_dir)) if config.resume else None
    if state and state.model_checkpoint_path:
        # The Saver forgets older checkpoints when a process ends; telling it about them keeps
        # max_to_keep true across restarts (otherwise each restart leaves its checkpoints behind).
        g.saver.recover_last_checkpoints(list(state.all_model_checkpoint_paths))
        try:
            g.saver.restore(sess, state.model_checkpoint_path)
        except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError) as e:
            first = str(e).strip().splitlines()[0][:300]
            raise CheckpointMismatch(
                f"cannot resume from {state.model_checkpoint_path}: it was written by a different model "
                f"({first}). Train into a new logdir, or leave resume off to start afresh.") from None
    elif config.warm_start:
        names = [n for n in g.params if config.warm_start_vars is None or n.startswith(tuple(config.warm_start_vars))]
        tf.train.Saver(var_list={n: g.params[n] for n in names}).restore(sess, config.warm_start)
    step = int(sess.run(g.global_step))
    feed = {g.inputs.train_feed["skip"]: step}
    if "images" in g.inputs.train_feed:
        feed.update({g.inputs.train_feed["images"]: splits.train.images,
                     g.inputs.train_feed["labels"]: splits.train.labels})
    sess.run(g.inputs.train_iterator.initializer, feed)
    return step


def _log_evaluation(sess, g: _Graph, splits: Splits, test: Split, step: int, history: History, writers: _Writers,
                    train_point: bool = False, full: bool = False) -> Optional[float]:
    """Score the test images (and validation; and a training subset at step 0); write and record them.
    Returns the validation accuracy, or None without a validation split."""
    if full and history.eval_steps and history.eval_steps[-1] == step:
        for values in (history.eval_steps, history.test_accuracy, history.test_loss, history.test_metrics,
                       history.validation_accuracy):
            values.pop()   # the last evaluation was a subset at this very step: the full one replaces it
    scores = evaluate(sess, g, test)
    writers.test.add_summary(_scalars(**scores), step)
    writers.test.flush()
    val_acc = None
    if writers.validation is not None:
        validation = evaluate(sess, g, splits.validation)
        writers.validation.add_summary(_scalars(**validation), step)
        val_acc = validation.get("accuracy", -validation["loss"])   # higher is better
    if train_point and splits.train is not None:
        writers.train.add_summary(_scalars(**evaluate(sess, g, splits.train.take(len(test)))), step)
    history.eval_steps.append(step)
    history.test_accuracy.append(scores.get("accuracy", math.nan))
    history.test_loss.append(scores["loss"])
    history.test_metrics.append(scores)
    history.validation_accuracy.append(val_acc if val_acc is not None else math.nan)
    return val_acc


def _final_evaluation(sess, g: _Graph, splits: Splits, step: int, history: History, writers: _Writers) -> None:
    """The whole test set, in float32 whatever the run computed in: bfloat16 runs are scored
    twice, in bfloat16 (recorded beside) and with the saved weights restored into a float32 Session."""
    if history.precision == "float32":
        _log_evaluation(sess, g, splits, splits.test, step, history, writers, full=True)
        return
    history.low_precision_test_accuracy = evaluate(sess, g, splits.test).get("accuracy")
    with tf.Session(graph=g.graph, config=number_format.session_config("float32")) as exact:
        g.saver.restore(exact, history.checkpoint)
        _log_evaluation(exact, g, splits, splits.test, step, history, writers, full=True)


def _show_progress(bar, batch: dict, step: int, history: History, config: TrainConfig) -> None:
    if step % 20 == 0 and not bar.disable:
        rate = (step - history.start_step) * config.batch_size / max(history.train_seconds, 1e-9)
        shown = {"loss": f"{batch['loss']:.3f}"}
        if "accuracy" in batch:
            shown["acc"] = f"{batch['accuracy']:.3f}"
        bar.set_postfix(**shown, img_s=f"{rate:.0f}")
    bar.update(1)


def _final_line(h: History, config: TrainConfig) -> None:
    """One line that stays on screen after the bar: what the run did, in numbers."""
    loss = f"train loss {h.loss[-1]:.3f}, " if h.loss else ""
    number = "" if h.precision == "float32" else f" in bfloat16 ({sum(h.bfloat16_ops.values())} ops)"
    line = (f"{config.name or 'training'}: {h.final_step} steps{number}, {loss}test accuracy "
            f"{h.final_test_accuracy:.4f}, {h.images_per_second:,.0f} img/s training "
            f"(+{h.seconds - h.train_seconds:.1f} s evaluating and saving)")
    print(textwrap.fill(line, shutil.get_terminal_size().columns - 1, initial_indent="   ", subsequent_indent="      "))
