"""One short line per Keras epoch, for the Keras lessons (22-26): what ``fit(verbose=2)`` says, in 80 columns.

Keras's own ``verbose=2`` line (``20/20 - 2s - 95ms/step - accuracy: 0.6543 - loss: 1.0911 -
val_accuracy: ...``) runs past an 80-column terminal once validation metrics join it, and
``verbose=1`` redraws a bar as wide. This callback prints the same numbers, shorter, wrapped
to the terminal. Lesson 23 introduces callbacks (its ``ImagesPerSecond`` is written out there);
this one is the same idea, packaged because every Keras lesson uses it.
"""
from __future__ import annotations

import shutil
import textwrap
import time

import keras

SHORT = {"accuracy": "acc", "val_accuracy": "val_acc"}


class EpochLine(keras.callbacks.Callback):
    """Print ``   NAME epoch 3/10: loss 0.412  acc 0.871  val_loss 0.398  (1.2 s)`` after each epoch."""

    def __init__(self, name: str = ""):
        super().__init__()
        self.name = name

    def on_train_begin(self, logs=None):
        self.epochs = self.params.get("epochs")

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        numbers = "  ".join(f"{SHORT.get(k, k)} {v:.3f}" for k, v in (logs or {}).items()
                            if isinstance(v, (int, float)) and k != "learning_rate")
        head = f"{self.name + ' ' if self.name else ''}epoch {epoch + 1}/{self.epochs}:"
        line = f"{head} {numbers}  ({time.perf_counter() - self.started:.1f} s)"
        width = shutil.get_terminal_size().columns - 1
        print(textwrap.fill(line, width, initial_indent="   ", subsequent_indent="      "), flush=True)
