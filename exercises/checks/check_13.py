"""Exercise 13: Keras fit, fed by a tf.data pipeline over PNG files."""
import keras
import numpy as np
import tensorflow as tf

from lowtf.practice import synthetic
from lowtf.practice.checking import check, expect

HINT = ("paths and labels from the sorted class folders; Dataset.from_tensor_slices((paths, labels))"
        ".shuffle(len(paths), seed=seed).map(read_file -> decode_png(channels=1) -> / 255).batch(n).prefetch(AUTOTUNE)")
LESSON = [("22", "tf.data from files"), ("22", "cache, shuffle, batch, prefetch")]


def _batches(dataset) -> tuple[list, list]:
    images, labels = [], []
    for x, y in dataset:
        images.append(np.asarray(x))
        labels.append(np.asarray(y))
    return images, labels


@check(HINT, LESSON, keras=True)
def test_every_file_once_an_epoch_with_its_label(ex, tmp_path):
    pixels, labels = synthetic.write_folders(tmp_path, per_class=5)
    dataset = ex.training_dataset(str(tmp_path), batch_size=4, seed=0)
    expect(isinstance(dataset, tf.data.Dataset), "a tf.data.Dataset", type(dataset).__name__)
    images, got = _batches(dataset)
    sizes = [len(b) for b in images]
    expect(len(sizes) == 4 and sizes[:3] == [4, 4, 4], "batches of 4 (15 files: 4, 4, 4, 3)", sizes)
    x, y = np.concatenate(images), np.concatenate(got)
    expect(x.dtype == np.float32 and x.shape[1:] == (28, 28, 1), "float32 images [28, 28, 1]", f"{x.dtype} {x.shape[1:]}")
    expect(x.min() >= 0 and x.max() <= 1, "pixels scaled to [0, 1]", f"from {x.min()} to {x.max()}")
    files = {image.tobytes(): int(label) for image, label in zip(pixels, labels)}
    read = [(np.round(image[..., 0] * 255).astype(np.uint8).tobytes(), int(label)) for image, label in zip(x, y)]
    expect(sorted(k for k, _ in read) == sorted(files), "every file once an epoch, its pixels as they are",
           f"{len(read)} images, {len({k for k, _ in read} & set(files))} of the {len(files)} files among them")
    wrong = sum(files[k] != label for k, label in read)
    expect(wrong == 0, "each image with the label of its class folder (the sorted folders are 0, 1, 2)",
           f"{wrong} of {len(read)} images with another label")


@check(HINT, LESSON, keras=True)
def test_shuffled_anew_each_epoch_reading_files_in_the_pipeline(ex, tmp_path):
    synthetic.write_folders(tmp_path, per_class=5)

    def order(dataset):
        return [round(float(m), 5) for x, _ in dataset for m in np.asarray(x).mean(axis=(1, 2, 3))]

    dataset = ex.training_dataset(str(tmp_path), batch_size=4, seed=0)
    first, second = order(dataset), order(dataset)
    expect(first != second, "a new order every epoch (shuffle reshuffles on each pass)", "the same order twice")
    expect(first == order(ex.training_dataset(str(tmp_path), batch_size=4, seed=0)),
           "the same first order from the same seed", "another order: is the seed passed to shuffle?")
    ops = synthetic.pipeline_ops(dataset)
    expect("ReadFile" in ops and ({"DecodePng", "DecodeImage"} & ops),
           "files read and decoded inside the pipeline (tf.io.read_file and tf.io.decode_png in map)",
           "no ReadFile / DecodePng op in the pipeline: were the images loaded before it, in Python?")
    expect(any(op.startswith("PrefetchDataset") for op in ops), "prefetch at the end of the pipeline",
           "no PrefetchDataset op")


@check(HINT, ("23", "fit with steps_per_epoch"), keras=True)
def test_fit_learns_from_your_pipeline(ex, tmp_path):
    pixels, labels = synthetic.write_folders(tmp_path, per_class=30)
    fed, original_fit = [], keras.Model.fit

    def watched_fit(model, x=None, *args, **kwargs):
        fed.append(x)
        return original_fit(model, x, *args, **kwargs)

    keras.Model.fit = watched_fit
    try:
        model = ex.train(str(tmp_path), epochs=6)
    finally:
        keras.Model.fit = original_fit
    expect(isinstance(model, keras.Model), "a keras.Model", type(model).__name__)
    expect(bool(fed) and all(isinstance(x, tf.data.Dataset) for x in fed),
           "model.fit fed a tf.data.Dataset (your training_dataset), not arrays",
           [type(x).__name__ for x in fed] or "fit was never called")
    predicted = np.argmax(model.predict(pixels[..., None] / 255.0, verbose=0), axis=1)
    accuracy = float(np.mean(predicted == labels))
    expect(accuracy >= 0.9, "accuracy of at least 0.9 on the 90 files it trained on (chance: 0.33)", round(accuracy, 3),
           nudge="a last layer without softmax needs the loss to be told: "
                 "keras.losses.SparseCategoricalCrossentropy(from_logits=True)" if accuracy < 0.9 else "")
