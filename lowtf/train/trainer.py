"""Lesson 10's Session training loop, packaged: the loop, with every policy a SessionRunHook.

``train(model_fn, splits, optimizer_fn, config, logdir)`` builds a fresh graph (input pipeline ->
model -> loss -> optimizer -> summaries -> Saver, in lesson 10's order, so the same seed gives the
same numbers), starts a Session (fresh, restored when asked, or warm-started), and runs
``sess.run(train_op)`` with the hooks' fetches merged in, as ``MonitoredSession`` does:

| what lesson 10 writes out              | hook here (``lowtf.train.hooks``)              |
|----------------------------------------|------------------------------------------------|
| ``for step in range(start, steps)``    | ``tf.train.StopAtStepHook`` (TensorFlow's)     |
| a train point: mean since the last one | ``TrainCurve``                                 |
| ``merge_all`` (learning rate) at points| ``tf.train.SummarySaverHook`` (TensorFlow's)   |
| histograms every 10 points             | ``tf.train.SummarySaverHook`` (TensorFlow's)   |
| a test point on the fixed subset       | ``TestPoints`` (+ ``EarlyStopping``, ``StopAtAccuracy``) |
| a checkpoint every minute              | ``Checkpoints``                                |
| step 2 traced for TensorBoard          | ``TraceStep``                                  |
| filter snapshots                       | ``CallEvery`` (a course ``Hook``)              |
| the tqdm bar                           | ``Progress``                                   |
| (not in lesson 10) a NaN loss stops    | ``tf.train.NanTensorHook`` (TensorFlow's)      |

A plain loop, not ``MonitoredSession``: it restores only when asked (MonitoredTrainingSession
restores whatever its folder holds), marks a resumed run with ``SessionLog.START`` so TensorBoard
drops what the killed run wrote after the checkpoint, and on Ctrl-C still runs the hooks' ``end``
(the checkpoint) before re-raising, where ``MonitoredSession`` skips it on an exception. The run
ends with the whole test set, in float32 whatever the run computed in. Returns a ``History``.
"""
from __future__ import annotations

import inspect
import shutil
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import tensorflow.compat.v1 as tf

from lowtf.data.splits import Splits
from lowtf.nn import training_flag
from lowtf.train import hooks as policy
from lowtf.train import precision as number_format
from lowtf.train.evaluation import Scorer, Writers
from lowtf.train.config import CheckpointMismatch, History, TrainConfig  # noqa: F401 (raised by resume; imported from here)
from lowtf.train.objectives import ObjectiveFn, classification
from lowtf.train.pipeline import Inputs, make_inputs
from lowtf.train.resume import restore_newest_good

ModelFn = Callable[[tf.Tensor, tf.Tensor], tuple]
OptimizerFn = Callable[[tf.Tensor], tf.train.Optimizer]     # global_step -> optimizer


@dataclass
class _Graph:
    graph: tf.Graph
    inputs: Inputs
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
    initializer: tf.Operation
    warm_saver: Optional[tf.train.Saver]   # copies the warm-start Variables in


def _filter_images(params: dict) -> list:
    """Image summaries of single-channel conv kernels [k, k, 1, out] -> out images [k, k, 1]."""
    out = []
    for name, v in params.items():
        if len(v.shape) == 4 and int(v.shape[2]) == 1:
            with tf.name_scope("filter_images"):    # a box in TensorBoard's graph; the tag stays unscoped
                kernels = tf.transpose(v, [3, 0, 1, 2])
                lo = tf.reduce_min(kernels, axis=[1, 2, 3], keepdims=True)
                hi = tf.reduce_max(kernels, axis=[1, 2, 3], keepdims=True)
                scaled = (kernels - lo) / (hi - lo + 1e-8)
            out.append(tf.summary.image(name.replace("/", "_"), scaled, max_outputs=int(v.shape[3])))
    return out


def _optimizer(optimizer_fn: OptimizerFn, global_step: tf.Tensor) -> tf.train.Optimizer:
    if len(inspect.signature(optimizer_fn).parameters) != 1:
        raise TypeError("optimizer_fn takes one argument, the global step: write `lambda step: "
                        "tf.train.AdamOptimizer(1e-3)` (it used to take a second, steps_per_epoch, that "
                        "nothing read)")
    return optimizer_fn(global_step)


