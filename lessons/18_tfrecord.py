"""TFRecord: MNIST as sharded files of tf.train.Example, parsed back byte-exact, streamed from disk."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.data.splits import Splits, load_splits
from lowtf.models import softmax_regression
from lowtf.train import TrainConfig, train

tf.disable_v2_behavior()

lesson = Lesson("18", "tfrecord")

# --- knobs -----------------------------------------------------------------------------
STEPS = {"fast": 200, "full": 1000}
FEATURES = {
    "image_raw": tf.FixedLenFeature([], tf.string),
    "label": tf.FixedLenFeature([], tf.int64),
    "height": tf.FixedLenFeature([], tf.int64),
    "width": tf.FixedLenFeature([], tf.int64),
}


def to_example(image: np.ndarray, label: int) -> tf.train.Example:
    """One digit as a tf.train.Example: a map of feature name -> list of
    bytes/ints/floats."""
    return tf.train.Example(
        features=tf.train.Features(
            feature={
                "image_raw": tf.train.Feature(
                    bytes_list=tf.train.BytesList(value=[image.tobytes()])
                ),
                "label": tf.train.Feature(
                    int64_list=tf.train.Int64List(value=[int(label)])
                ),
                "height": tf.train.Feature(
                    int64_list=tf.train.Int64List(value=[image.shape[0]])
                ),
                "width": tf.train.Feature(
                    int64_list=tf.train.Int64List(value=[image.shape[1]])
                ),
            }
        )
    )


def parse(serialized):
    """The inverse, as graph ops: parse_single_example, then decode_raw the
    bytes back to uint8.

    The shape read from the record is only known when the graph runs;
    set_shape tells the graph what it will be (and checks it at run
    time), so layers can be built on it."""
    f = tf.parse_single_example(serialized, FEATURES)
    image = tf.reshape(
        tf.decode_raw(f["image_raw"], tf.uint8),
        tf.stack([f["height"], f["width"], 1]),
    )
    image.set_shape([28, 28, 1])
    return image, f["label"]


@lesson.step(
    "write the training digits as 4 shards of tf.train.Example records"
)
def write(ctx):
    """A TFRecord file is a sequence of length-prefixed, CRC-checked records; each record here
    is one serialised Example. Sharding lets readers work on several files at once."""
    splits = load_splits(validation_size=0)
    n = 4000 if ctx.fast else len(splits.train)
    ctx.images, ctx.labels = (
        splits.train.images[:n, :, :, 0],
        splits.train.labels[:n],
    )
    ctx.test = splits.test
    shards = 4
    ctx.files = [
        str(ctx.logdir / f"mnist-train-{i:05d}-of-{shards:05d}.tfrecord")
        for i in range(shards)
    ]
    bounds = np.linspace(0, n, shards + 1).astype(int)
    for path, lo, hi in zip(ctx.files, bounds[:-1], bounds[1:]):
        with tf.io.TFRecordWriter(path) as writer:
            for image, label in zip(ctx.images[lo:hi], ctx.labels[lo:hi]):
                writer.write(to_example(image, label).SerializeToString())
    size = sum(
        (ctx.logdir / p.split("/")[-1]).stat().st_size for p in ctx.files
    )
    ctx.record(records=n, shards=shards, bytes_on_disk=size, files=ctx.files)
    return {
        "files": ctx.files,
        "records": n,
        "MB on disk": round(size / 1e6, 1),
        "one example": str(to_example(ctx.images[0], ctx.labels[0]))[:300]
        + " ...",
    }


@lesson.step(
    "read them back: TFRecordDataset -> parse_single_example -> decode_raw"
)
def read(ctx):
    """Reading the shards in order gives the digits back in order, byte for byte."""
    ds = tf.data.TFRecordDataset(ctx.files).map(parse).batch(1000)
    nxt = tf.data.make_one_shot_iterator(ds).get_next()
    images, labels = [], []
    with tf.Session() as sess:
        while True:
            try:
                i, l = sess.run(nxt)
            except tf.errors.OutOfRangeError:
                break
            images.append(i[..., 0])
            labels.append(l)
    exact = bool(
        np.array_equal(np.concatenate(images), ctx.images)
        and np.array_equal(np.concatenate(labels), ctx.labels)
    )
    ctx.record(round_trip_exact=exact)
    return {"byte-exact round trip": exact}


@lesson.step(
    "stream from disk: interleave shards, shuffle a window, train softmax regression"
)
def stream(ctx):
    """For data larger than memory: list the files, interleave records from several shards,
    shuffle within a modest buffer, batch, prefetch. What the pipeline holds at once is
    set by its buffers (the shuffle window, sized below, a batch, one reader per shard
    it interleaves), not by how many files there are or how large they grow.
    lowtf.train.train (lesson 10's loop) takes such a pipeline in place of arrays: a
    function that builds the dataset inside its graph; the test set is still scored from
    arrays."""

    window = 2000  # records the shuffle holds: 784 pixel bytes + a label each

    def tfrecord_batches():
        files = tf.data.Dataset.list_files(
            str(ctx.logdir / "mnist-train-*.tfrecord"), shuffle=True, seed=0
        )
        return (
            files.interleave(
                tf.data.TFRecordDataset, cycle_length=4, num_parallel_calls=4
            )
            .map(parse, num_parallel_calls=2)
            .shuffle(window, seed=0)
            .repeat()
            .batch(
                100, drop_remainder=True
            )  # the trainer reads the batch size here
            .map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y))
        )

    splits = Splits(train=None, validation=None, test=ctx.test)
    config = TrainConfig(
        steps=STEPS[ctx.mode],
        eval_every=STEPS[ctx.mode],
        seed=0,
        name="softmax from TFRecord",
    )
    h = train(
        softmax_regression,
        splits,
        lambda step: tf.train.GradientDescentOptimizer(0.5),
        config,
        ctx.logdir / "training",
        train_data=tfrecord_batches,
    )
    ctx.record(streamed_test_accuracy=round(h.final_test_accuracy, 4))
    return {
        "the shuffle window holds": f"{window:,} records, "
        f"{window * (784 + 8) / 1e6:.1f} MB, whatever the data's size",
        "test accuracy after training from the TFRecord stream": (
            h.final_test_accuracy
        ),
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
