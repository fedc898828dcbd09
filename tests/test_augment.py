import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.data.augment import random_shift


def test_random_shift_moves_each_image_by_whole_pixels_within_the_limit():
    tf.set_random_seed(0)
    images = np.zeros((64, 28, 28, 1), np.float32)
    images[:, 14, 14, 0] = 1.0  # one bright pixel in the middle
    shifted, labels = random_shift(tf.constant(images), tf.range(64), max_pixels=2)
    with tf.Session() as sess:
        out, lab = sess.run([shifted, labels])
    assert out.shape == images.shape and lab.tolist() == list(range(64))
    positions = [np.argwhere(o[:, :, 0] == 1.0) for o in out]
    assert all(len(p) == 1 for p in positions)  # nearest-neighbour: the pixel moves, it does not blur
    offsets = np.array([p[0] - [14, 14] for p in positions])
    assert np.abs(offsets).max() <= 2 and len({tuple(o) for o in offsets}) > 5
