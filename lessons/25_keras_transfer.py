"""Transfer learning the flowers article's way: a trained base, headless under GlobalAveragePooling2D, frozen, then fine-tuned."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on


import keras
import numpy as np
import tensorflow as tf
from keras import layers

from lowtf.data.fashion_mnist import CLASSES
from lowtf.data.splits import load_splits
from lowtf.viz.plots import transfer_plot
from lowtf.train.keras_progress import (
    EpochLine,
    Ticking,
)  # one line per epoch; a dot every 2 s
from lowtf import verdicts

lesson = Lesson(
    "25", "keras transfer", keras=True
)  # Keras runs eagerly: a process of its own

# --- knobs -----------------------------------------------------------------------------
SOURCE_CLASSES = (
    0,
    1,
    2,
    5,
    8,
)  # T-shirt/top, Trouser, Pullover, Sandal, Bag: the big labelled set
TARGET_CLASSES = (
    3,
    4,
    6,
    7,
    9,
)  # Dress, Coat, Shirt, Sneaker, Ankle boot: the new task
SOURCE_EPOCHS = {"fast": 1, "full": 2}
# None: all 30,000; at 8,000 a 16-32-64 base was not worth transferring
# (with 80 scratch steps); 12,000 with 50 steps gave transfer +0.10 at 25
# labels. The 8-16-32 base now: a quarter of the arithmetic, ~0.9 source
# test accuracy against ~0.93
SOURCE_IMAGES = {"fast": 12000, "full": None}
SOURCE_TEST = {"fast": 2000, "full": None}  # None: all 5,000
# None: all 30,000 of the target classes
LABELS = {"fast": (25, 2000), "full": (25, 100, 1000, None)}
# passes over the labelled images, within [MIN_STEPS, MAX_STEPS]
EPOCHS_PER_RUN = {"fast": 6, "full": 10}
MIN_STEPS = {"fast": 50, "full": 200}
MAX_STEPS = {"fast": 100, "full": 2000}
FINE_TUNE_STEPS = {"fast": 30, "full": 200}
# None: all 5,000 test images of the target classes; every model is scored on
# the same ones (a paired comparison), so 2,500 resolve a gain of ~0.02
TEST_IMAGES = {"fast": 2500, "full": None}
BATCH_SIZE = 32
# scratch's rate: the thin base from scratch barely moved in 50 steps at
# 1e-3 (0.19-0.39 on 25 labels over three seeds, chance 0.2); at 3e-3 it
# reached 0.52-0.68, as the 16-32-64 base did at 1e-3: a fair baseline
LEARNING_RATE = 3e-3
TUNE_RATE = 1e-4  # fine-tuning: small steps, not to wreck the features
# a frozen base leaves a linear classifier: it takes a larger step
HEAD_RATE = 3e-2
SOURCE_RATE = 2e-3
SEED = 25


def subset(images, labels, classes, n=None, seed=SEED):
    """The images of ``classes`` (shuffled, the first ``n``), as float32
    in [0, 1], labels renumbered 0..4."""
    keep = np.flatnonzero(np.isin(labels, classes))
    keep = np.random.default_rng(seed).permutation(keep)[:n]
    return images[keep].astype(np.float32) / 255.0, np.searchsorted(
        classes, labels[keep]
    )


def conv_base() -> keras.Model:
    """[N, 28, 28, 1] -> feature maps [N, 7, 7, 32]: three blocks of 3x3
    convolutions, the last one "top"."""
    image = keras.Input((28, 28, 1))
    x = layers.Conv2D(
        8, 3, padding="same", activation="relu", name="block1_conv1"
    )(image)
    x = layers.Conv2D(
        8, 3, padding="same", activation="relu", name="block1_conv2"
    )(x)
    x = layers.MaxPooling2D(2, name="block1_pool")(x)
    x = layers.Conv2D(
        16, 3, padding="same", activation="relu", name="block2_conv1"
    )(x)
    x = layers.Conv2D(
        16, 3, padding="same", activation="relu", name="block2_conv2"
    )(x)
    x = layers.MaxPooling2D(2, name="block2_pool")(x)
    x = layers.Conv2D(
        32, 3, padding="same", activation="relu", name="top_conv1"
    )(x)
    x = layers.Conv2D(
        32, 3, padding="same", activation="relu", name="top_conv2"
    )(x)
    return keras.Model(image, x, name="base")


def with_head(base: keras.Model) -> keras.Model:
    """base -> GlobalAveragePooling2D (one number per feature map:
    [N, 32]) -> Dense(5, softmax)."""
    image = keras.Input((28, 28, 1))
    features = layers.GlobalAveragePooling2D()(base(image, training=False))
    return keras.Model(
        image, layers.Dense(5, activation="softmax", name="head")(features)
    )


def compiled(
    model: keras.Model, rate: float, steps: int | None = None
) -> keras.Model:
    """Adam at ``rate``; given ``steps``, the rate decays to 0 along a
    cosine over that many steps."""
    if steps is not None:
        rate = keras.optimizers.schedules.CosineDecay(
            rate, decay_steps=steps
        )
    # No metrics: right() below scores every model on the test images.
    model.compile(
        keras.optimizers.Adam(rate), "sparse_categorical_crossentropy"
    )
    # Adam's moment variables made now, not inside fit's first trace:
    # a trace that creates variables is traced again, so fit's step is
    # traced once instead of twice (~1 CPU s per model here)
    model.optimizer.build(model.trainable_variables)
    return model


def right(model: keras.Model, x, y) -> np.ndarray:
    """[N]: 1.0 where the model's top class is the label, else 0."""
    scores = model.predict(x, batch_size=500, verbose=0)
    return (scores.argmax(axis=1) == y).astype(np.float32)


