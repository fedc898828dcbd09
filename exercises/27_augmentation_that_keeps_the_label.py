"""Exercise 27: augmentation that keeps the label, inside a Keras model.

A digit shifted by a few pixels is the same digit; a mirrored 2 is not a 2. Build the
augmentation as Keras layers at the front of a model, so it acts while the model trains
(a new shift for every image of every batch) and does nothing when it predicts.

Keras runs eagerly: this file uses TensorFlow 2 as it is (no tf.compat.v1, no disable_v2_behavior).
Complete the functions marked TODO, then check your work: lowtf check 27
Re-read: lesson 29, step "shifts on 300 digits" and step "a mirror keeps a garment's label".
"""
import keras


def augmenter(shift: float, seed: int = 0) -> keras.Sequential:
    """A keras.Sequential for [N, 28, 28, 1] digits that, when called with training=True,
    moves each image up to ``shift`` of its height and of its width (a fraction: 0.1 is
    2.8 pixels), the uncovered pixels filled with 0 (fill_mode="constant"), and with
    training=False returns the images unchanged. No flips: they do not keep a digit's label."""
    # TODO: keras.Sequential([keras.layers.RandomTranslation(shift, shift, fill_mode=..., seed=seed)])
    raise NotImplementedError("augmenter is not written yet")
