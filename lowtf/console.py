"""A clean console for the learner: TensorFlow loaded without its start-up and deprecation noise.

TensorFlow 2.21 prints several lines from C++ while it loads, before any log level applies
to them ("All log messages before absl::InitializeLog() ...", the oneDNN notice, "Could not
find cuda drivers"), an ``E0000 ... failed call to cuInit`` line the first time a Session
looks for a GPU on a machine without one, and Python warnings when a ``compat.v1`` API the
course teaches is marked deprecated. None of them is an error in the learner's code.

``load_tensorflow()`` imports TensorFlow with the process's stderr pointed at /dev/null,
looks for GPUs once while it is still there (so the cuInit line goes too), then turns
TensorFlow's Python logger down to errors. Real errors still show: they are Python
exceptions, raised after stderr is back. ``LOWTF_VERBOSE=1`` shows everything.

``load_tensorflow(keras_eagerly=False)`` also leaves out the one import of Keras that
TensorFlow's ``__init__`` makes eagerly (``keras.src.optimizers``, so that Keras optimizers
are registered for SavedModel loading): it pulls in all of Keras, about 1 s of CPU per process
(measured: 3.4 s against 4.4 s of CPU for the whole load). Lesson and task processes use it;
Keras still loads in full the moment anything imports it (a Keras lesson's ``import keras``,
``tf.keras``). ``lowtf serve`` loads the ordinary way: it may load any SavedModel.

A process that has loaded TensorFlow holds millions of Python objects, and at exit Python's
garbage collector walks them again and again while it tears the modules down: 0.7-1.1 s of CPU
per process (measured, ``import lowtf.lesson`` alone). ``load_tensorflow`` registers one exit
step that collects the garbage there is at that moment (so finalizers run and files are flushed
as usual), then freezes what is left (``gc.freeze``): teardown then frees by reference counts.
"""
from __future__ import annotations

import atexit
import contextlib
import gc
import logging
import os
import sys
import types
import warnings


def verbose() -> bool:
    """True when the learner asked to see everything TensorFlow prints (``LOWTF_VERBOSE=1``)."""
    return os.environ.get("LOWTF_VERBOSE", "") not in ("", "0")


@contextlib.contextmanager
def stderr_silenced():
    """Point file descriptor 2 at /dev/null for the block (C++ writes there directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


KERAS_EAGER_IMPORT = "keras.src.optimizers"


def load_tensorflow(keras_eagerly: bool = True) -> None:
    """Import TensorFlow once, quietly (see the module docstring); a no-op after the first call.
    ``keras_eagerly=False``: without the Keras import TensorFlow makes while it loads."""
    if "tensorflow" in sys.modules and getattr(load_tensorflow, "done", False):
        return
    if keras_eagerly or "tensorflow" in sys.modules or "keras" in sys.modules:
        _load_tensorflow()
        return
    # A stand-in answers that one import while TensorFlow loads (TensorFlow ignores what it
    # finds there), and is removed after, so a later ``import keras`` loads all of it.
    stand_in = types.ModuleType(KERAS_EAGER_IMPORT, "a stand-in while TensorFlow loads: see lowtf.console")
    sys.modules[KERAS_EAGER_IMPORT] = stand_in
    try:
        _load_tensorflow()
    finally:
        if sys.modules.get(KERAS_EAGER_IMPORT) is stand_in:
            del sys.modules[KERAS_EAGER_IMPORT]


def _load_tensorflow() -> None:
    try:
        if verbose():
            import tensorflow  # noqa: F401
        else:
            with stderr_silenced():
                import tensorflow as tf
                # The CUDA platform is initialised on the first device query; on a machine
                # without a GPU driver that prints the cuInit line, so do it here, silenced.
                tf.config.list_physical_devices("GPU")
    except KeyboardInterrupt:   # Ctrl-C in the first seconds: a line, not a traceback through TensorFlow's import
        print("\nInterrupted while TensorFlow was loading; nothing ran.", file=sys.stderr, flush=True)
        raise SystemExit(130) from None
    if not verbose():
        import tensorflow as tf

        tf.get_logger().setLevel(logging.ERROR)   # "... is deprecated", AutoGraph's notices
        tf.autograph.set_verbosity(0)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
    load_tensorflow.done = True
    atexit.register(_collect_then_freeze)   # runs before TensorFlow's own exit steps (last in, first out)


def _collect_then_freeze() -> None:
    """At exit: finalize today's garbage, then keep teardown's collector off the live objects."""
    gc.collect()
    gc.freeze()