def build_graph(model_fn: ModelFn, image_shape: tuple, optimizer_fn: OptimizerFn, config: TrainConfig,
                objective: ObjectiveFn = classification,
                train_data: Optional[Callable[[], tf.data.Dataset]] = None) -> _Graph:
    """Everything the loop runs, in a new graph: the graph lesson 10 builds by hand, in the same order
    (seed, input pipeline, training flag, model), so the same seed gives the same numbers."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(config.seed)
        batch_size = config.batch_size if train_data is not None or config.batch_size else 128
        inputs = make_inputs(image_shape, batch_size, config.eval_batch_size, config.seed, train_data)
        if config.batch_size is not None and config.batch_size != inputs.batch_size:
            raise ValueError(f"batch_size {config.batch_size} in the config, but the training dataset yields "
                             f"batches of {inputs.batch_size}: leave batch_size out (the dataset's is used)")
        training = training_flag()
        outputs, params = model_fn(inputs.images, training)
        scored = objective(outputs, inputs.labels)
        with tf.name_scope("batch_means"):      # what a training step minimises and reports
            loss = tf.reduce_mean(scored.losses)
            metrics = {name: tf.reduce_mean(value) for name, value in scored.metrics.items()}
        with tf.name_scope("evaluation_sums"):  # summed over a split's batches by the evaluation reader
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
            train_op = _optimizer(optimizer_fn, global_step).minimize(loss, global_step=global_step,
                                                                      var_list=var_list)
        # merge_all, not merge of our own list: summaries the model or the optimizer defined
        # (a learning-rate schedule's) are written too. Loss and accuracy are written as
        # means over the steps since the last point, so they are not graph summaries.
        with tf.name_scope("summaries"):
            graph_summaries = tf.summary.merge_all()
        # Summary tags carry their op's scope, so these stay outside one: "params/...", "inputs".
        weights = [tf.summary.histogram(f"params/{name}", v) for name, v in params.items()]
        weights += _filter_images(params)
        inputs_image = tf.summary.image("inputs", inputs.images, max_outputs=4)
        with tf.name_scope("summaries"):
            param_summary = tf.summary.merge(weights)
            # The input images come from the training stream: fetched only with a training step.
            detail_summary = tf.summary.merge([param_summary, inputs_image])
        saver = tf.train.Saver(max_to_keep=config.max_to_keep)
        initializer = tf.variables_initializer(graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES))
        warm_saver = None
        if config.warm_start:
            names = [n for n in params if config.warm_start_vars is None or n.startswith(tuple(config.warm_start_vars))]
            warm_saver = tf.train.Saver(var_list={n: params[n] for n in names})
        inputs.make_handles()
    return _Graph(graph, inputs, training, params, loss, metrics, eval_sums, global_step, train_op,
                  graph_summaries, param_summary, detail_summary, saver, initializer, warm_saver)


def _hooks(g: _Graph, config: TrainConfig, clock: policy.Clock, history: History, writers: Writers,
           scorer: Scorer, ckpt_dir: Path, user_hooks: Sequence) -> list:
    """The run's policies, in the order they see each step (the user's hooks last: a Ctrl-C raised
    in one still finds this step's train point written)."""
    eval_every, summary_every, histogram_every = config.every()
    curve = policy.TrainCurve(clock, summary_every, g.loss, g.metrics, writers.train, history)
    # SummarySaverHook writes a SessionLog.START at its first step, and TensorBoard then drops what was
    # written before at that step or later: it goes first, so this step's train point comes after it.
    found = [tf.train.SummarySaverHook(save_steps=histogram_every, summary_writer=writers.train,
                                       summary_op=g.detail_summary)]
    if g.graph_summaries is not None:
        found.append(tf.train.SummarySaverHook(save_steps=summary_every, summary_writer=writers.train,
                                               summary_op=g.graph_summaries))
    found += [tf.train.StopAtStepHook(last_step=config.steps), tf.train.NanTensorHook(g.loss), curve,
              policy.OptimizedGraph(history)]
    if config.trace_step:
        found.append(policy.TraceStep(clock, config.trace_step, writers.train))
    found.append(policy.TestPoints(clock, eval_every, config.steps, scorer))
    if config.patience is not None:
        found.append(policy.EarlyStopping(history, config.patience))
    if config.target_accuracy is not None:
        found.append(policy.StopAtAccuracy(history, config.target_accuracy))
    found.append(policy.Checkpoints(clock, g.saver, str(ckpt_dir / "model"), config.checkpoint_every,
                                    config.checkpoint_seconds))
    found.append(policy.Progress(clock, config.steps, config.name, g.inputs.batch_size, curve, history,
                                 enabled=config.progress))
    return found + [policy.CallEvery(clock, hook, g.params) for hook in user_hooks]


