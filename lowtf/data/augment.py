"""Batch-level augmentation for digit images, as graph ops (used inside tf.data map)."""
from __future__ import annotations

import tensorflow.compat.v1 as tf


def random_shift(images: tf.Tensor, labels: tf.Tensor, max_pixels: int = 2):
    """Translate each image of a batch ``[N, H, W, C]`` by its own random whole-pixel (dx, dy)
    in ``[-max_pixels, max_pixels]``, filling with zeros. One projective-transform op shifts the
    whole batch, so the cost per step is tiny."""
    n = tf.shape(images)[0]
    shift = tf.cast(tf.random_uniform([n, 2], -max_pixels, max_pixels + 1, dtype=tf.int32), tf.float32)
    ones, zeros = tf.ones([n]), tf.zeros([n])
    # Output pixel (x, y) reads input pixel (x + dx, y + dy).
    transforms = tf.stack([ones, zeros, shift[:, 0], zeros, ones, shift[:, 1], zeros, zeros], axis=1)
    shifted = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.shape(images)[1:3], fill_value=0.0,
        interpolation="NEAREST", fill_mode="CONSTANT")
    return shifted, labels
