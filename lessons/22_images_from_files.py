"""Images from files: PNG folders and a CSV of labels, read with tf.data, with Keras, with a PyDataset and from TFRecord."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import csv
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from lowtf import verdicts
from lowtf.data.image_folder import (
    ATTRIBUTES,
    CLASS_FOLDERS,
    ensure_image_folder,
    read_labels,
)
from lowtf.train.keras_progress import Ticking
from lowtf.viz.plots import sample_grid

lesson = Lesson(
    "22", "images from files", keras=True
)  # Keras runs eagerly: a process of its own

# --- knobs -----------------------------------------------------------------------------
# how many training files each reader reads (None: all 10,000)
IMAGES = {"fast": 3000, "full": None}
IMAGE_SIZE = (32, 32)  # every reader hands the model this size
BATCH_SIZE = 128
SHARDS = 4
SEED = 22
ROUNDS = 3  # every reader timed this many times, interleaved: one pass ranks them by chance
JPEG_FILES = 500  # the JPEG step writes this many of the PNGs again as JPEG
JPEG_QUALITY = 90  # 0-100: lower is smaller and less like the original
# What a TFRecord Example of one file holds (the TFRecord step), by feature name.
FEATURES = {
    "png": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.int64),
    "attributes": tf.io.FixedLenFeature([len(ATTRIBUTES)], tf.float32),
}


def images_per_second(batches) -> tuple[int, float]:
    """Pull every batch of ``batches`` (any iterable of (images,
    labels)); return (images, images/s)."""
    started, count = time.perf_counter(), 0
    for images, _ in batches:
        count += len(images)
    return count, count / (time.perf_counter() - started)


@lesson.step(
    "the data: PNG files in one folder per class, and a CSV of labels"
)
def the_files(ctx):
    """Images at work come as files, not as arrays in one download: a folder per class
    (the flowers article's layout) and a table of file names with labels (the satellite
    article's CSV, several yes/no attributes per image). The course writes such a folder
    from Fashion-MNIST, which it has already verified: 28x28 grey PNGs, 1,000 per class for
    training and 200 for testing, and labels.csv with the class and four attributes
    (top, footwear, dark, large). Look at the data before training on it: samples.png."""
    ctx.images = ensure_image_folder()
    ctx.train = read_labels(ctx.images, "train")
    if IMAGES[ctx.mode] is not None:
        keep = np.random.default_rng(SEED).permutation(len(ctx.train))[
            : IMAGES[ctx.mode]
        ]
        ctx.train.paths, ctx.train.labels, ctx.train.attributes = (
            ctx.train.paths[keep],
            ctx.train.labels[keep],
            ctx.train.attributes[keep],
        )
    first = [np.asarray(Image.open(p)) for p in ctx.train.paths[:16]]
    names = [
        CLASS_FOLDERS[label].split("_", 1)[1]
        for label in ctx.train.labels[:16]
    ]
    picture = sample_grid(
        np.stack(first),
        names,
        ctx.logdir / "samples.png",
        title="files this run reads, each with its class folder's name",
    )
    ctx.record(train_files=len(ctx.train))
    return {
        "class folders": sorted(
            p.name for p in ctx.images.train_dir.iterdir()
        ),
        "labels.csv, its header and first two rows": (
            ctx.images.labels_csv.read_text().splitlines()[:3]
        ),
        "files read in this run": len(ctx.train),
        "a look at them": picture,
    }


def multi_hot(
    tag_lists: list[str], vocabulary: tuple[str, ...]
) -> np.ndarray:
    """["top dark", "", ...] [N] -> float32 [N, len(vocabulary)]: 1
    where the row lists the tag."""
    column = {tag: i for i, tag in enumerate(vocabulary)}
    vectors = np.zeros((len(tag_lists), len(vocabulary)), np.float32)
    for row, tags in enumerate(tag_lists):
        for tag in (
            tags.split()
        ):  # an unknown tag is a KeyError: a typo in the CSV, said loudly
            vectors[row, column[tag]] = 1.0
    return vectors


@lesson.step("labels.csv by hand: rows, tag lists, multi-hot vectors")
def read_the_csv(ctx):
    """The satellite article read its CSV into a table (pandas) whose 'tags' column listed
    each image's labels in one string, "agriculture clear primary", and turned those lists
    into multi-hot vectors: one column per tag, 1 where the image has it, several 1s at
    once (one-hot has exactly one). csv.DictReader gives the rows as dicts, no pandas
    needed. This CSV keeps one 0/1 column per attribute; the step writes the article's
    tag lists from them, turns the lists back into vectors by hand and with Keras's
    StringLookup, and checks all three against read_labels (the course's reader, used
    from here on and by lessons 24 and 26)."""
    with open(ctx.images.labels_csv, newline="") as f:
        rows = [row for row in csv.DictReader(f) if row["split"] == "train"]
    tag_lists = [
        " ".join(a for a in ATTRIBUTES if row[a] == "1") for row in rows
    ]
    by_hand = multi_hot(tag_lists, ATTRIBUTES)
    lookup = keras.layers.StringLookup(
        vocabulary=list(ATTRIBUTES), num_oov_indices=0, output_mode="multi_hot"
    )
    by_keras = lookup(tf.strings.split(tag_lists)).numpy()
    reference = read_labels(ctx.images, "train")
    same = (
        bool(np.array_equal(by_hand, reference.attributes))
        and bool(np.array_equal(by_keras, by_hand))
        and [int(row["label"]) for row in rows] == reference.labels.tolist()
    )
    ctx.record(csv_rows=len(rows), multi_hot_matches_reader=same)
    return {
        "first row, as csv.DictReader gives it": dict(rows[0]),
        "its tags, as the satellite CSV wrote them": tag_lists[0],
        "multi-hot, rows 0-2 (columns: "
        + ", ".join(ATTRIBUTES)
        + ")": by_hand[:3].astype(int).tolist(),
        "images with 0 / 1 / 2 / 3 tags": np.bincount(
            by_hand.sum(1).astype(int), minlength=4
        ).tolist(),
        "by hand = StringLookup = read_labels, every row": same,
    }


def load_png(path):
    """One file name -> (image float32 [32, 32, 1] in [0, 1], label from
    its folder's name)."""
    image = tf.io.decode_png(
        tf.io.read_file(path), channels=1
    )  # uint8 [28, 28, 1]
    image = tf.image.resize(image, IMAGE_SIZE) / 255.0  # float32, bilinear
    folder = tf.strings.split(path, "/")[-2]  # "7_sneaker"
    label = tf.argmax(tf.cast(tf.equal(folder, CLASS_FOLDERS), tf.int32))
    return image, label


@lesson.step(
    "tf.data from files: list the files, read_file, decode_png, resize"
)
def with_tf_data(ctx):
    """A dataset of file names, then map: read the bytes, decode them (decode_jpeg for JPEG,
    decode_image for either), resize to the size the model takes, scale to [0, 1]. The label
    comes from the folder's name, as the flowers article's classes did. Careful: list_files
    shuffles the file names unless told shuffle=False, a new order every epoch."""
    files = tf.data.Dataset.from_tensor_slices(ctx.train.paths)
    listed = tf.data.Dataset.list_files(
        str(ctx.images.train_dir / "*" / "*.png"), shuffle=False
    )
    image, label = next(iter(files.map(load_png)))
    # every file's label, read in batches of 500 (one element at a time,
    # Python's loop would take longer than the decoding)
    labels = np.concatenate(
        [
            y.numpy()
            for _, y in files.map(
                load_png, num_parallel_calls=tf.data.AUTOTUNE
            ).batch(500)
        ]
    )
    ctx.record(
        folder_labels_match_csv=bool(np.array_equal(labels, ctx.train.labels))
    )
    return {
        "files listed by list_files": int(listed.cardinality()),
        "one element": {
            "image": (image.shape, image.dtype.name),
            "label": int(label),
        },
        "label from the folder equals the CSV's label, every file": bool(
            np.array_equal(labels, ctx.train.labels)
        ),
    }


@lesson.step("JPEG instead of PNG, and the mean image subtracted")
def jpeg_and_mean(ctx):
    """Photos come as JPEG (the flowers and the low-level CNN articles downloaded JPEGs;
    nothing is downloaded here, so this step writes JPEG copies of the first JPEG_FILES
    PNGs). JPEG is lossy: it drops detail the eye misses, which makes photos several
    times smaller than PNG, and decode_jpeg gives back pixels near the originals, not
    equal to them. Tiny grey drawings on a flat background are PNG's best case: which
    format is smaller for these is measured, not assumed.
    The CNN article then subtracted the training images' mean image
    from every image, so each input pixel is centred on zero (the same mean, computed on
    training images only, is subtracted from test images too)."""
    folder = ctx.logdir / "jpeg"
    folder.mkdir(exist_ok=True)
    originals, decoded, png_bytes, jpeg_bytes = [], [], 0, 0
    for path in ctx.train.paths[:JPEG_FILES]:
        png = tf.io.read_file(path)
        image = tf.io.decode_png(png, channels=1)  # uint8 [28, 28, 1]
        jpeg_path = str(folder / (Path(path).stem + ".jpg"))
        tf.io.write_file(
            jpeg_path, tf.io.encode_jpeg(image, quality=JPEG_QUALITY)
        )
        decoded.append(
            tf.io.decode_jpeg(tf.io.read_file(jpeg_path), channels=1).numpy()
        )
        originals.append(image.numpy())
        png_bytes, jpeg_bytes = (
            png_bytes + len(png.numpy()),
            jpeg_bytes + Path(jpeg_path).stat().st_size,
        )
    error = np.abs(
        np.stack(decoded).astype(np.int16) - np.stack(originals)
    )  # in grey levels, 0-255
    images = np.stack(decoded).astype(np.float32) / 255.0  # [N, 28, 28, 1]
    mean_image = images.mean(axis=0)  # [28, 28, 1]
    centred = images - mean_image
    ctx.record(
        jpeg_bytes=jpeg_bytes,
        png_bytes=png_bytes,
        jpeg_mean_error=round(float(error.mean()), 2),
        centred_mean=float(centred.mean()),
    )
    return {
        f"{JPEG_FILES} files, kB": {
            "PNG": round(png_bytes / 1e3, 1),
            f"JPEG, quality {JPEG_QUALITY}": round(jpeg_bytes / 1e3, 1),
        },
        "smaller here": "JPEG" if jpeg_bytes < png_bytes else "PNG",
        "JPEG's pixels against the PNG's, grey levels": {
            "mean difference": round(float(error.mean()), 2),
            "largest": int(error.max()),
        },
        "mean pixel before / after subtracting the mean image": [
            round(float(images.mean()), 3),
            round(float(centred.mean()), 3) + 0.0,
        ],
    }


@lesson.step("cache, shuffle, batch, prefetch: in that order")
def pipeline(ctx):
    """map decodes every file, so cache() after it keeps the decoded images in memory and the
    second epoch reads no file. shuffle after cache gives a new order every epoch (before
    cache, the first epoch's order would be frozen into it); batch after shuffle mixes
    examples, not whole batches (lesson 17); prefetch last lets the next batch be made while
    the model works on this one."""
    from_files_only = (
        tf.data.Dataset.from_tensor_slices(ctx.train.paths)
        .map(load_png, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(BATCH_SIZE)
        .prefetch(tf.data.AUTOTUNE)
    )
    ctx.tf_data = (
        tf.data.Dataset.from_tensor_slices(ctx.train.paths)
        .map(load_png, num_parallel_calls=tf.data.AUTOTUNE)
        .cache()
        .shuffle(len(ctx.train), seed=SEED)
        .batch(BATCH_SIZE)
        .prefetch(tf.data.AUTOTUNE)
    )
    n, from_files = images_per_second(ctx.tf_data)
    _, from_cache = images_per_second(ctx.tf_data)
    ctx.readers = {
        "tf.data, files": lambda: from_files_only,
        "tf.data, cache": lambda: ctx.tf_data,
    }
    return {
        "images per epoch": n,
        "epoch 1 (files) images/s": round(from_files),
        "epoch 2 (cache) images/s": round(from_cache),
        "epoch 2 over epoch 1": f"{from_cache / from_files:.1f}x "
        "(one pass each: the last step times the cache in rounds, "
        "with a verdict)",
    }


@lesson.step("keras.utils.image_dataset_from_directory: the same in one call")
def with_keras(ctx):
    """Keras reads the folder-per-class layout in one call: it lists the files, takes the
    class names from the sorted folder names (the folders here start with the label so that
    sorting keeps label order: sorted 'ankle_boot', 'bag', ... would not), decodes, resizes
    and batches. It shuffles by default, with a seed for a repeatable order. It returns a
    tf.data.Dataset, so cache and prefetch chain on as before."""
    dataset = keras.utils.image_dataset_from_directory(
        ctx.images.train_dir,
        color_mode="grayscale",
        image_size=IMAGE_SIZE,
        batch_size=BATCH_SIZE,
        shuffle=True,
        seed=SEED,
        verbose=False,
    )
    class_names = dataset.class_names
    dataset = dataset.map(lambda x, y: (x / 255.0, y))
    if IMAGES[ctx.mode] is not None:
        dataset = dataset.take(IMAGES[ctx.mode] // BATCH_SIZE)
    n, rate = images_per_second(dataset.prefetch(tf.data.AUTOTUNE))
    ctx.readers["image_dataset_from_directory"] = lambda: dataset.prefetch(
        tf.data.AUTOTUNE
    )
    ctx.record(
        keras_class_order_is_label_order=class_names == list(CLASS_FOLDERS)
    )
    return {
        "class_names": class_names,
        "images read": n,
        "images/s": round(rate),
    }


class CsvImages(keras.utils.PyDataset):
    """Batches of (images [B, 32, 32, 1], {"kind": labels [B],
    "attributes": [B, 4]}) from the CSV's rows.

    Keras 3's PyDataset is the satellite article's keras.utils.Sequence
    under its new name: __len__ is the number of batches, __getitem__(i)
    reads batch i from disk, on_epoch_end reshuffles. Keras can call
    __getitem__ from several workers, so it must not depend on the order
    of calls."""

    def __init__(self, rows, batch_size, shuffle, seed=SEED, **kwargs):
        super().__init__(
            **kwargs
        )  # workers, use_multiprocessing, max_queue_size
        self.rows, self.batch_size = rows, batch_size
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(rows))
        self.on_epoch_end()

    def __len__(self):
        return -(
            -len(self.rows) // self.batch_size
        )  # ceil: the last batch may be short

    def __getitem__(self, i):
        picked = self.order[
            i * self.batch_size : (i + 1) * self.batch_size
        ]
        images = (
            np.stack(
                [
                    np.asarray(
                        Image.open(self.rows.paths[j]).resize(
                            IMAGE_SIZE, Image.BILINEAR
                        )
                    )
                    for j in picked
                ]
            )[..., None].astype(np.float32)
            / 255.0
        )
        return images, {
            "kind": self.rows.labels[picked],
            "attributes": self.rows.attributes[picked],
        }

    def on_epoch_end(self):
        if self.shuffle:
            self.rng.shuffle(self.order)


@lesson.step("a keras.utils.PyDataset: batches read from the CSV's file names")
def with_pydataset(ctx):
    """The loader of the satellite article, for data that does not fit in memory: plain
    Python that reads batch i when asked. Before training on it, check it: one pass without
    shuffling must give every file exactly once (the article predicted on a non-shuffled
    loader for that)."""
    unshuffled = CsvImages(ctx.train, BATCH_SIZE, shuffle=False)
    seen = np.concatenate(
        [unshuffled[i][1]["kind"] for i in range(len(unshuffled))]
    )
    every_file_once = bool(np.array_equal(seen, ctx.train.labels))
    shuffled = CsvImages(ctx.train, BATCH_SIZE, shuffle=True)
    n, rate = images_per_second(shuffled[i] for i in range(len(shuffled)))
    images, targets = shuffled[0]
    ctx.readers["PyDataset"] = lambda: (
        shuffled[i] for i in range(len(shuffled))
    )
    ctx.record(
        pydataset_every_file_once=every_file_once,
        pydataset_batches=len(shuffled),
    )
    return {
        "batches (len)": len(shuffled),
        "one batch": (images.shape, {k: v.shape for k, v in targets.items()}),
        "unshuffled pass gives every file once, in CSV order": every_file_once,
        "images/s": round(rate),
    }


def two_heads_small():
    """images [N, 32, 32, 1] -> {"kind": [N, 10] softmax, "attributes":
    [N, 4] sigmoid}: a small model to feed from the PyDataset, whose
    targets are that dict (lesson 24 builds such models in full)."""
    image = keras.Input((*IMAGE_SIZE, 1))
    x = keras.layers.Flatten()(keras.layers.MaxPooling2D(4)(image))
    model = keras.Model(
        image,
        {
            "kind": keras.layers.Dense(
                10, activation="softmax", name="kind"
            )(x),
            "attributes": keras.layers.Dense(
                4, activation="sigmoid", name="attributes"
            )(x),
        },
    )
    model.compile(
        "adam",
        loss={
            "kind": "sparse_categorical_crossentropy",
            "attributes": "binary_crossentropy",
        },
    )
    return model


@lesson.step("fit from the PyDataset, with workers: what fit_generator became")
def fit_with_workers(ctx):
    """The satellite article trained with model.fit_generator(loader, workers=...,
    use_multiprocessing=...). Keras 2 merged fit_generator into fit, and Keras 3 moved
    the workers into the dataset: PyDataset(workers=2) has fit call __getitem__ from
    two threads (use_multiprocessing=True: two processes), a queue of ready batches
    ahead of the model. What they buy depends on where the time goes: here one epoch of
    a small model is timed with 1 and 2 workers, ROUNDS times each, interleaved, and the
    verdict is read from the rounds' spread."""
    model = two_heads_small()
    print("   a first fit traces the model (not timed)", end="", flush=True)
    with Ticking():  # a dot every 2 s
        model.fit(
            CsvImages(ctx.train, BATCH_SIZE, shuffle=True),
            epochs=1,
            verbose=0,
        )
    print(flush=True)
    rounds = {1: [], 2: []}
    for i in range(1, ROUNDS + 1):
        print(f"   round {i} of {ROUNDS}:", end="", flush=True)
        for workers in rounds:
            data = CsvImages(
                ctx.train, BATCH_SIZE, shuffle=True, workers=workers
            )
            started = time.perf_counter()
            model.fit(data, epochs=1, verbose=0)
            rounds[workers].append(
                len(ctx.train) / (time.perf_counter() - started)
            )
            print(f" workers={workers} {rounds[workers][-1]:,.0f} img/s",
                  end="", flush=True)
        print(flush=True)
    verdict = ctx.verdict(
        verdicts.speeds(
            "fit images/s, 2 workers vs 1",
            rounds[2],
            rounds[1],
            names=("2 workers", "1 worker"),
        )
    )
    ctx.record(
        fit_workers_per_s={
            str(k): [round(x) for x in v] for k, v in rounds.items()
        }
    )
    return {
        f"fit images/s, {ROUNDS} rounds": {
            f"workers={k}": [round(x) for x in v] for k, v in rounds.items()
        },
        "verdict": verdict,
    }


def to_example(
    png: bytes, label: int, attributes: np.ndarray
) -> tf.train.Example:
    """One file as a tf.train.Example: its PNG bytes as they are on
    disk, its label and attributes."""
    return tf.train.Example(
        features=tf.train.Features(
            feature={
                "png": tf.train.Feature(
                    bytes_list=tf.train.BytesList(value=[png])
                ),
                "label": tf.train.Feature(
                    int64_list=tf.train.Int64List(value=[label])
                ),
                "attributes": tf.train.Feature(
                    float_list=tf.train.FloatList(value=attributes)
                ),
            }
        )
    )


def parse(record):
    """A serialized Example -> (image float32 [32, 32, 1], label)."""
    example = tf.io.parse_single_example(record, FEATURES)
    image = (
        tf.image.resize(
            tf.io.decode_png(example["png"], channels=1), IMAGE_SIZE
        )
        / 255.0
    )
    return image, example["label"]


@lesson.step("TFRecord: thousands of small files become a few large ones")
def with_tfrecord(ctx):
    """The satellite article serialised images and labels into TFRecord files, TensorFlow's
    format for streaming: a few large files read sequentially instead of thousands of small
    ones opened one by one (lesson 18 did it with raw pixels; here the PNG bytes go in as
    they are, smaller, and are decoded when read). Reading them back must give the files'
    own pixels."""
    shards = [
        ctx.logdir / f"train-{i:02d}-of-{SHARDS:02d}.tfrecord"
        for i in range(SHARDS)
    ]
    writers = [tf.io.TFRecordWriter(str(p)) for p in shards]
    for i, (path, label, attributes) in enumerate(
        zip(ctx.train.paths, ctx.train.labels, ctx.train.attributes)
    ):
        writers[i % SHARDS].write(
            to_example(
                Path(path).read_bytes(), int(label), attributes
            ).SerializeToString()
        )
    for writer in writers:
        writer.close()
    records = (
        tf.data.TFRecordDataset(
            [str(p) for p in shards], num_parallel_reads=SHARDS
        )
        .map(parse, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(BATCH_SIZE)
        .prefetch(tf.data.AUTOTUNE)
    )
    n, rate = images_per_second(records)
    in_order = tf.data.TFRecordDataset([str(shards[0])]).map(parse).take(3)
    same = all(
        np.array_equal(
            image.numpy(), load_png(ctx.train.paths[i * SHARDS])[0].numpy()
        )
        for i, (image, _) in enumerate(in_order)
    )
    ctx.readers["TFRecord"] = lambda: records
    ctx.record(tfrecord_same_pixels=same)
    return {
        "shards": [p.name for p in shards],
        "MB in all": round(sum(p.stat().st_size for p in shards) / 1e6, 2),
        "images read back": n,
        "images/s": round(rate),
        "same pixels as the files": same,
    }


@lesson.step("four readers of files and a cache, one job: which to use")
def compare(ctx):
    """Five ways to hand the model the same 32x32 images: four read the files, the
    fifth replays tf.data's cache. tf.data from files and Keras's
    directory reader decode in TensorFlow's threads; the PyDataset runs Python (give it
    workers= to parallelise); TFRecord reads a few large files; the cache decodes nothing.
    One pass each, as in the steps above, ranks them by chance on a shared machine: here
    every reader makes ROUNDS passes, interleaved, and the ranking is read from the means
    with their standard errors (from the rounds' spread)."""
    rounds = {name: [] for name in ctx.readers}
    for i in range(1, ROUNDS + 1):
        print(f"   round {i} of {ROUNDS}:", end="", flush=True)
        for name, batches in ctx.readers.items():
            rounds[name].append(images_per_second(batches())[1])
            print(" .", end="", flush=True)  # one reader done
        print(flush=True)
    ranked = sorted(rounds, key=lambda name: -np.mean(rounds[name]))
    first, second = [name for name in ranked if name != "tf.data, cache"][
        :2
    ]  # the readers of files
    said = ctx.verdict(
        verdicts.speeds(
            f"images/s, {first} vs {second}",
            rounds[first],
            rounds[second],
            names=(first, second),
        )
    )
    cache = ctx.verdict(
        verdicts.speeds(
            f"images/s, tf.data, cache vs {first}",
            rounds["tf.data, cache"],
            rounds[first],
            names=("the cache", first),
        )
    )
    keys = {
        "tf.data, files": "tf_data_files",
        "tf.data, cache": "tf_data_cache",
        "image_dataset_from_directory": "keras_directory",
        "PyDataset": "pydataset",
        "TFRecord": "tfrecord",
    }
    ctx.record(
        **{
            f"{keys[name]}_per_s": round(float(np.mean(r)))
            for name, r in rounds.items()
        },
        fastest_reader=ranked[0],
    )
    return {
        f"images/s, {ROUNDS} rounds": {
            name: [round(x) for x in r] for name, r in rounds.items()
        },
        "the two fastest readers of files": said,
        "the cache against the fastest of them": cache,
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