def train(model_fn: ModelFn, splits: Splits, optimizer_fn: OptimizerFn, config: TrainConfig,
          logdir: str | Path, hooks: Sequence = (), objective: ObjectiveFn = classification,
          train_data: Optional[Callable[[], tf.data.Dataset]] = None) -> History:
    """Train ``model_fn`` on ``splits`` until ``config.steps`` (or an early stop); the loop of lesson 10, packaged.

    ``model_fn(images, training) -> (outputs, params)``; ``optimizer_fn(global_step) -> Optimizer``;
    ``objective(outputs, labels)`` says what to minimise and report (default: softmax cross-entropy
    and accuracy). Training batches come from ``splits.train`` or, if given, ``train_data()``: a
    tf.data.Dataset of batches (drop_remainder=True) of float32 images in [0, 1] and int64 labels,
    repeated (a TFRecord stream, say). Test points score the first ``eval_subset`` test images;
    the run's last point scores them all. Ctrl-C saves a checkpoint, closes the writers and
    re-raises KeyboardInterrupt: an interrupted run is never reported as a finished one.
    """
    logdir = Path(logdir)
    ckpt_dir = logdir / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    has_validation = splits.validation is not None and len(splits.validation) > 0
    if config.patience is not None and not has_validation:
        raise ValueError("early stopping (patience) watches the validation split, and these splits have none: "
                         "load them with a validation_size, or leave patience unset")
    if train_data is None and splits.train is None:
        raise ValueError("nothing to train on: give splits.train arrays or a train_data dataset factory")
    g = build_graph(model_fn, splits.test.images.shape[1:], optimizer_fn, config, objective, train_data)
    choice = number_format.choose(config.precision)
    history = History(precision=choice.precision, precision_reason=choice.reason, batch_size=g.inputs.batch_size)
    started = time.perf_counter()
    with g.graph.as_default(), tf.Session(config=number_format.session_config(choice.precision)) as sess:
        # --- start: initialise, or restore a checkpoint (only when asked), or copy weights in
        step = history.start_step = _start(sess, g, config, ckpt_dir)
        clock = policy.Clock(step, step)
        writers = Writers(tf.summary.FileWriter(str(logdir / "train"), g.graph),
                          tf.summary.FileWriter(str(logdir / "test")),
                          tf.summary.FileWriter(str(logdir / "validation")) if has_validation else None)
        test_subset = splits.test if config.eval_subset is None else splits.test.take(config.eval_subset)
        scorer = Scorer(g.inputs, g.eval_sums, splits, test_subset, writers, history)
        if step == 0:   # every curve and histogram starts at step 0, before any training
            scorer.point(sess, 0, train_point=True)
            writers.train.add_summary(sess.run(g.param_summary), 0)
        else:           # resumed: TensorBoard drops what a killed run wrote after this step
            for writer in writers.all():
                writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START), step)
        run_hooks = _hooks(g, config, clock, history, writers, scorer, ckpt_dir, hooks)
        for hook in run_hooks:
            hook.begin()
        g.graph.finalize()   # from here on nothing may add ops: a growing graph is lesson 03's bug
        feed = {g.inputs.handle: g.inputs.start_training(sess, splits.train, skip=step), g.training: True}
        finished = False
        try:
            for hook in run_hooks:
                hook.after_create_session(sess, None)
            if clock.step < config.steps:
                _loop(sess, g.train_op, feed, run_hooks, clock, history)
            finished = True
        except KeyboardInterrupt:
            history.interrupted = True
        finally:
            # --- finish: the hooks' end (a checkpoint whatever happened); the full test set if the loop finished
            for hook in run_hooks:
                hook.end(sess)
            history.checkpoint = next(h.path for h in run_hooks if isinstance(h, policy.Checkpoints))
            if finished:
                _final_evaluation(sess, g, scorer, clock.step, history)
            writers.close()
    if config.target_accuracy is not None and not history.interrupted:
        history.reached_target = history.final_test_accuracy >= config.target_accuracy   # the full test set decides
    history.final_step, history.logdir = clock.step, str(logdir)
    history.seconds = time.perf_counter() - started
    done = clock.step - history.start_step
    steady_seconds = history.train_seconds - history.first_step_seconds
    history.images_per_second = (done - 1) * g.inputs.batch_size / steady_seconds if done > 1 else 0.0
    history.save(logdir / "history.json")
    if history.interrupted:
        raise KeyboardInterrupt
    if config.progress:
        _final_line(history, config)
    return history


