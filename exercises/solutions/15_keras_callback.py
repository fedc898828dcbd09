"""Exercise 15: a Keras callback of your own that stops training at a target.

Keras calls a callback's methods at fixed moments of fit (on_train_begin, on_epoch_end, ...),
with the epoch's metrics in ``logs``. Write one that stops training at the end of the first
epoch whose monitored metric reaches a target, and remembers which epoch that was.

Keras runs eagerly: this file uses TensorFlow 2 as it is (no tf.compat.v1, no disable_v2_behavior).
Check your work: lowtf check 15
Re-read: lesson 23, step "fit with steps_per_epoch" (its ImagesPerSecond callback).
"""
import keras


class StopAtTarget(keras.callbacks.Callback):
    """Stop fit at the end of the first epoch whose ``logs[monitor]`` is at least ``target``; set
    ``self.stopped_epoch`` to that epoch's index (0 for the first epoch), or leave it None."""

    def __init__(self, target: float, monitor: str = "val_accuracy"):
        super().__init__()
        self.target, self.monitor = target, monitor
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value >= self.target and self.stopped_epoch is None:
            self.stopped_epoch = epoch
            self.model.stop_training = True
