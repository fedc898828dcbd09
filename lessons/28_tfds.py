"""TensorFlow Datasets offline: the catalogue, a builder of our own, tfds.load with its info, ImageFolder, and fit."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import contextlib
import inspect
import io
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from absl import logging as absl_logging

from lowtf import verdicts
from lowtf.data.image_folder import ensure_image_folder
from lowtf.data.splits import load_splits
from lowtf.data.store import data_dir

lesson = Lesson(
    "28", "tfds", keras=True
)  # Keras runs eagerly: a process of its own
tfds.disable_progress_bar()  # the lesson says what is prepared; no bars over its output
absl_logging.set_verbosity(
    absl_logging.ERROR
)  # TFDS's notes on folders it is about to fill

# --- knobs -----------------------------------------------------------------------------
# which of the builder's two configs tfds.load prepares
CONFIG = {"fast": "small", "full": "all"}
EPOCHS = {"fast": 1, "full": 3}  # --fast: one pass of 6,000 digits, ~0.9
BATCH_SIZE = 128
SEED = 28


def registered(name: str) -> bool:
    """Whether a builder of this name is in TFDS's registry (this lesson loaded twice in one
    process, as its tests and notebooks do, must not define it twice)."""
    try:
        tfds.builder_cls(name)
        return True
    except tfds.core.registered.DatasetNotFoundError:
        return False


class LowtfMnist(
    tfds.core.GeneratorBasedBuilder,
    skip_registration=registered("lowtf_mnist"),
):
    """MNIST as a TFDS dataset, from the course's verified IDX files.

    A builder says what an example holds (_info), which splits there
    are (_split_generators) and yields the examples; download_and_prepare
    writes them once as TFRecord shards, tfds.load reads those after."""

    VERSION = tfds.core.Version("1.0.0")
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name="small"),
        tfds.core.BuilderConfig(name="all"),
    ]
    SIZES = {"small": (6000, 1000), "all": (60000, 10000)}

    def _info(self) -> tfds.core.DatasetInfo:
        features = tfds.features.FeaturesDict(
            {
                "image": tfds.features.Image(shape=(28, 28, 1)),
                "label": tfds.features.ClassLabel(num_classes=10),
            }
        )
        # supervised_keys: what as_supervised=True hands back
        return tfds.core.DatasetInfo(
            builder=self,
            features=features,
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        # A downloading builder calls dl_manager.download(URL) here;
        # this one reads the course's local files.
        mnist = load_splits("mnist", validation_size=0)
        train, test = self.SIZES[self.builder_config.name]
        return {
            "train": self._generate_examples(mnist.train, train),
            "test": self._generate_examples(mnist.test, test),
        }

    def _generate_examples(self, split, count):
        for i in range(count):
            image = split.images[i].reshape(28, 28, 1).astype(np.uint8)
            yield i, {"image": image, "label": int(split.labels[i])}


@lesson.step(
    "the catalogue: tfds.list_builders(), and what "
    "tfds.load('tf_flowers') would download"
)
def catalogue(ctx):
    """TFDS is a catalogue of dataset builders: each knows where its files live
    online, how to check them and how to turn them into examples. tfds.load(name)
    finds the builder, downloads and prepares the data the first time, and reads
    it from then on. No download is possible here, so the lesson reads what the
    installed TFDS would fetch for the flowers article's dataset from the
    builder's own checksums file, and downloads nothing."""
    names = tfds.list_builders()
    code = Path(inspect.getfile(tfds.builder_cls("tf_flowers"))).parent
    row = (code / "checksums.tsv").read_text().split("\t")
    url, size, file_name = row[0], row[1], row[3]
    ctx.record(builders=len(names), flowers_download_bytes=int(size))
    return {
        "builders in the catalogue": len(names),
        "a few": [n for n in names if n in ("mnist", "tf_flowers")],
        "tfds.load('tf_flowers') would download": (
            f"{file_name.strip()}, {int(size):,} bytes from {url}"
        ),
    }


