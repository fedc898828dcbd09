"""The same network in Keras 3: LeNet-5 three ways, compile and fit, callbacks, load_model, against the graph by hand."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import dataclasses
import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from lowtf import verdicts
from lowtf.data.splits import load_splits
from lowtf.models import lenet5
from lowtf.train import Hook, TrainConfig, train
from lowtf.train.keras_progress import EpochLine  # one line per epoch

lesson = Lesson(
    "23", "keras lenet5", keras=True
)  # Keras: eager, its own process

# --- knobs -----------------------------------------------------------------------------
# 64, half lesson 10's 128: each step half the arithmetic, and --fast's 20
# steps still reach ~0.8-0.9 test accuracy
BATCH_SIZE = 64
LEARNING_RATE = 1e-3
EPOCHS = {"fast": 2, "full": 3}
# None: the whole training split
IMAGES_PER_EPOCH = {"fast": 640, "full": None}
VALIDATION_IMAGES = {"fast": 500, "full": 5000}
# the batch of every scoring (validation stream, test set): one batch shape
# for Keras's test function to trace
VALIDATION_BATCH = 250
TEST_IMAGES = {"fast": 1000, "full": None}  # None: all 10,000
SMALL_TRAIN = 128  # the early-stopping run trains on this many images
SMALL_BATCH = 32
SMALL_VALIDATION = 250  # the early-stopping run's validation images
PATIENCE = 3
MAX_EPOCHS = 30
SEED = 23
SUMMARY_WIDTH = 72  # model.summary()'s table, to fit an 80-column terminal


def sequential() -> keras.Model:
    """LeNet-5 as a stack: [N, 28, 28, 1] -> logits [N, 10]."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(
                32, 5, padding="same", activation="relu", name="conv1"
            ),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(
                64, 5, padding="same", activation="relu", name="conv2"
            ),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dense(1024, activation="relu", name="fc1"),
            layers.Dropout(0.5, name="dropout"),
            layers.Dense(10, name="logits"),
        ],
        name="lenet5_sequential",
    )


def functional() -> keras.Model:
    """The same as a graph of layers, each called on the one before."""
    images = keras.Input((28, 28, 1), name="images")
    x = layers.Conv2D(
        32, 5, padding="same", activation="relu", name="conv1"
    )(images)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(
        64, 5, padding="same", activation="relu", name="conv2"
    )(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(1024, activation="relu", name="fc1")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    logits = layers.Dense(10, name="logits")(x)
    return keras.Model(images, logits, name="lenet5_functional")


class LeNet5(keras.Model):
    """The same as Python code: layers made in __init__, the forward
    pass written in call()."""

    def __init__(self):
        super().__init__(name="lenet5_subclassed")
        self.conv1 = layers.Conv2D(
            32, 5, padding="same", activation="relu"
        )
        self.conv2 = layers.Conv2D(
            64, 5, padding="same", activation="relu"
        )
        self.pool = layers.MaxPooling2D(2)
        self.flatten = layers.Flatten()
        self.fc1 = layers.Dense(1024, activation="relu")
        self.dropout = layers.Dropout(0.5)
        self.logits = layers.Dense(10)

    def call(self, images, training=False):
        x = self.pool(self.conv1(images))
        x = self.pool(self.conv2(x))
        x = self.fc1(self.flatten(x))
        x = self.dropout(x, training=training)  # only while training
        return self.logits(x)


def lowtf_parameter_count() -> int:
    """Lesson 10's graph, built in a graph of its own (no Session runs),
    its Variables counted."""
    import tensorflow.compat.v1 as v1

    with tf.Graph().as_default():
        lenet5(
            v1.placeholder(tf.float32, [None, 28, 28, 1]),
            v1.placeholder_with_default(False, []),
        )
        return int(sum(np.prod(v.shape) for v in v1.trainable_variables()))


def compiled(model: keras.Model) -> keras.Model:
    """compile: the loss, the optimizer and the metrics, as lesson 10
    wrote them in the graph."""
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        # an object, not the string "accuracy": its variables exist now
        metrics=[keras.metrics.SparseCategoricalAccuracy("accuracy")],
    )
    # Adam's moment variables made now too: fit traces its step into a
    # graph, and a trace that creates variables is traced again; with
    # every variable made beforehand, one trace (~0.5 CPU s less a fit)
    model.optimizer.build(model.trainable_variables)
    return model


