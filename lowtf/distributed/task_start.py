"""How a task process (mnist_task, mirrored_task, ps_task) loads TensorFlow: quietly, and without Keras.

TensorFlow's ``__init__`` imports ``keras.src.optimizers`` eagerly (so that Keras optimizers are registered
for SavedModel loading), which pulls in all of Keras: ~1 s of CPU per process measured here (3.3-3.6 s
against 4.0-4.6 s for ``import tensorflow``), paid by every task of every cluster, on cores the tasks share.
No task uses Keras, so a stand-in module answers that one import while TensorFlow loads, and is removed
after: ``tf.keras`` still loads in full if anything asks for it later.
"""
from __future__ import annotations

import sys
import types

from lowtf import console

KERAS_EAGER_IMPORT = "keras.src.optimizers"


def load_tensorflow() -> None:
    """``console.load_tensorflow()`` without Keras; the plain call where TensorFlow or Keras is loaded already
    (a lesson's process that imports a task module to run or show it)."""
    if "tensorflow" in sys.modules or "keras" in sys.modules or KERAS_EAGER_IMPORT in sys.modules:
        console.load_tensorflow()
        return
    stand_in = types.ModuleType(KERAS_EAGER_IMPORT, "a stand-in while TensorFlow loads in a task: see task_start")
    sys.modules[KERAS_EAGER_IMPORT] = stand_in
    try:
        console.load_tensorflow()
    finally:
        if sys.modules.get(KERAS_EAGER_IMPORT) is stand_in:
            del sys.modules[KERAS_EAGER_IMPORT]
