"""TFRecord: MNIST as sharded files of tf.train.Example, parsed back byte-exact, streamed from disk."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.data.splits import load_splits
from lowtf.models import softmax_regression

tf.disable_v2_behavior()

lesson = Lesson("18", "tfrecord")
FEATURES = {
    "image_raw": tf.FixedLenFeature([], tf.string),
    "label": tf.FixedLenFeature([], tf.int64),
    "height": tf.FixedLenFeature([], tf.int64),
    "width": tf.FixedLenFeature([], tf.int64),
}


def to_example(image: np.ndarray, label: int) -> tf.train.Example:
    """One digit as a tf.train.Example: a map of feature name -> list of bytes/ints/floats."""
    return tf.train.Example(features=tf.train.Features(feature={
        "image_raw": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image.tobytes()])),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
        "height": tf.train.Feature(int64_list=tf.train.Int64List(value=[image.shape[0]])),
        "width": tf.train.Feature(int64_list=tf.train.Int64List(value=[image.shape[1]])),
    }))


def parse(serialized):
    """The inverse, as graph ops: parse_single_example, then decode_raw the bytes back to uint8.

    The shape read from the record is only known when the graph runs; set_shape tells the
    graph what it will be (and checks it at run time), so layers can be built on it."""
    f = tf.parse_single_example(serialized, FEATURES)
    image = tf.reshape(tf.decode_raw(f["image_raw"], tf.uint8), tf.stack([f["height"], f["width"], 1]))
    image.set_shape([28, 28, 1])
    return image, f["label"]


@lesson.step("write the training digits as 4 shards of tf.train.Example records")
def write(ctx):
    """A TFRecord file is a sequence of length-prefixed, CRC-checked records; each record here
    is one serialised Example. Sharding lets readers work on several files at once."""
    splits = load_splits(validation_size=0)
    n = 4000 if ctx.fast else len(splits.train)
    ctx.images, ctx.labels = splits.train.images[:n, :, :, 0], splits.train.labels[:n]
    ctx.test = splits.test
    shards = 4
    ctx.files = [str(ctx.logdir / f"mnist-train-{i:05d}-of-{shards:05d}.tfrecord") for i in range(shards)]
    bounds = np.linspace(0, n, shards + 1).astype(int)
    for path, lo, hi in zip(ctx.files, bounds[:-1], bounds[1:]):
        with tf.io.TFRecordWriter(path) as writer:
            for image, label in zip(ctx.images[lo:hi], ctx.labels[lo:hi]):
                writer.write(to_example(image, label).SerializeToString())
    size = sum((ctx.logdir / p.split("/")[-1]).stat().st_size for p in ctx.files)
    ctx.record(records=n, shards=shards, bytes_on_disk=size, files=ctx.files)
    return {"files": ctx.files, "records": n, "MB on disk": round(size / 1e6, 1),
            "one example": str(to_example(ctx.images[0], ctx.labels[0]))[:300] + " ..."}


@lesson.step("read them back: TFRecordDataset -> parse_single_example -> decode_raw")
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
    exact = bool(np.array_equal(np.concatenate(images), ctx.images) and np.array_equal(np.concatenate(labels), ctx.labels))
    ctx.record(round_trip_exact=exact)
    return {"byte-exact round trip": exact}


@lesson.step("stream from disk: interleave shards, shuffle a window, train softmax regression")
def stream(ctx):
    """For data larger than memory: list the files, interleave records from several shards,
    shuffle within a modest buffer, batch, prefetch. Memory stays flat however many files."""
    tf.set_random_seed(0)
    files = tf.data.Dataset.list_files(str(ctx.logdir / "mnist-train-*.tfrecord"), shuffle=True, seed=0)
    ds = (files.interleave(tf.data.TFRecordDataset, cycle_length=4, num_parallel_calls=tf.data.AUTOTUNE)
          .map(parse, num_parallel_calls=tf.data.AUTOTUNE)
          .shuffle(2000, seed=0).repeat().batch(100)
          .map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y)).prefetch(2))
    stream_images, labels = tf.data.make_one_shot_iterator(ds).get_next()
    # Reads the stream unless fed: evaluation feeds test images into the same graph.
    images = tf.placeholder_with_default(stream_images, [None, 28, 28, 1], name="images")
    logits, _ = softmax_regression(images, tf.constant(False))
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(200 if ctx.fast else 1000):
            sess.run(step)
        predictions = sess.run(tf.argmax(logits, 1), {images: ctx.test.images / 255.0})
    accuracy = float(np.mean(predictions == ctx.test.labels))
    ctx.record(streamed_test_accuracy=round(accuracy, 4))
    return {"test accuracy after training from the TFRecord stream": accuracy}


if __name__ == "__main__":
    raise SystemExit(lesson.main())
