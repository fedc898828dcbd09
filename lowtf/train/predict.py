"""Class predictions of a trained model, restored from its checkpoint into a fresh graph."""
from __future__ import annotations

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.nn import training_flag


def predict(model_fn, checkpoint: str, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Predicted class ids ``[N]`` for uint8 ``images [N, H, W, C]`` (scaled to [0, 1] here)."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None,) + images.shape[1:], name="images")
        logits, params = model_fn(x, training_flag())
        classes = tf.argmax(logits, 1)
        with tf.Session() as sess:
            tf.train.Saver(var_list=params).restore(sess, checkpoint)  # the model only, not the optimizer
            return np.concatenate([sess.run(classes, {x: images[i:i + batch_size] / 255.0})
                                   for i in range(0, len(images), batch_size)])