@lesson.step("LeNet-5 three ways: Sequential, functional, subclassed")
def three_ways(ctx):
    """Keras builds a model three ways. Sequential: a list of layers, each feeding the next.
    Functional: call layers on tensors, which allows branches and several outputs (lesson
    24). Subclassed: write call() yourself, for anything else. All three here are the network
    of lesson 10 and hold the same 3,274,634 parameters; given the same weights they compute
    the same function."""
    # Python, numpy and TensorFlow seeds in one call
    keras.utils.set_random_seed(SEED)
    ctx.splits = load_splits(
        "mnist",
        validation_size=VALIDATION_IMAGES["full"],
        test_size=TEST_IMAGES[ctx.mode],
    )
    models = {
        "Sequential": sequential(),
        "functional": functional(),
        "subclassed": LeNet5(),
    }
    # a subclassed model's weights exist once it has seen an input
    models["subclassed"](np.zeros((1, 28, 28, 1), np.float32))
    weights = models["Sequential"].get_weights()
    for model in models.values():
        model.set_weights(weights)
    probe = ctx.splits.test.images[:8].astype(np.float32) / 255.0
    outputs = [model(probe).numpy() for model in models.values()]
    counts = {name: model.count_params() for name, model in models.items()}
    ctx.record(
        keras_parameters=counts["Sequential"],
        lowtf_parameters=lowtf_parameter_count(),
        same_outputs=max(float(np.abs(o - outputs[0]).max()) for o in outputs),
    )
    return {
        "parameters": counts,
        "lowtf's lenet5 (lesson 10)": ctx.summary["lowtf_parameters"],
        "largest output difference, same weights": ctx.summary["same_outputs"],
    }


@lesson.step(
    "summary(): the layer table, and what each layer is in graph terms"
)
def summary(ctx):
    """summary() lists each layer, its output shape ((None, ...): the batch size is left open,
    like a placeholder's None) and its parameters. Each layer is a few ops the course wrote
    by hand: the table on the right says which ops and where."""
    ctx.model = compiled(functional())
    lines = []
    ctx.model.summary(
        print_fn=lambda line, **kwargs: lines.append(line),
        line_length=SUMMARY_WIDTH,
    )
    # what each Keras piece is, in the ops lessons 07-11 wrote by hand
    by_hand = {
        "Conv2D(32, 5, padding='same', activation='relu')": (
            "tf.nn.conv2d + bias + tf.nn.relu (lessons 09, 10)"
        ),
        "MaxPooling2D(2)": "tf.nn.max_pool, 2x2, stride 2 (lesson 09)",
        "Flatten()": "tf.reshape(x, [-1, 7 * 7 * 64]) (lesson 10)",
        "Dense(1024, activation='relu')": (
            "tf.matmul + bias + relu (lesson 08)"
        ),
        "Dropout(0.5)": (
            "tf.nn.dropout(rate=0.5), on only while training (lesson 11)"
        ),
        "compile(loss=SparseCategoricalCrossentropy(from_logits=True))": (
            "tf.nn.sparse_softmax_cross_entropy_with_logits\n"
            "    + reduce_mean (lessons 07, 10)"
        ),
        "compile(optimizer=Adam(1e-3))": (
            "tf.train.AdamOptimizer(1e-3).minimize(loss): the train op"
            " (lesson 10)"
        ),
        "compile(metrics=[SparseCategoricalAccuracy()])": (
            "reduce_mean(cast(equal(argmax(logits), labels))) (lesson 07)"
        ),
    }
    return {
        "model.summary()": "\n"
        + "\n".join(line for line in lines if line.strip()),
        "Keras -> by hand": "\n"
        + "\n".join(f"{piece}\n    {ops}" for piece, ops in by_hand.items()),
    }


