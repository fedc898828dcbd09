"""Exercise 09: a tf.data pipeline from image files."""
import imageio.v3 as iio
import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.practice.checking import check, expect, expect_close

HINT = "paths sorted; Dataset.from_tensor_slices((paths, labels)).map(read_file -> decode_png(channels=1) -> float)"


def write_images(folder):
    rng = np.random.RandomState(0)
    images, labels = [], []
    for label in (0, 1, 2):
        for i in range(2):
            image = rng.randint(0, 256, (28, 28), dtype=np.uint8)
            (folder / str(label)).mkdir(parents=True, exist_ok=True)
            iio.imwrite(folder / str(label) / f"{i}.png", image)
            images.append(image)
            labels.append(label)
    return np.stack(images), labels


@check(HINT, [("17", "a Dataset is a graph of ops"), ("22", "tf.data from files")])
def test_reads_every_image_with_its_label(ex, tmp_path):
    images, labels = write_images(tmp_path)
    dataset = ex.image_dataset(str(tmp_path))
    expect(isinstance(dataset, tf.data.Dataset), "a tf.data.Dataset", type(dataset).__name__)
    element = tf.data.make_one_shot_iterator(dataset).get_next()
    got_images, got_labels = [], []
    with tf.Session() as sess:
        while True:
            try:
                image, label = sess.run(element)
            except tf.errors.OutOfRangeError:
                break
            got_images.append(image)
            got_labels.append(int(label))
    expect(got_labels == labels, f"labels {labels} (sorted by path)", got_labels)
    expect(got_images[0].shape == (28, 28, 1) and got_images[0].dtype == np.float32, "float32 images [28, 28, 1]",
           f"{got_images[0].dtype} {got_images[0].shape}")
    expect_close(np.stack(got_images)[..., 0], images / 255.0, "the pixels scaled to [0, 1]", atol=1e-6)
