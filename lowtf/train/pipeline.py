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
    """The graph's input: one batch tensor pair fed by whichever iterator's handle is given."""
    images: tf.Tensor          # float32 [N, H, W, C] in [0, 1]
    labels: tf.Tensor          # int64 [N]
    handle: tf.Tensor          # string placeholder choosing the iterator
    batch_size: int            # of the training stream (the evaluation reader's is its own)
    train_iterator: object
    eval_iterator: object
    skip: tf.Tensor                       # training batches to skip (a resumed run's seen ones)
    train_images: Optional[tf.Tensor]     # the arrays' placeholders; None when batches come from a dataset
    train_labels: Optional[tf.Tensor]
    eval_images: tf.Tensor
    eval_labels: tf.Tensor
    train_handle: Optional[tf.Tensor] = None   # string_handle() ops, made once by make_handles()
    eval_handle: Optional[tf.Tensor] = None

    def make_handles(self) -> None:
        """Add the iterators' string_handle ops (once). After the model, not in make_inputs: ops made
        before the model would shift the op-level seeds its initialisers draw (same seed, other
        weights); and a finalized graph takes no new ops, so the trainer makes them before it finalizes."""
        if self.train_handle is None:
            self.train_handle = self.train_iterator.string_handle()
            self.eval_handle = self.eval_iterator.string_handle()

    def start_training(self, sess: tf.Session, split=None, skip: int = 0) -> bytes:
        """Initialise the training stream (from ``split``'s arrays, unless batches come from a dataset),
        skipping ``skip`` batches; return the handle to feed for training steps."""
        feed = {self.skip: skip}
        if self.train_images is not None:
            feed.update({self.train_images: split.images, self.train_labels: split.labels})
        sess.run(self.train_iterator.initializer, feed)
        self.make_handles()
        return sess.run(self.train_handle)

    def start_evaluation(self, sess: tf.Session, split) -> bytes:
        """Start one pass over ``split``; return the handle to feed until OutOfRangeError."""
        sess.run(self.eval_iterator.initializer, {self.eval_images: split.images, self.eval_labels: split.labels})
        self.make_handles()
        return sess.run(self.eval_handle)


def _to_float(images, labels):
    return tf.cast(images, tf.float32) / 255.0, labels


# Fixed parallelism instead of tf.data's autotuner. The autotuner's background thread can hold up
# Session.close() (the iterator's destructor waits for it): measured here, closing the trainer's
# Session took 13-18 s in 3 of 7 runs with it and under 0.6 s in all 8 runs without, at the same
# training speed.
_FIXED = tf.data.Options()
_FIXED.autotune.enabled = False


def make_inputs(image_shape: tuple, batch_size: Optional[int], eval_batch_size: int, seed: int,
                train_data: Optional[Callable[[], tf.data.Dataset]] = None, image_dtype=tf.uint8) -> Inputs:
    """Build the two pipelines and the feedable iterator over them.

    Training: shuffle (buffer = whole set, seeded) -> repeat -> batch -> skip(resume
    batches) -> to float -> prefetch. Shuffling before repeat reshuffles every epoch;
    skip makes a resumed run see the batches an uninterrupted run would. With
    ``train_data`` the training batches come from that dataset instead (float32 images
    in [0, 1], int64 labels, repeated, batched with drop_remainder=True), still skipped on
    resume; its batch size is the dataset's own, and ``batch_size`` must be None or equal it.
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
        else:
            train_x = train_y = None
            train = train_data()
            batch_size = _batch_size_of(train)
            train = train.skip(skip)
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
    return Inputs(images, labels, handle, batch_size, train_iterator, eval_iterator, skip, train_x, train_y,
                  eval_x, eval_y)


def _batch_size_of(dataset: tf.data.Dataset) -> int:
    """The fixed batch size of a dataset of batches (its images' first dimension)."""
    size = tf.data.get_output_shapes(dataset)[0][0]
    size = size.value if hasattr(size, "value") else size
    if size is None:
        raise ValueError("the training dataset's batch size is unknown: batch it with drop_remainder=True, so "
                         "the trainer can count images (and every step sees a full batch)")
    return int(size)