class ImagesPerSecond(keras.callbacks.Callback):
    """A callback of our own: time each training batch (not validation),
    and count images."""

    def on_train_begin(self, logs=None):
        self.step_seconds = []

    def on_train_batch_begin(self, batch, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.step_seconds.append(time.perf_counter() - self.started)

    def rate(self) -> float:
        steady = self.step_seconds[
            1:
        ]  # the first also traces the step: left out
        return len(steady) * BATCH_SIZE / sum(steady)


class CurvesByStep(keras.callbacks.Callback):
    """Each epoch's train and validation means under the tags the graph
    by hand writes ("loss", "accuracy"), at the training step reached
    rather than the epoch number: TensorBoard then draws the Keras run
    (keras/) and the by-hand run (by_hand/) on the same charts."""

    def __init__(self, logdir, steps_per_epoch: int):
        super().__init__()
        self.logdir, self.steps_per_epoch = logdir, steps_per_epoch

    def on_epoch_end(self, epoch, logs=None):
        step = (epoch + 1) * self.steps_per_epoch
        for run, prefix in (("train", ""), ("validation", "val_")):
            writer = tf.summary.create_file_writer(str(self.logdir / run))
            with writer.as_default():
                for name in ("loss", "accuracy"):
                    tf.summary.scalar(name, logs[prefix + name], step=step)
            writer.close()


def training_stream(images: np.ndarray, labels: np.ndarray):
    """uint8 images -> an endless shuffled stream of
    (float32 [B, 28, 28, 1] in [0, 1], labels [B])."""
    return (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(len(labels), seed=SEED)
        .repeat()
        .map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y))
        .batch(BATCH_SIZE)
        .prefetch(tf.data.AUTOTUNE)
    )


def scaled(split, n=None):
    return split.images[:n].astype(np.float32) / 255.0, split.labels[:n]


@lesson.step("fit with steps_per_epoch, validation_steps and three callbacks")
def fit(ctx):
    """fit runs the loop lesson 10 wrote: for each step, a batch, the train op, the metrics;
    after each 'epoch' it scores the validation data. Both streams here repeat forever
    (the flowers article's ds.repeat()), so fit is told where an epoch ends,
    steps_per_epoch = images in an epoch // batch size (computed from the split's size, as
    the article did), and how many validation batches make one scoring,
    validation_steps = validation images // their batch size. Without validation_steps
    a repeated validation stream would be scored forever. Callbacks run at those moments: TensorBoard writes the curves (into this
    lesson's folder, keras/, beside the graph by hand's by_hand/ of the last step),
    ModelCheckpoint saves the whole model (architecture, weights, optimizer state) to a
    .keras file, a small callback of our own measures images per second, and another
    writes each epoch's means under the tags and step axis of the by-hand run.
    Why val_accuracy can sit above accuracy in the log below: accuracy is the mean over the
    epoch's batches, scored while they were trained on by a model that improved through
    the epoch (its early batches scored lower), and with dropout on (half of fc1's
    units off); val_accuracy is scored after the epoch, by the finished model, dropout
    off. Only the second is the model you keep."""
    train_images = IMAGES_PER_EPOCH[ctx.mode] or len(ctx.splits.train.labels)
    ctx.steps_per_epoch = (
        train_images // BATCH_SIZE
    )  # 55,000 // 64 = 859 in full
    validation_steps = VALIDATION_IMAGES[ctx.mode] // VALIDATION_BATCH
    validation = (
        tf.data.Dataset.from_tensor_slices(
            scaled(ctx.splits.validation, VALIDATION_IMAGES[ctx.mode])
        )
        .batch(VALIDATION_BATCH)
        .repeat()
    )
    ctx.timer = timer = ImagesPerSecond()
    callbacks = [
        # histogram_freq=1 would add each weight's histogram every epoch:
        # 1.6 CPU s here, most of it fc1's 3.2 million weights
        keras.callbacks.TensorBoard(log_dir=str(ctx.logdir / "keras")),
        keras.callbacks.ModelCheckpoint(
            str(ctx.logdir / "checkpoints" / "lenet5-epoch{epoch:02d}.keras")
        ),
        timer,
        CurvesByStep(ctx.logdir / "keras", ctx.steps_per_epoch),
        EpochLine("fit"),
    ]
    history = ctx.model.fit(
        training_stream(ctx.splits.train.images, ctx.splits.train.labels),
        epochs=EPOCHS[ctx.mode],
        steps_per_epoch=ctx.steps_per_epoch,
        validation_data=validation,
        validation_steps=validation_steps,
        callbacks=callbacks,
        shuffle=False,  # the stream shuffles itself
        verbose=0,
    )
    test_loss, test_accuracy = ctx.model.evaluate(
        *scaled(ctx.splits.test), batch_size=VALIDATION_BATCH, verbose=0
    )
    # the test score too, on the by-hand run's tag and step axis
    writer = tf.summary.create_file_writer(str(ctx.logdir / "keras" / "test"))
    with writer.as_default():
        steps = EPOCHS[ctx.mode] * ctx.steps_per_epoch
        tf.summary.scalar("accuracy", test_accuracy, step=steps)
        tf.summary.scalar("loss", test_loss, step=steps)
    writer.close()
    checkpoints = sorted(
        p.name for p in (ctx.logdir / "checkpoints").glob("*.keras")
    )
    ctx.record(
        keras_test_accuracy=round(test_accuracy, 4),
        keras_images_per_second=round(timer.rate()),
        keras_steps=EPOCHS[ctx.mode] * ctx.steps_per_epoch,
        checkpoints=checkpoints,
        steps_per_epoch=ctx.steps_per_epoch,
        validation_steps=validation_steps,
        images_per_epoch=train_images,
        validation_images=VALIDATION_IMAGES[ctx.mode],
        batch_sizes=[BATCH_SIZE, VALIDATION_BATCH],
    )
    return {
        "steps_per_epoch": (
            f"{train_images:,} // {BATCH_SIZE} = {ctx.steps_per_epoch}"
        ),
        "validation_steps": (
            f"{VALIDATION_IMAGES[ctx.mode]:,} // {VALIDATION_BATCH}"
            f" = {validation_steps}"
        ),
        "history (per epoch)": {
            k: [round(v, 4) for v in vs] for k, vs in history.history.items()
        },
        "test accuracy": round(test_accuracy, 4),
        "images/s while training": round(timer.rate()),
        "checkpoint files": checkpoints,
        "TensorBoard runs": sorted(
            p.name for p in (ctx.logdir / "keras").iterdir()
        ),
    }


