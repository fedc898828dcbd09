"""Exercise 09 (a solution): a tf.data pipeline from image files.

Read PNG files stored one folder per class (folder/0/*.png, folder/1/*.png, ...) into a
tf.data.Dataset of (image, label) pairs.

Checked as a learner file would be: lowtf check 09 --file exercises/solutions/09_dataset_from_image_files.py
Re-read: lesson 17, steps "a Dataset is a graph of ops" and "order matters";
lesson 22, step "tf.data from files"; and lesson 18.
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def image_dataset(folder: str) -> tf.data.Dataset:
    """Files sorted by path; label = the name of the file's folder (an integer); image decoded with
    tf.io.decode_png(channels=1) and scaled to float32 [28, 28, 1] in [0, 1]. No shuffling."""
    from pathlib import Path

    paths = sorted(str(p) for p in Path(folder).glob("*/*.png"))
    labels = [int(Path(p).parent.name) for p in paths]

    def load(path, label):
        image = tf.io.decode_png(tf.io.read_file(path), channels=1)
        image = tf.image.convert_image_dtype(image, tf.float32)
        image.set_shape([28, 28, 1])
        return image, tf.cast(label, tf.int64)
    return tf.data.Dataset.from_tensor_slices((paths, labels)).map(load)