def _loop(sess: tf.Session, train_op: tf.Operation, feed: dict, hooks: list, clock: policy.Clock,
          history: History) -> None:
    """Lesson 10's loop: one ``sess.run`` of the train op per step, with what each hook asks for merged
    in (fetches, feeds, run options), the results handed back, until a hook requests a stop."""
    args = tf.train.SessionRunArgs(train_op, feed)
    while True:
        context = tf.train.SessionRunContext(original_args=args, session=sess)
        fetches, feeds, options = {}, dict(feed), None
        for i, request in enumerate(hook.before_run(context) for hook in hooks):
            if request is None:
                continue
            if request.fetches is not None:
                fetches[i] = request.fetches
            feeds.update(request.feed_dict or {})
            if request.options is not None:
                options = options or tf.RunOptions()
                options.trace_level = max(options.trace_level, request.options.trace_level)
                options.output_partition_graphs |= request.options.output_partition_graphs
        metadata = tf.RunMetadata() if options else None
        t0 = time.perf_counter()
        _, found = sess.run([train_op, fetches], feeds, options=options, run_metadata=metadata)
        results = [found.get(i) for i in range(len(hooks))]
        seconds = time.perf_counter() - t0
        history.train_seconds += seconds
        if clock.step == clock.start_step:
            history.first_step_seconds = seconds
        clock.step += 1
        for hook, result in zip(hooks, results):
            hook.after_run(context, tf.train.SessionRunValues(results=result, options=options, run_metadata=metadata))
        if context.stop_requested:
            return


def _start(sess: tf.Session, g: _Graph, config: TrainConfig, ckpt_dir: Path) -> int:
    """Initialise the Variables, then restore them (only when asked) or warm-start them; return the step."""
    sess.run(g.initializer)
    # The newest checkpoint that restores (a damaged one is skipped, with a line saying why); the Saver
    # is told about the older ones, so max_to_keep holds across restarts.
    restored = restore_newest_good(sess, g.saver, ckpt_dir) if config.resume else None
    if restored is None and g.warm_saver is not None:
        g.warm_saver.restore(sess, config.warm_start)
    return int(sess.run(g.global_step))


def _final_evaluation(sess, g: _Graph, scorer: Scorer, step: int, history: History) -> None:
    """The whole test set, in float32 whatever the run computed in: bfloat16 runs are scored
    twice, in bfloat16 (recorded beside) and with the saved weights restored into a float32 Session."""
    if history.precision == "float32":
        scorer.final(sess, step)
        return
    history.low_precision_test_accuracy = scorer.score(sess, scorer.splits.test).get("accuracy")
    with tf.Session(graph=g.graph, config=number_format.session_config("float32")) as exact:
        g.saver.restore(exact, history.checkpoint)
        scorer.final(exact, step)


def _final_line(h: History, config: TrainConfig) -> None:
    """One line that stays on screen after the bar: what the run did, in numbers."""
    loss = f"train loss {h.loss[-1]:.3f}, " if h.loss else ""
    number = "" if h.precision == "float32" else f" in bfloat16 ({sum(h.bfloat16_ops.values())} ops)"
    line = (f"{config.name or 'training'}: {h.final_step} steps{number}, {loss}test accuracy "
            f"{h.final_test_accuracy:.4f}, {h.images_per_second:,.0f} img/s training "
            f"(+{h.seconds - h.train_seconds:.1f} s evaluating and saving)")
    print(textwrap.fill(line, shutil.get_terminal_size().columns - 1, initial_indent="   ", subsequent_indent="      "))