@lesson.step(
    "the base: a small convolutional network trained on the big labelled set"
)
def pretrain(ctx):
    """The flowers article took InceptionV3 trained on ImageNet (1.4 million labelled
    photos). Nothing can be downloaded here, so the course makes its own stand-in: a
    three-block convolutional base trained on five Fashion-MNIST classes (T-shirts,
    trousers, pullovers, sandals, bags). The new task is the other five (dresses, coats,
    shirts, sneakers, ankle boots): related pictures, but classes the base never saw, as
    ImageNet never labelled the article's flowers by species."""
    keras.utils.set_random_seed(SEED)
    splits = load_splits("fashion_mnist", validation_size=0)
    x, y = subset(
        splits.train.images,
        splits.train.labels,
        SOURCE_CLASSES,
        SOURCE_IMAGES[ctx.mode],
    )
    ctx.base = conv_base()
    source = compiled(with_head(ctx.base), SOURCE_RATE)
    source.fit(
        x,
        y,
        batch_size=128,
        epochs=SOURCE_EPOCHS[ctx.mode],
        callbacks=[EpochLine("base")],
        verbose=0,
    )
    tx, ty = subset(
        splits.test.images,
        splits.test.labels,
        SOURCE_CLASSES,
        SOURCE_TEST[ctx.mode],
    )
    accuracy = float(right(source, tx, ty).mean())
    ctx.base.save(ctx.logdir / "base.keras")
    ctx.target_train = subset(
        splits.train.images, splits.train.labels, TARGET_CLASSES
    )
    ctx.target_test = subset(
        splits.test.images,
        splits.test.labels,
        TARGET_CLASSES,
        TEST_IMAGES[ctx.mode],
    )
    ctx.record(
        source_images=len(y),
        source_test_accuracy=round(accuracy, 4),
        base_parameters=ctx.base.count_params(),
    )
    return {
        "source classes": [CLASSES[c] for c in SOURCE_CLASSES],
        "trained on": len(y),
        "its test accuracy on them": round(accuracy, 4),
        "base parameters": ctx.base.count_params(),
        "new task": [CLASSES[c] for c in TARGET_CLASSES],
        "saved": ctx.logdir / "base.keras",
    }


@lesson.step("where ImageNet weights would slot in")
def imagenet(ctx):
    """With a network connection, the article's base is one line:
        base = keras.applications.InceptionV3(include_top=False, weights="imagenet")
    include_top=False drops ImageNet's 1000-class head and leaves feature maps; weights=
    "imagenet" downloads the trained weights. Built here with weights=None (nothing is
    downloaded, so it is untrained) to show the shapes: the rest of the lesson is the same
    with either base. Real bases want colour images of their own size (75x75 at least for
    InceptionV3), so Fashion-MNIST would be resized and repeated to three channels first."""
    inception = keras.applications.InceptionV3(
        include_top=False, weights=None, input_shape=(75, 75, 3)
    )
    return {
        "InceptionV3 base output": tuple(inception.output.shape),
        "its parameters": inception.count_params(),
        "ours": (tuple(ctx.base.output.shape), ctx.base.count_params()),
    }


def steps_for(n: int, ctx) -> int:
    """Training steps for ``n`` labelled images: a few passes, but at
    least enough to learn and at most a budget."""
    return min(
        MAX_STEPS[ctx.mode],
        max(
            MIN_STEPS[ctx.mode], EPOCHS_PER_RUN[ctx.mode] * n // BATCH_SIZE
        ),
    )


def train_head(model: keras.Model, x, y, steps: int) -> None:
    """``steps`` batches of ``BATCH_SIZE`` drawn from (x, y), reshuffled
    every pass."""
    stream = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(y), seed=SEED)
        .repeat()
        .batch(BATCH_SIZE)
        .prefetch(tf.data.AUTOTUNE)
    )
    with Ticking():
        model.fit(
            stream,
            steps_per_epoch=steps,
            epochs=1,
            shuffle=False,
            verbose=0,
        )


