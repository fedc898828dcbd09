"""Seeing inside: TensorBoard's other dashboards (images of the errors, PR curves, projector, HParams, profile, debugger) fed from a graph."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import imageio.v3 as imageio
import numpy as np
import tensorflow as tf2
import tensorflow.compat.v1 as tf
from tensorboard.plugins import projector
from tensorboard.plugins.hparams import api as hp
from tensorboard.plugins.pr_curve import summary as pr_summary
from tensorflow.python.debug.lib import debug_events_reader

from lowtf import verdicts
from lowtf.bench.profile import op_times
from lowtf.data import mnist as mnist_store
from lowtf.lesson.presentation import source
from lowtf.nn.layers import dense
from lowtf.tutorials.mnist import input_data

tf.disable_v2_behavior()

lesson = Lesson("35", "seeing inside")

SEED = 35
STEPS = {"fast": 400, "full": 3000}  # training steps of 100 images
EVAL_EVERY = {"fast": 100, "full": 500}  # a point on every dashboard
EMBEDDED = {"fast": 1000, "full": 5000}  # test digits in the projector
SWEEP_STEPS = {"fast": 150, "full": 1000}  # per trial of the HParams sweep
PROFILED_STEPS = 20  # training steps the profiler records
URL = "http://127.0.0.1:6006/"


def network(images, hidden):
    """784 -> hidden -> 32 -> 10 (lesson 08's dense layers). Returns the
    logits [batch, 10] and the 32 features before them [batch, 32]: the
    penultimate layer the projector places digits by."""
    h, _ = dense(images, hidden, "hidden", stddev="he", bias=0.0)
    features, _ = dense(h, 32, "features", stddev="he", bias=0.0)
    logits, _ = dense(features, 10, "logits", activation=None)
    return logits, features


def confusion_image(labels, predicted, scale=16):
    """The confusion matrix as a [1, 10*scale, 10*scale, 1] image: row =
    true digit, column = predicted, brightness = the share of that row.
    Built from graph ops, so it is recomputed at every evaluation."""
    counts = tf.math.confusion_matrix(labels, predicted, num_classes=10)
    counts = tf.cast(counts, tf.float32)
    rows = counts / tf.maximum(tf.reduce_sum(counts, 1, keepdims=True), 1)
    # sqrt so that a 2% confusion is visible beside a 98% diagonal
    pixels = tf.sqrt(rows)[None, :, :, None]
    size = [10 * scale, 10 * scale]
    return tf.image.resize(pixels, size, method="nearest")


@lesson.step("the data and a small network, with evaluation summaries")
def model(ctx):
    """The network is small (two hidden layers) so that every dashboard has
    data within seconds. Beside the loss and accuracy, the evaluation graph
    makes three summaries of its own:
    - the confusion matrix as an image (the image dashboard keeps one per
      evaluation: drag its step slider to watch the errors change);
    - the first 9 test digits it gets wrong, as images;
    - a precision-recall curve per digit (pr_curve's summary op: a graph op
      that bins the predicted probabilities at 101 thresholds).
    Each is an op in the graph, run by the same Session.run as the loss."""
    tf.set_random_seed(SEED)
    ctx.mnist = input_data.read_data_sets(
        str(mnist_store.folder()), one_hot=False, seed=SEED
    )
    ctx.x = x = tf.placeholder(tf.float32, [None, 784], name="images")
    ctx.y = y = tf.placeholder(tf.int64, [None], name="labels")
    with tf.variable_scope("net"):
        logits, ctx.features = network(x, hidden=128)
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
    )
    ctx.train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
    predicted = tf.argmax(logits, 1)
    ctx.correct = tf.equal(predicted, y)
    accuracy = tf.reduce_mean(tf.cast(ctx.correct, tf.float32))
    probabilities = tf.nn.softmax(logits)
    wrong = tf.boolean_mask(x, tf.logical_not(ctx.correct))
    with tf.name_scope("eval"):
        summaries = [
            tf.summary.scalar("loss", loss),
            tf.summary.scalar("accuracy", accuracy),
            tf.summary.image("confusion", confusion_image(y, predicted)),
            tf.summary.image(
                "misclassified", tf.reshape(wrong, [-1, 28, 28, 1]), 9
            ),
        ]
        for digit in range(10):
            summaries.append(
                pr_summary.op(
                    name=f"digit_{digit}",
                    labels=tf.equal(y, digit),
                    predictions=probabilities[:, digit],
                    num_thresholds=101,
                )
            )
    ctx.eval_summary = tf.summary.merge(summaries)
    ctx.train_summary = tf.summary.scalar("train_loss", loss)
    return {
        "network": "784 -> 128 -> 32 -> 10",
        "evaluation summaries": len(summaries),
    }


@lesson.step("train, evaluating on the test set now and then")
def train(ctx):
    """The loop of lesson 07, with two writers: train/ gets the batch loss,
    test/ the evaluation summaries on 1,000 test digits at every EVAL_EVERY
    steps. In TensorBoard: IMAGES shows eval/confusion and
    eval/misclassified with a step slider; PR CURVES shows one curve per
    digit, also with a step slider."""
    ctx.sess = sess = tf.Session()
    ctx.on_exit(sess.close)
    sess.run(tf.global_variables_initializer())
    train_writer = tf.summary.FileWriter(str(ctx.logdir / "train"))
    test_writer = tf.summary.FileWriter(str(ctx.logdir / "test"))
    test = {ctx.x: ctx.mnist.test.images[:1000],
            ctx.y: ctx.mnist.test.labels[:1000]}
    steps, every = STEPS[ctx.mode], EVAL_EVERY[ctx.mode]
    for step in range(1, steps + 1):
        images, labels = ctx.mnist.train.next_batch(100)
        _, s = sess.run([ctx.train_op, ctx.train_summary],
                        {ctx.x: images, ctx.y: labels})
        if step % 20 == 0:
            train_writer.add_summary(s, step)
        if step % every == 0:
            test_writer.add_summary(sess.run(ctx.eval_summary, test), step)
    train_writer.close()
    test_writer.close()
    correct = sess.run(ctx.correct, {ctx.x: ctx.mnist.test.images,
                                     ctx.y: ctx.mnist.test.labels})
    ctx.test_accuracy = correct.mean()
    se = verdicts.accuracy_se(ctx.test_accuracy, correct.size)
    ctx.record(test_accuracy=round(float(ctx.test_accuracy), 4),
               evaluations=steps // every)
    return {
        "steps": steps,
        "evaluations written": steps // every,
        "test accuracy (10,000 images)":
            f"{ctx.test_accuracy:.4f} (SE {se:.4f})",
        "images": URL + "#images",
        "pr curves": URL + "#pr_curves",
    }


def sprite(images, labels_path, labels):
    """A square sheet of 28x28 digits, white on black, as the projector
    wants it (one image per point, in the order of the embedding's rows),
    and the metadata file: one label per line."""
    side = int(np.ceil(np.sqrt(len(images))))
    sheet = np.zeros((side * 28, side * 28), np.uint8)
    for i, image in enumerate(images.reshape(-1, 28, 28)):
        r, c = divmod(i, side)
        sheet[r * 28:(r + 1) * 28, c * 28:(c + 1) * 28] = image * 255
    labels_path.write_text("".join(f"{label}\n" for label in labels))
    return sheet


@lesson.step("the projector: test digits placed by the penultimate layer")
def embeddings(ctx):
    """The 32 features before the logits place each test digit in a
    32-dimensional space. The projector draws that space in 3-D (PCA or
    t-SNE), one point per digit, coloured by label and shown as its
    sprite: digits the network finds alike sit together.
    It reads a checkpoint holding a variable of the points [n, 32], a
    projector_config.pbtxt naming that variable, a metadata file of labels
    and a sprite sheet. Everything is written from the verified MNIST."""
    n = EMBEDDED[ctx.mode]
    images = ctx.mnist.test.images[:n]
    labels = ctx.mnist.test.labels[:n]
    points = ctx.sess.run(ctx.features, {ctx.x: images})
    folder = ctx.logdir / "projector"
    folder.mkdir()
    sheet = sprite(images, folder / "labels.tsv", labels)
    imageio.imwrite(folder / "sprite.png", sheet)
    with tf.Graph().as_default():
        table = tf.Variable(points, name="test_digits")
        saver = tf.train.Saver([table])
        with tf.Session() as sess:
            sess.run(table.initializer)
            saver.save(sess, str(folder / "embedding.ckpt"))
            # an events file makes the folder a run that TensorBoard lists
            tf.summary.FileWriter(str(folder), sess.graph).close()
    config = projector.ProjectorConfig()
    embedding = config.embeddings.add()
    embedding.tensor_name = "test_digits"
    embedding.metadata_path = "labels.tsv"
    embedding.sprite.image_path = "sprite.png"
    embedding.sprite.single_image_dim.extend([28, 28])
    projector.visualize_embeddings(str(folder), config)
    ctx.record(embedded=n, embedding_width=points.shape[1])
    return {"points": points.shape, "sprite sheet": sheet.shape,
            "projector": URL + "#projector"}


def trial(rate, hidden, steps, mnist):
    """Train the network with Adam at ``rate`` and ``hidden`` units for
    ``steps`` batches of 100 (drawn at random, the same for every trial)
    from a fresh graph and seed; return the correctness [10000] (bool) of
    each test digit."""
    with tf.Graph().as_default():
        tf.set_random_seed(SEED)
        x = tf.placeholder(tf.float32, [None, 784])
        y = tf.placeholder(tf.int64, [None])
        logits, _ = network(x, hidden)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=y, logits=logits))
        train_op = tf.train.AdamOptimizer(rate).minimize(loss)
        correct = tf.equal(tf.argmax(logits, 1), y)
        # the same 100-image batches for every trial: one seeded generator
        rng = np.random.RandomState(SEED)
        train = mnist.train
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(steps):
                rows = rng.randint(0, train.num_examples, 100)
                sess.run(train_op, {x: train.images[rows],
                                    y: train.labels[rows]})
            return sess.run(correct, {x: mnist.test.images,
                                      y: mnist.test.labels})


def as_tf_summary(proto):
    """TensorBoard's own copy of the Summary message, as TensorFlow's
    class: the hparams API builds the one, FileWriter takes only the
    other."""
    return tf.Summary.FromString(proto.SerializeToString())


@lesson.step("HParams: a small sweep, logged so the runs can be compared")
def sweep(ctx):
    """Four trials: learning rate 3e-4 or 3e-3, times 32 or 128 hidden
    units, each from the same seed and batches. The hparams API writes, for
    the sweep, which hyperparameters and metric exist (hparams_config_pb)
    and, for each trial's run, its values (hparams_pb); the metric itself
    is an ordinary scalar. The HPARAMS dashboard then shows a table, the
    parallel-coordinates view and scatter plots.
    Which trial won is a claim like any other: the best against the
    runner-up, scored image by image on the same 10,000 test digits (a
    paired standard error)."""
    rate = hp.HParam("learning_rate", hp.Discrete([3e-4, 3e-3]))
    hidden = hp.HParam("hidden_units", hp.Discrete([32, 128]))
    metric = hp.Metric("test_accuracy", display_name="test accuracy")
    root = ctx.logdir / "hparams"
    with tf.summary.FileWriter(str(root)) as writer:
        config = hp.hparams_config_pb([rate, hidden], [metric])
        writer.add_summary(as_tf_summary(config))
    results = {}
    for r in rate.domain.values:
        for h in hidden.domain.values:
            name = f"lr={r:g} hidden={h}"
            correct = trial(r, h, SWEEP_STEPS[ctx.mode], ctx.mnist)
            results[name] = correct
            accuracy = tf.Summary(value=[tf.Summary.Value(
                tag="test_accuracy", simple_value=correct.mean())])
            run = root / name.replace(" ", "_")
            with tf.summary.FileWriter(str(run)) as writer:
                values = hp.hparams_pb({rate: r, hidden: h}, trial_id=name)
                writer.add_summary(as_tf_summary(values))
                writer.add_summary(accuracy, SWEEP_STEPS[ctx.mode])
    ranked = sorted(results, key=lambda k: -results[k].mean())
    best, second = ranked[0], ranked[1]
    # both scored on the same 10,000 test digits: a paired SE
    said = ctx.verdict(verdicts.paired(
        f"{best} vs {second}", results[best], results[second],
        names=(best, second)))
    table = {k: f"{results[k].mean():.4f}" for k in ranked}
    ctx.record(trials=len(results))
    return {**table, "best vs runner-up": said, "hparams": URL + "#hparams"}


@lesson.step("the profiler: where a training step's time goes, op by op")
def profile(ctx):
    """tf.profiler.experimental.start records what the runtime does while
    it is on, Session runs included: each op's start and length on each
    thread. The PROFILE dashboard (the tensorboard-plugin-profile package)
    shows it on a timeline, the trace viewer. Here PROFILED_STEPS training
    steps are recorded, each marked as a step (Trace with step_num), and
    the same file is read back to total the time by op type: the matrix
    multiplies of the forward and backward pass, Adam's updates and the
    rest. op_times, which reads the file, is shown below; `lowtf bench
    --profile DIR` runs it on LeNet-5's training steps. In the dashboard,
    Tools -> trace_viewer shows the timeline."""
    tf2.profiler.experimental.start(str(ctx.logdir))
    try:
        for step in range(PROFILED_STEPS):
            images, labels = ctx.mnist.train.next_batch(100)
            # a step marker: the overview page then reports step times
            with tf2.profiler.experimental.Trace("train", step_num=step,
                                                 _r=1):
                ctx.sess.run(ctx.train_op, {ctx.x: images, ctx.y: labels})
    finally:
        tf2.profiler.experimental.stop()
    totals = op_times(ctx.logdir)
    whole = sum(totals.values())
    top = sorted(totals, key=totals.get, reverse=True)[:5]
    ctx.record(profiled_op_types=len(totals))
    shares = [f"{totals[k] / whole:4.0%}  {k}" for k in top]
    return {"op_times (lowtf.bench.profile)": "\n" + source(op_times),
            "share of op time": shares, "op types seen": len(totals),
            "profile": URL + "#profile"}


@lesson.step("Debugger V2: which op made the first inf or NaN")
def debugger(ctx):
    """Lesson 07's naive cross-entropy, -sum(y_ * log(softmax(logits))),
    gives nan on logits [1000, 0]. Debugger V2 (enable_dump_debug_info)
    records, for every op the graph runs, a health summary of its output:
    counts of -inf, +inf and NaN among others. The first op in execution
    order with a non-finite value is the culprit: Log turns the 0 that
    softmax rounded to into -inf, and Mul turns 0 * -inf into NaN. The
    DEBUGGER V2 dashboard shows the same as an alert with the op's stack
    trace. Dumping slows every op, so it is switched off again."""
    dump = str(ctx.logdir)
    tf2.debugging.experimental.enable_dump_debug_info(
        dump, tensor_debug_mode="FULL_HEALTH", circular_buffer_size=-1)
    try:
        with tf.Graph().as_default(), tf.Session() as sess:
            logits = tf.constant([[1000.0, 0.0]], name="logits")
            y_ = tf.constant([[1.0, 0.0]], name="labels")
            y = tf.nn.softmax(logits, name="softmax")
            loss = -tf.reduce_sum(y_ * tf.log(y), name="naive_loss")
            value = sess.run(loss)
    finally:
        tf2.debugging.experimental.disable_dump_debug_info()
    reader = debug_events_reader.DebugDataReader(dump)
    reader.update()
    bad = []
    for trace in reader.graph_execution_traces():
        health = reader.graph_execution_trace_to_tensor_value(trace)
        # FULL_HEALTH: [id, device, dtype, rank, size, -inf, +inf, nan, ...]
        if health[5] + health[6] + health[7] > 0:
            bad.append(f"{trace.op_name} ({trace.op_type})")
    ctx.record(first_non_finite=bad[0] if bad else None)
    return {"loss": value, "ops with inf or nan, in order": bad,
            "debugger": URL + "#debugger-v2"}


@lesson.step("open the dashboards")
def dashboards(ctx):
    """One tensorboard over this lesson's logdir serves all of them; each
    address opens one dashboard (the menu at the top lists them too: some
    sit under the INACTIVE / more menu until chosen)."""
    return {
        "run": ctx.tensorboard(),
        "images": URL + "#images",
        "pr curves": URL + "#pr_curves",
        "projector": URL + "#projector",
        "hparams": URL + "#hparams",
        "profile": URL + "#profile",
        "debugger": URL + "#debugger-v2",
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