@lesson.step(
    "tfds.load(name, with_info=True, as_supervised=True, split=...) "
    "on a builder of our own"
)
def load(ctx):
    """The flowers article's call, on the builder above (defining the class
    registers its name, lowtf_mnist; '/small' picks a config). tfds.load prepares
    the data the first time (download_and_prepare) and reads it after; here the
    lesson prepares it first, so that it can say so in one line instead of TFDS's
    banner ("downloaded and prepared": nothing was downloaded). info is the
    dataset's metadata: the features, the number of classes of the label, the
    size of each split. as_supervised=True gives (image, label) pairs instead of
    a dict per example."""
    folder = str(data_dir() / "tfds")
    builder = LowtfMnist(config=CONFIG[ctx.mode], data_dir=folder)
    prepared = builder.is_prepared()
    if not prepared:
        with contextlib.redirect_stdout(io.StringIO()):  # TFDS's banner
            builder.download_and_prepare()
    state = "already prepared" if prepared else "prepared now"
    print(
        f"   {builder.name}/{CONFIG[ctx.mode]}: {state} in\n"
        f"      {builder.data_dir}"
    )
    (ctx.train, ctx.test), info = tfds.load(
        f"lowtf_mnist/{CONFIG[ctx.mode]}",
        data_dir=folder,
        split=["train", "test"],
        with_info=True,
        as_supervised=True,
    )
    image, label = next(iter(ctx.train))
    ctx.num_classes = info.features["label"].num_classes
    sizes = {k: v.num_examples for k, v in info.splits.items()}
    ctx.test_size = sizes["test"]
    ctx.record(
        num_classes=ctx.num_classes,
        split_sizes=sizes,
        example=[list(image.shape), image.dtype.name],
    )
    return {
        "info.features": str(info.features),
        "num_classes": ctx.num_classes,
        "split sizes": sizes,
        "one example": f"image {image.shape} {image.dtype.name}, "
        f"label {int(label)}",
    }


@lesson.step("tfds.ImageFolder: lesson 22's PNG folders as a TFDS dataset")
def image_folder(ctx):
    """Images sorted into one folder per class under train/ and test/ are what
    tfds.ImageFolder reads: the folders become the splits, the class folders the
    label names, and it hands back the same info and as_dataset as any builder.
    Nothing is prepared: the PNG files are read as the dataset is iterated."""
    root = str(ensure_image_folder().root)
    builder = tfds.ImageFolder(root, shape=(28, 28, 1))
    label = builder.info.features["label"]
    sizes = {k: v.num_examples for k, v in builder.info.splits.items()}
    images = builder.as_dataset(
        split="train", as_supervised=True, shuffle_files=True
    )
    image, _ = next(iter(images))
    ctx.record(
        image_folder_classes=label.num_classes, image_folder_splits=sizes
    )
    return {
        "label names": label.names[:3] + ["..."],
        "num_classes": label.num_classes,
        "split sizes": sizes,
        "one image": f"{image.shape} {image.dtype.name}",
    }


def to_float(image, label):
    return tf.cast(image, tf.float32) / 255.0, label


@lesson.step("from tfds.load to fit: map, cache, shuffle, batch, prefetch")
def fit(ctx):
    """What tfds.load returns is a tf.data.Dataset: the pipeline of lesson 22
    chains on (uint8 to float in map, cache, shuffle each epoch, batch,
    prefetch) and Keras trains from it. The test accuracy is printed with its
    standard error over the test images."""
    keras.utils.set_random_seed(SEED)
    train = (
        ctx.train.map(to_float, num_parallel_calls=tf.data.AUTOTUNE)
        .cache()
        .shuffle(10_000, seed=SEED)
        .batch(BATCH_SIZE)
        .prefetch(tf.data.AUTOTUNE)
    )
    test = ctx.test.map(to_float).batch(1000).cache()
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(16, 5, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(ctx.num_classes, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    # shuffle=False: the Dataset shuffles itself (Keras's flag is for arrays)
    model.fit(train, epochs=EPOCHS[ctx.mode], shuffle=False, verbose=0)
    _, accuracy = model.evaluate(test, verbose=0)
    chance = 1 / ctx.num_classes  # a fixed number: only the accuracy's SE
    se = verdicts.accuracy_se(accuracy, ctx.test_size)
    verdict = verdicts.with_se(
        "test accuracy vs chance",
        accuracy,
        chance,
        se,
        names=("the model", "chance"),
        kind="proportion",
    )
    ctx.record(test_accuracy=round(accuracy, 4), verdicts=[verdict.as_dict()])
    return {
        "test accuracy": f"{accuracy:.4f} ± {se:.4f} "
        f"on {ctx.test_size:,} test images",
        "verdict": verdict.verdict,
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
