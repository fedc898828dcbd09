"""Exercise 16: export a Keras model, serve it with lowtf serve, and query it over REST (starts a real
server on 127.0.0.1)."""
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from lowtf.practice import synthetic
from lowtf.practice.checking import check, expect, expect_close, served

HINT = ('model.export(f"{base_path}/{version}"); requests.post(url, json={"instances": images.tolist()})'
        '.json()["predictions"]')


def small_model() -> keras.Model:
    keras.utils.set_random_seed(16)
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(3, activation="softmax")])


def images(n: int) -> np.ndarray:
    return synthetic.images(n)[0][:n, ..., None].astype(np.float32) / 255.0


@check(HINT, ("26", "model.export()"), keras=True)
def test_export_writes_a_versioned_savedmodel(ex, tmp_path):
    model = small_model()
    folder = ex.export(model, str(tmp_path / "digits"), 3)
    expect((tmp_path / "digits" / "3" / "saved_model.pb").is_file(), "digits/3/saved_model.pb",
           sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.pb")) or "no saved_model.pb")
    expect(Path(folder).resolve() == (tmp_path / "digits" / "3").resolve(), "the version's folder returned", folder)
    loaded = tf.saved_model.load(str(tmp_path / "digits" / "3"))
    expect("serving_default" in loaded.signatures, "a serving_default signature (model.export writes one)",
           sorted(loaded.signatures))
    x = images(4)
    (served,) = loaded.signatures["serving_default"](tf.constant(x)).values()
    expect_close(served, model.predict(x, verbose=0), "the SavedModel's answers = the model's")


@check(HINT, [("26", "lowtf serve with TF Serving's command line"), ("26", "the flowers article's client")],
       keras=True)
def test_lowtf_serve_answers_your_client(ex, tmp_path):
    model = small_model()
    ex.export(model, str(tmp_path / "digits"), 1)
    expect((tmp_path / "digits" / "1" / "saved_model.pb").is_file(), "digits/1/saved_model.pb, a version lowtf serve "
           "can find", sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.pb")) or "no saved_model.pb")
    with served(tmp_path / "digits", "digits") as server:
        x = images(5)
        answer = ex.predict_over_rest(server.url("digits") + ":predict", x)
        log = server.child.output(tail=4000)
    expect("POST /v1/models/digits:predict 200" in log, "your client's POST to :predict, answered 200",
           "no such request in the server's log")
    expect_close(answer, model.predict(x, verbose=0), "the served predictions for 5 images")
