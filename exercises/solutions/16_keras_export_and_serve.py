"""Exercise 16: export a Keras model, serve it with lowtf serve, and query it over REST.

model.export writes a SavedModel with a serving signature; TF Serving (and lowtf serve) find
its versions as numbered folders under a base path. A client then sends TF Serving's JSON
body, {"instances": [...]}, and reads the "predictions" back.

Keras runs eagerly: this file uses TensorFlow 2 as it is (no tf.compat.v1, no disable_v2_behavior).
Check your work: lowtf check 16
Re-read: lesson 26, steps "model.export()",
"lowtf serve with TF Serving's command line" and "the flowers article's client".
"""
import keras
import numpy as np
import requests


def export(model: keras.Model, base_path: str, version: int) -> str:
    """Export ``model`` as version ``version`` under ``base_path`` (base_path/VERSION/saved_model.pb);
    return the version's folder."""
    folder = f"{base_path}/{version}"
    model.export(folder, verbose=False)
    return folder


def predict_over_rest(url: str, images: np.ndarray) -> np.ndarray:
    """POST ``images`` [N, 28, 28, 1] to ``url`` (http://HOST:PORT/v1/models/NAME:predict) in TF Serving's
    row format and return the predictions as an array [N, ...]."""
    reply = requests.post(url, json={"instances": images.tolist()}, timeout=30)
    reply.raise_for_status()
    return np.array(reply.json()["predictions"])
