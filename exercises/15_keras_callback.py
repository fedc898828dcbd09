"""Exercise 15: a Keras callback of your own that stops training at a target.

Keras calls a callback's methods at fixed moments of fit (on_train_begin, on_epoch_end, ...),
with the epoch's metrics in ``logs``. Write one that stops training at the end of the first
epoch whose monitored metric reaches a target, and remembers which epoch that was.

Keras runs eagerly: this file uses TensorFlow 2 as it is (no tf.compat.v1, no disable_v2_behavior).
Complete the class marked TODO, then check your work: lowtf check 15
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
        # TODO: read logs[self.monitor]; when it reaches the target, set self.model.stop_training = True
        # and remember the epoch
        raise NotImplementedError("on_epoch_end is not written yet")
