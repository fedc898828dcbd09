"""One short line per Keras epoch, for the Keras lessons (22-26): what ``fit(verbose=2)`` says, in 80 columns.

Keras's own ``verbose=2`` line (``20/20 - 2s - 95ms/step - accuracy: 0.6543 - loss: 1.0911 -
val_accuracy: ...``) runs past an 80-column terminal once validation metrics join it, and
``verbose=1`` redraws a bar as wide. This callback prints the same numbers, shorter, wrapped
to the terminal. Lesson 23 introduces callbacks (its ``ImagesPerSecond`` is written out there);
this one is the same idea, packaged because every Keras lesson uses it.
"""
from __future__ import annotations

import shutil
import threading
import time

import keras

SHORT = {"accuracy": "acc", "val_accuracy": "val_acc"}


class Ticking:
    """``with Ticking():`` prints `` .`` every ``seconds`` until the block ends: a sign of life.

    A thread, not a batch callback: a Keras callback with batch hooks makes ``fit`` hand every
    batch's logs back to Python (measured: lesson 25 --fast took 19.8-20.7 s with dots printed
    from batch hooks, 17.2-17.6 s with this thread)."""

    def __init__(self, seconds: float = 2.0):
        self.seconds, self.dots = seconds, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)

    def _tick(self) -> None:
        while not self._stop.wait(self.seconds):
            print(" .", end="", flush=True)
            self.dots += 1

    def __enter__(self) -> "Ticking":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class EpochLine(keras.callbacks.Callback):
    """Print ``   NAME epoch 3/10: . loss 0.412  acc 0.871  val_loss 0.398  (1.2 s)`` for each epoch.

    The head is printed when the epoch starts and a dot every 2 s while it runs, so a long
    epoch is never a silent screen."""

    def __init__(self, name: str = ""):
        super().__init__()
        self.name = name

    def on_train_begin(self, logs=None):
        self.epochs = self.params.get("epochs")

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()
        head = f"   {self.name + ' ' if self.name else ''}epoch {epoch + 1}/{self.epochs}:"
        print(head, end="", flush=True)
        self.column = len(head)
        self.ticking = Ticking().__enter__()

    def on_epoch_end(self, epoch, logs=None):
        numbers = [f"{SHORT.get(k, k)} {v:.3f}" for k, v in (logs or {}).items()
                   if isinstance(v, (int, float)) and k != "learning_rate"]
        self.ticking.__exit__(None, None, None)
        self.column += 2 * self.ticking.dots
        words = numbers + [f"({time.perf_counter() - self.started:.1f} s)"]
        width = shutil.get_terminal_size().columns - 1
        for word in words:      # wrap to the terminal: the head is on screen already
            if self.column + 2 + len(word) > width:
                print("\n      ", end="")
                self.column = 6
            print(f"  {word}", end="")
            self.column += 2 + len(word)
        print(flush=True)

    def on_train_end(self, logs=None):
        if hasattr(self, "ticking"):
            self.ticking.__exit__(None, None, None)   # stopped twice is fine: an Event stays set