@lesson.step(
    "EarlyStopping: stop when validation loss stops falling, keep the best weights"
)
def early_stopping(ctx):
    """On 128 images the network soon learns them by heart: training loss keeps falling,
    validation loss turns up. EarlyStopping(patience=3) stops after three epochs without a
    new lowest validation loss and, with restore_best_weights, puts back the weights of the
    best epoch, what lesson 07 did with a Saver by hand."""
    model = compiled(functional())
    stopper = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=PATIENCE, restore_best_weights=True
    )
    validation = scaled(ctx.splits.validation, SMALL_VALIDATION)
    # Arrays work too: fit cuts them into batches, reshuffled every epoch.
    history = model.fit(
        *scaled(ctx.splits.train, SMALL_TRAIN),
        batch_size=SMALL_BATCH,
        epochs=MAX_EPOCHS,
        shuffle=True,
        validation_data=validation,
        callbacks=[stopper, EpochLine(f"{SMALL_TRAIN} images")],
        verbose=0,
    )
    val_loss = history.history["val_loss"]
    best = int(np.argmin(val_loss))
    restored_loss = model.evaluate(
        *validation, batch_size=SMALL_VALIDATION, verbose=0
    )[0]
    ctx.record(
        early_stop_epochs_run=len(val_loss),
        early_stop_best_epoch=best + 1,
        early_stop_patience=PATIENCE,
        early_stop_best_val_loss=round(val_loss[best], 4),
        early_stop_restored_val_loss=round(restored_loss, 4),
    )
    return {
        f"epochs run (of {MAX_EPOCHS})": len(val_loss),
        "best epoch": best + 1,
        "validation loss per epoch": [round(v, 3) for v in val_loss],
        "training loss per epoch": [
            round(v, 3) for v in history.history["loss"]
        ],
        "validation loss after restoring": round(restored_loss, 4),
    }


@lesson.step("load_model and continue training where the checkpoint left off")
def resume(ctx):
    """load_model rebuilds the model from the .keras file: layers, weights, and the optimizer
    with its step count and Adam's moment estimates, so training continues rather than
    restarts (lesson 06 restored Variables with a Saver; the optimizer's were among them).
    initial_epoch tells fit which epoch number to continue from."""
    last = ctx.logdir / "checkpoints" / ctx.summary["checkpoints"][-1]
    loaded = keras.models.load_model(last)
    probe = scaled(ctx.splits.test, 500)[0]
    # a model called on an array runs it once, eagerly (dropout off)
    same = float(np.abs(loaded(probe) - ctx.model(probe)).max())
    steps_before = int(loaded.optimizer.iterations.numpy())
    loaded.fit(
        training_stream(ctx.splits.train.images, ctx.splits.train.labels),
        initial_epoch=EPOCHS[ctx.mode],
        epochs=EPOCHS[ctx.mode] + 1,
        steps_per_epoch=ctx.steps_per_epoch,
        shuffle=False,
        callbacks=[EpochLine("loaded")],
        verbose=0,
    )
    accuracy = loaded.evaluate(
        *scaled(ctx.splits.test), batch_size=VALIDATION_BATCH, verbose=0
    )[1]
    ctx.record(
        loaded_max_difference=same,
        optimizer_steps_loaded=steps_before,
        optimizer_steps_after=int(loaded.optimizer.iterations.numpy()),
        continued_test_accuracy=round(accuracy, 4),
    )
    return {
        "loaded": last.name,
        "largest prediction difference from the model in memory": same,
        "optimizer steps when loaded": steps_before,
        "after one more epoch": ctx.summary["optimizer_steps_after"],
        "test accuracy after it": round(accuracy, 4),
    }


