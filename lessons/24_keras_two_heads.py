"""Two heads in Keras: a softmax head and a sigmoid head on one trunk, a loss dict, per-label thresholds picked on validation."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on


import keras
import numpy as np
import tensorflow as tf
from keras import layers

from lowtf import verdicts
from lowtf.data.image_folder import (
    ATTRIBUTES,
    Labels,
    ensure_image_folder,
    read_labels,
)
from lowtf.train.keras_progress import EpochLine  # one line per epoch

lesson = Lesson(
    "24", "keras two heads", keras=True
)  # Keras runs eagerly: a process of its own

# --- knobs -----------------------------------------------------------------------------
EPOCHS = {"fast": 3, "full": 12}
# None: all 9,000 left after validation
TRAIN_FILES = {"fast": 4000, "full": None}
VALIDATION_FILES = 1000
BATCH_SIZE = 64
LOSS_WEIGHTS = {"kind": 1.0, "attributes": 0.5}
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.05), 2)
SEED = 24
BOOTSTRAP = 200  # resamples of the test files for the standard error of an F2 difference


def rows(labels: Labels, picked: np.ndarray) -> Labels:
    return Labels(
        labels.paths[picked],
        labels.labels[picked],
        labels.attributes[picked],
    )


def load(path, targets):
    """A PNG file name -> float32 [28, 28, 1] in [0, 1]; the targets
    pass through (lesson 22)."""
    image = tf.io.decode_png(tf.io.read_file(path), channels=1)
    return image / 255, targets


def dataset(split: Labels, shuffle: bool) -> tf.data.Dataset:
    """(images, {"kind": [B], "attributes": [B, 4]}): the targets are a
    dict keyed by output name."""
    data = tf.data.Dataset.from_tensor_slices(
        (
            split.paths,
            {"kind": split.labels, "attributes": split.attributes},
        )
    )
    data = data.map(load, num_parallel_calls=tf.data.AUTOTUNE).cache()
    if shuffle:
        data = data.shuffle(len(split), seed=SEED)
    return data.batch(BATCH_SIZE).prefetch(tf.data.AUTOTUNE)


@lesson.step(
    "the data: image files, a class and four yes/no attributes each, from the CSV"
)
def the_data(ctx):
    """The satellite article predicted one weather (of four) and any number of ground labels
    per image. Here, from lesson 22's files and labels.csv: one kind of garment (of ten) and
    four attributes, any of which can be true (top, footwear, dark, large). Validation files
    are held out of the training files to pick thresholds on later; the test files are
    scored once at the end."""
    keras.utils.set_random_seed(SEED)
    images = ensure_image_folder()
    train = read_labels(images, "train")
    order = np.random.default_rng(SEED).permutation(len(train))
    ctx.validation = rows(train, order[:VALIDATION_FILES])
    ctx.train = rows(train, order[VALIDATION_FILES:][: TRAIN_FILES[ctx.mode]])
    ctx.test = read_labels(images, "test")
    ctx.record(
        train_files=len(ctx.train),
        validation_files=len(ctx.validation),
        test_files=len(ctx.test),
    )
    return {
        "files (train, validation, test)": (
            len(ctx.train),
            len(ctx.validation),
            len(ctx.test),
        ),
        "attributes": ATTRIBUTES,
        "share of training files with each": dict(
            zip(
                ATTRIBUTES, ctx.train.attributes.mean(axis=0).round(3).tolist()
            )
        ),
    }


def two_heads() -> keras.Model:
    """input_image [N, 28, 28, 1] -> kind [N, 10] (softmax), attributes
    [N, 4] (sigmoid)."""
    image = keras.Input((28, 28, 1), name="input_image")
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(image)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(0.3)(
        layers.Dense(256, activation="relu")(layers.Flatten()(x))
    )
    # kind: one of ten; attributes: each yes/no
    kind = layers.Dense(10, activation="softmax", name="kind")(x)
    attributes = layers.Dense(
        len(ATTRIBUTES), activation="sigmoid", name="attributes"
    )(x)
    return keras.Model(image, [kind, attributes], name="two_heads")


@lesson.step("a functional model with two named outputs")
def model(ctx):
    """One trunk, two heads, each a Dense layer with its own name and activation: softmax
    for the one-of-ten kind (its outputs sum to 1), sigmoid for the attributes (each output
    is its own probability). The functional API is what makes the branch possible; lesson
    19 built the same shape by hand."""
    ctx.model = two_heads()
    ctx.record(
        output_shapes={
            name: list(o.shape)
            for name, o in zip(ctx.model.output_names, ctx.model.outputs)
        }
    )
    return {
        "outputs": ctx.model.output_names,
        "output shapes": [tuple(o.shape) for o in ctx.model.outputs],
        "parameters": ctx.model.count_params(),
    }


@lesson.step(
    "compile with a loss per output, loss weights and metrics per output"
)
def compile_it(ctx):
    """The loss dict gives each output its loss, by name: categorical cross-entropy for the
    softmax head (sparse: the labels are class numbers, not one-hot), binary cross-entropy
    for the sigmoid head (one per attribute, averaged). Keras minimises their weighted sum:
    loss = 1.0 * kind_loss + 0.5 * attributes_loss (lesson 19 summed them by hand). Metrics
    are per output too, and fit reports them as kind_accuracy, attributes_auc, ...
    Lessons 07 and 23 said: take the loss on logits, not on probabilities (log of a
    softmax that rounded to 0 is -inf). Keras does that here without being asked: its
    TensorFlow backend sees that each output came straight from a Softmax or Sigmoid op
    and takes that op's input, the logits (_get_logits in keras/src/backend/tensorflow/
    nn.py). It only works while the output is the activation's own tensor; put anything
    after it and write activation=None with from_logits=True instead."""
    ctx.model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss={
            "kind": "sparse_categorical_crossentropy",
            "attributes": "binary_crossentropy",
        },
        loss_weights=LOSS_WEIGHTS,
        metrics={
            "kind": ["accuracy"],
            "attributes": [
                keras.metrics.BinaryAccuracy(name="accuracy"),
                keras.metrics.AUC(name="auc"),
            ],
        },
    )
    return {
        "loss": {
            "kind": "sparse_categorical_crossentropy",
            "attributes": "binary_crossentropy",
        },
        "loss_weights": LOSS_WEIGHTS,
    }


@lesson.step("fit on the files, both heads at once")
def fit(ctx):
    """The dataset yields (image, {"kind": ..., "attributes": ...}): targets keyed by output
    name, so each head gets its own labels. On every batch the total loss is exactly the
    weighted sum of the two. Over an epoch Keras reports the total as the mean over every
    example of the epoch, but each head's loss as the mean of its per-batch means (checked
    on 10 examples in batches of 4, 4 and 2), so the two figures below differ a little when
    the last batch is short (in --fast, 4,000 files = 62 batches of 64 and one of 32)."""
    history = ctx.model.fit(
        dataset(ctx.train, shuffle=True),
        validation_data=dataset(ctx.validation, False),
        epochs=EPOCHS[ctx.mode],
        shuffle=False,
        callbacks=[EpochLine()],
        verbose=0,
    )  # the dataset shuffles itself
    last = {k: round(v[-1], 4) for k, v in history.history.items()}
    weighted = (
        LOSS_WEIGHTS["kind"] * last["kind_loss"]
        + LOSS_WEIGHTS["attributes"] * last["attributes_loss"]
    )
    results = ctx.model.evaluate(
        dataset(ctx.test, False), return_dict=True, verbose=0
    )
    ctx.record(
        test_kind_accuracy=round(results["kind_accuracy"], 4),
        test_attributes_accuracy=round(results["attributes_accuracy"], 4),
        test_attributes_auc=round(results["attributes_auc"], 4),
    )
    return {
        "last epoch": last,
        "1.0 * kind_loss + 0.5 * attributes_loss (epoch means)": round(
            weighted, 4
        ),
        "test": {k: round(v, 4) for k, v in results.items()},
    }


def f2(truth: np.ndarray, predicted: np.ndarray) -> float:
    """F-beta with beta 2: recall counts four times as much as precision
    (the satellite contest's score)."""
    hits = float((truth * predicted).sum())
    precision = hits / max(predicted.sum(), 1)
    recall = hits / max(truth.sum(), 1)
    return (
        0.0
        if hits == 0
        else 5 * precision * recall / (4 * precision + recall)
    )


@lesson.step("a threshold per attribute, chosen on validation to maximise F2")
def thresholds(ctx):
    """A sigmoid says how likely; deciding yes needs a threshold. 0.5 is a guess. The
    satellite article's contest scored F2, which rewards recall four times more than
    precision, so the best threshold is lower than 0.5 where the model is unsure. Pick each
    attribute's threshold on the validation files (never on the test files), then score the
    test files once with 0.5 and with the chosen ones. Whether the chosen thresholds did
    better on the test files is read per attribute, with a standard error from a bootstrap:
    the test files resampled BOOTSTRAP times, F2 at both thresholds recomputed on each
    resample, the spread of the difference taken as its standard error."""
    _, validation_p = ctx.model.predict(
        dataset(ctx.validation, False), verbose=0
    )
    _, test_p = ctx.model.predict(dataset(ctx.test, False), verbose=0)
    chosen, table = {}, {}
    for j, name in enumerate(ATTRIBUTES):
        scores = [
            f2(ctx.validation.attributes[:, j], validation_p[:, j] > t)
            for t in THRESHOLDS
        ]
        chosen[name] = float(THRESHOLDS[int(np.argmax(scores))])
        table[name] = {
            "threshold": chosen[name],
            "validation F2 at 0.5 / chosen": (
                round(scores[list(THRESHOLDS).index(0.5)], 4),
                round(max(scores), 4),
            ),
            "test F2 at 0.5 / chosen": (
                round(f2(ctx.test.attributes[:, j], test_p[:, j] > 0.5), 4),
                round(
                    f2(ctx.test.attributes[:, j], test_p[:, j] > chosen[name]),
                    4,
                ),
            ),
        }
    rng = np.random.default_rng(SEED)
    resamples = [
        rng.integers(0, len(ctx.test.attributes), len(ctx.test.attributes))
        for _ in range(BOOTSTRAP)
    ]
    said = {}
    for j, name in enumerate(ATTRIBUTES):
        truth, p = ctx.test.attributes[:, j], test_p[:, j]
        differences = [
            f2(truth[r], p[r] > chosen[name]) - f2(truth[r], p[r] > 0.5)
            for r in resamples
        ]
        half, picked = table[name]["test F2 at 0.5 / chosen"]
        said[name] = ctx.verdict(
            verdicts.with_se(
                f"test F2, {name}: chosen threshold vs 0.5",
                picked,
                half,
                float(np.std(differences)),
                names=("chosen", "0.5"),
                kind="bootstrap",
            )
        )
    at_half = np.mean(
        [t["test F2 at 0.5 / chosen"][0] for t in table.values()]
    )
    at_chosen = np.mean(
        [t["test F2 at 0.5 / chosen"][1] for t in table.values()]
    )
    ctx.record(
        thresholds=chosen,
        test_f2_at_half=round(at_half, 4),
        test_f2_at_chosen=round(at_chosen, 4),
    )
    return {**table, "test F2, chosen threshold vs 0.5": said}


if __name__ == "__main__":
    raise SystemExit(lesson.main())