@lesson.step("scratch, frozen, fine-tuned: with few labels and with many")
def compare(ctx):
    """For each number of labelled images of the new task, three models, each with the
    same head (GlobalAveragePooling2D + Dense(5)):
      scratch    - a fresh base, everything trained on the few labels (Adam at 3e-3);
      frozen     - the trained base with base.trainable = False: only the head's 165
                   weights learn (at a larger rate, 3e-2: it is a linear classifier on
                   fixed features);
      fine-tuned - the frozen model, then its top block unfrozen and trained on at a low
                   rate, 1e-4 (after the head has learned: a random head's large
                   gradients would wreck the base's features).
    Changing trainable needs a new compile to take effect. Every run's rate decays to 0
    along a cosine over its steps, so the weights it ends with have settled: at a constant
    3e-2 the frozen head's test accuracy swung by several points from one checkpoint to
    the next within a run (in full mode that once ranked 1,000 labels below 100 by chance)."""
    x_all, y_all = ctx.target_train
    tx, ty = ctx.target_test
    table, ctx.right = {}, {}
    for n in LABELS[ctx.mode]:
        x, y = x_all[:n], y_all[:n]
        print(f"   {len(y):,} labels:", end="", flush=True)
        keras.utils.set_random_seed(SEED)
        steps = steps_for(len(y), ctx)
        scratch = compiled(with_head(conv_base()), LEARNING_RATE, steps)
        train_head(scratch, x, y, steps)
        scored = {"scratch": right(scratch, tx, ty)}
        row = {"scratch": round(float(scored["scratch"].mean()), 4)}
        print(f" scratch {row['scratch']}", end="", flush=True)

        base = keras.models.load_model(ctx.logdir / "base.keras")
        base.trainable = False
        frozen = compiled(with_head(base), HEAD_RATE, steps)
        train_head(frozen, x, y, steps)
        scored["frozen"] = right(frozen, tx, ty)
        row["frozen"] = round(float(scored["frozen"].mean()), 4)
        print(f", frozen {row['frozen']}", end="", flush=True)

        base.trainable = True
        for layer in base.layers:
            layer.trainable = layer.name.startswith("top_")
        tuned = compiled(
            frozen, TUNE_RATE, FINE_TUNE_STEPS[ctx.mode]
        )  # the same model, recompiled
        train_head(tuned, x, y, FINE_TUNE_STEPS[ctx.mode])
        scored["fine-tuned"] = right(tuned, tx, ty)
        row["fine-tuned"] = round(float(scored["fine-tuned"].mean()), 4)
        print(f", fine-tuned {row['fine-tuned']}", flush=True)
        table[len(y)], ctx.right[len(y)] = row, scored
    ctx.table = table
    ctx.record(transfer={str(n): row for n, row in table.items()})
    return {f"{n:,} labels": row for n, row in table.items()}


@lesson.step("what the numbers say")
def verdict(ctx):
    """Transfer is expected to pay when labels are few: the base brings features learned from
    many images, and the head or the top block has little left to learn. With more labels, training from
    scratch has more to learn from and closes in; whether it has caught up at the largest
    count depends on how long it trains (here a fixed budget of steps).
    How much a base is worth depends on what it learned. This stand-in saw 12,000 (--fast) to 30,000
    images of five other garments: far less, and far narrower, than ImageNet's 1.4
    million photos of 1,000 classes behind the article's gain, and a base that general
    cannot be downloaded here. So expect a smaller gain, if any; the run says how much.
    transfer.png plots the table; the verdict below is computed from it: each accuracy
    is measured on a few thousand test images, the same images for every model, so the
    gain is read image by image (a paired standard error: what both models get right or
    both get wrong adds no noise), and a gain under two standard errors is reported as "no difference beyond noise" (this run cannot tell the two apart, which
    does not show they are equal). Taking the better of frozen and fine-tuned favours
    transfer a little."""
    counts = sorted(ctx.table)
    few, many = counts[0], counts[-1]
    tested = len(
        ctx.target_test[1]
    )  # every accuracy is on this many test images: it has noise
    best = {
        n: max(ctx.table[n]["frozen"], ctx.table[n]["fine-tuned"])
        for n in counts
    }
    gain = {n: best[n] - ctx.table[n]["scratch"] for n in counts}
    said = {}
    for n in (few, many):
        # the better transfer model's right/wrong on each test image against
        # scratch's on the same image: a paired comparison
        better = max(("frozen", "fine-tuned"), key=ctx.table[n].get)
        said[n] = ctx.verdict(
            verdicts.paired(
                f"best transfer vs scratch, {n:,} labels",
                ctx.right[n][better],
                ctx.right[n]["scratch"],
                names=("transfer", "scratch"),
            )
        )
    picture = transfer_plot(
        ctx.table,
        ctx.logdir / "transfer.png",
        tested=tested,
        chance=1 / len(TARGET_CLASSES),
        title="the new task (5 classes the base never saw): test accuracy",
    )
    ctx.record(
        gain_with_few_labels=round(gain[few], 4),
        gain_with_many_labels=round(gain[many], 4),
        transfer_helped_with_few=said[few].startswith("transfer ahead"),
    )
    says = (
        f"with {few:,} labels: {said[few]}; with {many:,} labels: {said[many]}"
    )
    return {
        "best transfer minus scratch": {
            f"{n:,}": round(g, 4) for n, g in gain.items()
        },
        "so": says,
        "plot": picture,
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
