"""Exercise 13: Keras fit, fed by a tf.data pipeline over PNG files.

The files sit one folder per class (folder/0_t-shirt_top/*.png, folder/1_trouser/*.png, ...):
sorted by name, the class folders give the labels 0, 1, 2, ... Build the pipeline that reads
them (the files are read and decoded inside the pipeline, not loaded up front), then train a
small Keras model from it with fit.

Keras runs eagerly: this file uses TensorFlow 2 as it is (no tf.compat.v1, no disable_v2_behavior).
Check your work: lowtf check 13
Re-read: lesson 22, steps "tf.data from files" and "cache, shuffle, batch, prefetch";
lesson 23, step "fit with steps_per_epoch".
"""
from pathlib import Path

import keras
import tensorflow as tf


def load_png(path, label):
    image = tf.io.decode_png(tf.io.read_file(path), channels=1)
    return tf.cast(image, tf.float32) / 255.0, label


def training_dataset(folder: str, batch_size: int, seed: int) -> tf.data.Dataset:
    """Batches of (images float32 [B, 28, 28, 1] in [0, 1], labels int [B]) holding every file once per
    epoch, in a new shuffled order each epoch, prefetched. The label of a file is the position of its
    class folder among the sorted class folders."""
    classes = sorted(p for p in Path(folder).iterdir() if p.is_dir())
    paths, labels = [], []
    for label, class_folder in enumerate(classes):
        for path in sorted(class_folder.glob("*.png")):
            paths.append(str(path))
            labels.append(label)
    return (tf.data.Dataset.from_tensor_slices((paths, labels))
            .shuffle(len(paths), seed=seed)           # reshuffles every epoch by default
            .map(load_png, num_parallel_calls=tf.data.AUTOTUNE)
            .batch(batch_size)
            .prefetch(tf.data.AUTOTUNE))


def train(folder: str, epochs: int) -> keras.Model:
    """A small Keras classifier (28x28x1 -> as many classes as there are folders) trained with
    model.fit on training_dataset(folder, 32, seed=0) for ``epochs`` epochs; returns the model."""
    classes = len([p for p in Path(folder).iterdir() if p.is_dir()])
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28, 1)),
                              keras.layers.Conv2D(8, 5, activation="relu"),
                              keras.layers.MaxPooling2D(4),
                              keras.layers.Flatten(),
                              keras.layers.Dense(classes, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(training_dataset(folder, 32, seed=0), epochs=epochs, verbose=0)
    return model
