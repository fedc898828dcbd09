"""Exercise 15: a Keras callback of your own that stops training at a target."""
import keras
import numpy as np

from lowtf.practice import synthetic
from lowtf.practice.checking import check, expect

HINT = ("value = logs.get(self.monitor); if value is not None and value >= self.target: "
        "self.model.stop_training = True; self.stopped_epoch = epoch")


class _Model:
    """Stands in for the model fit is training: only the flag a callback sets."""

    stop_training = False


def _drive(callback, values, monitor="val_accuracy"):
    """Call on_epoch_end as fit would, with ``values`` as the epochs' metric; the epochs after which
    training was told to stop."""
    model = _Model()
    callback.set_model(model)
    stops = []
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {"loss": 1.0 - value, monitor: value})
        if model.stop_training:
            stops.append(epoch)
            break
    return stops


@check(HINT, ("23", "three callbacks"), keras=True)
def test_stops_at_the_first_epoch_that_reaches_the_target(ex):
    callback = ex.StopAtTarget(0.9)
    expect(isinstance(callback, keras.callbacks.Callback), "a keras.callbacks.Callback", type(callback).__name__)
    stops = _drive(callback, [0.5, 0.7, 0.89, 0.93, 0.97])
    expect(stops == [3], "stop after epoch 3 (index), the first at or past 0.9", f"stopped after {stops or 'none'}")
    expect(callback.stopped_epoch == 3, "stopped_epoch = 3", callback.stopped_epoch)
    exact = ex.StopAtTarget(0.9)
    expect(_drive(exact, [0.8, 0.9]) == [1], "stop at a value equal to the target", "no stop at 0.9 with target 0.9")
    other = ex.StopAtTarget(0.5, monitor="accuracy")
    expect(_drive(other, [0.2, 0.6], monitor="accuracy") == [1], "the metric named by monitor is the one read",
           "no stop when monitor='accuracy' reached 0.6")


@check(HINT, ("23", "three callbacks"), keras=True)
def test_never_stops_short_of_the_target(ex):
    callback = ex.StopAtTarget(0.9)
    stops = _drive(callback, [0.3, 0.6, 0.85, 0.899])
    expect(stops == [] and callback.stopped_epoch is None, "no stop while the metric stays under 0.9",
           f"stopped after epoch {stops}, stopped_epoch {callback.stopped_epoch}")


@check(HINT, ("23", "three callbacks"), keras=True)
def test_stops_a_real_fit(ex):
    keras.utils.set_random_seed(0)
    pixels, labels = synthetic.images(20)
    x = pixels[..., None].astype(np.float32) / 255.0
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.002), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    callback = ex.StopAtTarget(0.95)
    history = model.fit(x, labels, validation_data=(x, labels), epochs=40, batch_size=15, verbose=0,
                        callbacks=[callback]).history["val_accuracy"]
    reached = [i for i, v in enumerate(history) if v >= 0.95]
    expect(bool(reached), "val_accuracy to reach 0.95 within 40 epochs on this easy set (the check's own model)",
           [round(v, 3) for v in history])
    expect(len(history) == reached[0] + 1 and callback.stopped_epoch == reached[0],
           f"fit to end after epoch {reached[0]} (index), the first with val_accuracy >= 0.95",
           f"{len(history)} epochs ran, stopped_epoch {callback.stopped_epoch}")
