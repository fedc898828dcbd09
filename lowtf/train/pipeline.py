"""tf.data input for training and evaluation, switched by a string handle.

The arrays enter through placeholders at iterator-initialisation time, so they are
not baked into the graph (a 47 MB constant would also land in every events file).
One feedable iterator yields a batch from whichever iterator's handle is fed: the
endless, shuffled training stream, or a single pass over an evaluation split.
"""
from __future__ import annotations

from dataclasses import dataclass

from typing import Callable, Optional

import tensorflow.compat.v1 as tf


@dataclass
class Inputs:
    images: tf.Tensor          # float32 [N, H, W, C] in [0, 1]
    labels: tf.Tensor          # int64 [N]
    handle: tf.Tensor          # string placeholder choosing the iterator
    train_iterator: object
    eval_iterator: object
    train_feed: dict           # placeholders to feed when initialising the training iterator (arrays, skip)
    eval_feed: dict


def _to_float(images, labels):
    return tf.cast(images, tf.float32) / 255.0, labels


# Fixed parallelism instead of tf.data's autotuner. The autotuner's background thread can hold up
# Session.close() (the iterator's destructor waits for it): measured here, closing the trainer's
# Session took 13-18 s in 3 of 7 runs with it and under 0.6 s in all 8 runs without, at the same
# training speed.
_FIXED = tf.data.Options()
_FIXED.autotune.enabled = False


def make_inputs(image_shape: tuple, batch_size: int, eval_batch_size: int, seed: int,
                train_data: Optional[Callable[[], tf.data.Dataset]] = None, image_dtype=tf.uint8) -> Inputs:
    """Build the two pipelines and the feedable iterator over them.

    Training: shuffle (buffer = whole set, seeded) -> repeat -> batch -> skip(resume
    batches) -> to float -> prefetch. Shuffling before repeat reshuffles every epoch;
    skip makes a resumed run see the batches an uninterrupted run would. With
    ``train_data`` the training batches come from that dataset instead (float32 images
    in [0, 1], int64 labels, repeated), still skipped on resume.
    """
    with tf.name_scope("input"):
        skip = tf.placeholder(tf.int64, [], name="skip_batches")
        if train_data is None:
            train_x = tf.placeholder(image_dtype, (None,) + tuple(image_shape), name="train_images")
            train_y = tf.placeholder(tf.int64, [None], name="train_labels")
            train = (tf.data.Dataset.from_tensor_slices((train_x, train_y))
                     .shuffle(buffer_size=100_000, seed=seed, reshuffle_each_iteration=True)
                     .repeat()
                     .batch(batch_size, drop_remainder=True)
                     .skip(skip)
                     .map(_to_float, num_parallel_calls=2))
            train_feed = {"images": train_x, "labels": train_y, "skip": skip}
        else:
            train = train_data().skip(skip)
            train_feed = {"skip": skip}
        train = train.prefetch(2).with_options(_FIXED)

        eval_x = tf.placeholder(image_dtype, (None,) + tuple(image_shape), name="eval_images")
        eval_y = tf.placeholder(tf.int64, [None], name="eval_labels")
        evaluation = (tf.data.Dataset.from_tensor_slices((eval_x, eval_y))
                      .batch(eval_batch_size)
                      .map(_to_float)
                      .prefetch(2)
                      .with_options(_FIXED))

        handle = tf.placeholder(tf.string, [], name="iterator_handle")
        iterator = tf.data.Iterator.from_string_handle(
            handle, tf.data.get_output_types(train), tf.data.get_output_shapes(evaluation))
        images, labels = iterator.get_next()
        # Inside the scope, so TensorBoard's graph folds the whole pipeline into one "input" box.
        train_iterator = tf.data.make_initializable_iterator(train)
        eval_iterator = tf.data.make_initializable_iterator(evaluation)
    return Inputs(images, labels, handle, train_iterator, eval_iterator, train_feed,
                  {"images": eval_x, "labels": eval_y})