@lesson.step(
    "the same network, data and steps by hand: lesson 10's graph in a Session"
)
def against_by_hand(ctx):
    """Lesson 10's loop (packaged as lowtf.train.train) trains the same network on the same
    training split for the same steps, batch size and Adam rate. This process runs eagerly
    for Keras, but inside `with tf.Graph().as_default():` TensorFlow builds a graph and
    runs it in a Session as in every graph-mode lesson; no Keras object is in that graph,
    and Keras is eager again after the block. The initial weights differ: the tutorial's
    truncated normal (stddev 0.1) by hand, Keras's Glorot uniform here: after the
    few steps of --fast that alone can put one side ahead on test accuracy. Speed is
    compared step by step: each training step's own time, on both sides (both run
    TensorFlow's kernels underneath), with the spread over the steps as the noise."""
    steps = ctx.summary["keras_steps"]
    config = TrainConfig(
        steps=steps,
        batch_size=BATCH_SIZE,
        seed=SEED,
        name="by hand",
        eval_points=EPOCHS[ctx.mode],
        histogram_every=steps,
        checkpoint_seconds=10**9,
        trace_step=None,  # no traced step: each step's time is a plain one
    )
    # the same training split; Keras scored the validation split
    held_out = dataclasses.replace(ctx.splits, validation=None)
    stamps = {}  # global step -> when it ended, for each step's duration

    def stamp(sess, step, params):
        stamps[step] = time.perf_counter()

    with tf.Graph().as_default():  # graph mode in this block only
        by_hand = train(
            lambda images, training: lenet5(images, training, init="tutorial"),
            held_out,
            lambda step: tf.compat.v1.train.AdamOptimizer(LEARNING_RATE),
            config,
            ctx.logdir / "by_hand",
            hooks=[Hook(1, stamp)],
        )
    # Each step's time, as the Keras callback took it: the first (graph
    # optimisation) and those next to an evaluation of the test set left out
    evaluated = {e for s in by_hand.eval_steps for e in (s, s + 1)}
    by_hand_ms = [
        1000 * (stamps[s] - stamps[s - 1])
        for s in sorted(stamps)
        if s >= 2 and s - 1 in stamps and s not in evaluated
    ]
    keras_ms = [1000 * t for t in ctx.timer.step_seconds[1:]]
    speed = ctx.verdict(
        verdicts.repeated(
            "ms per training step, Keras vs by hand",
            keras_ms,
            by_hand_ms,
            names=("Keras", "by hand"),
            ahead="slower than",
            digits=1,
        )
    )
    ratio = ctx.summary["keras_images_per_second"] / by_hand.images_per_second
    ctx.record(
        by_hand_test_accuracy=round(by_hand.final_test_accuracy, 4),
        by_hand_images_per_second=round(by_hand.images_per_second),
        keras_speed_ratio=round(ratio, 2),
        eager_after_the_graph=tf.executing_eagerly(),
    )
    accuracy = ctx.verdict(
        verdicts.accuracies(
            "Keras vs by hand, test accuracy",
            ctx.summary["keras_test_accuracy"],
            by_hand.final_test_accuracy,
            len(ctx.splits.test),
            names=("Keras", "by hand"),
        )
    )
    return {
        "steps": steps,
        "test accuracy, Keras / by hand": (
            ctx.summary["keras_test_accuracy"],
            round(by_hand.final_test_accuracy, 4),
        ),
        "accuracy": accuracy,
        "images/s, Keras / by hand": (
            ctx.summary["keras_images_per_second"],
            round(by_hand.images_per_second),
        ),
        "ms per step, mean of each step's own time": (
            round(float(np.mean(keras_ms)), 1),
            round(float(np.mean(by_hand_ms)), 1),
        ),
        "speed (2 SE from the steps' spread)": speed,
        "eager again after the block": tf.executing_eagerly(),
        "TensorBoard": ctx.tensorboard()
        + "\n(keras/ and by_hand/ side by side)",
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
