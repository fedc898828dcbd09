"""Run one TF 1.x script, unedited, as it ran in its day: ``python -m lowtf.legacy [--verbose] SCRIPT [ARGS]``.

``lowtf run`` starts this in a fresh interpreter (it replaces its own process), so what is set
here belongs to the script's process alone:
1. ``TF_USE_LEGACY_KERAS=1`` while TensorFlow loads: ``tf.layers`` (and ``tf.nn.rnn_cell``) come
   from tf-keras, TF 1.x's own layer code, with TF 1.x's variable names and ``UPDATE_OPS``. Set in
   this process only, and removed once TensorFlow's Keras modules are resolved, so no other process
   inherits it: anywhere else it would switch the Keras 3 lessons to Keras 2.
2. TensorFlow loads quietly (``lowtf.legacy.noise``), then v2 behaviour goes off
   (``disable_v2_behavior``: graphs, Sessions, placeholders, reference Variables, as in TF 1.x).
3. ``import tensorflow`` in the script means tf.compat.v1 with tf.contrib, and the tutorials' MNIST
   package is lowtf's (``lowtf.legacy.imports``).
4. The script runs as ``__main__`` with ``sys.argv = [SCRIPT, *ARGS]`` and its folder first on
   ``sys.path``; its output, files, exceptions and exit status are its own. A traceback starts at
   the script's frame. At exit, one line says how many lines of TensorFlow's noise were hidden.
"""
from __future__ import annotations

import argparse
import atexit
import os
import runpy
import sys
import traceback
from pathlib import Path
from typing import Sequence

LEGACY_KERAS = "TF_USE_LEGACY_KERAS"


def parse(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="lowtf run", description="Run a TF 1.x script unedited.")
    p.add_argument("--verbose", action="store_true", help="show everything TensorFlow prints")
    p.add_argument("script", help="the TF 1.x script")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments")
    return p.parse_args(argv)


def _script_excepthook(script: Path):
    """A traceback that starts at the script's first frame (not in runpy and this runner)."""
    def hook(kind, value, tb):
        start = tb
        while start is not None and Path(start.tb_frame.f_code.co_filename).resolve() != script:
            start = start.tb_next
        traceback.print_exception(kind, value, start or tb)
    return hook


def prepare(verbose: bool):
    """Load TensorFlow for an old script (steps 1-3 above); return (the module the script gets, noise)."""
    os.environ[LEGACY_KERAS] = "1"
    if verbose:   # everything: lowtf's own import set TensorFlow's C++ log level to 2 (errors only)
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    import lowtf  # noqa: F401  (the fast CPU kernels' variable, before TensorFlow loads)
    from lowtf.legacy import imports
    from lowtf.legacy.noise import Noise, hide_library_noise, load_tensorflow_quietly

    noise = Noise()
    if verbose:
        import tensorflow  # noqa: F401
    else:
        load_tensorflow_quietly(noise)
        hide_library_noise(noise)
    import tensorflow as real
    import tensorflow.compat.v1 as v1

    v1.disable_v2_behavior()
    _resolve_keras(real)
    del os.environ[LEGACY_KERAS]   # the choice is made: processes the script starts get TensorFlow's default
    return imports.install(v1, real), noise


def _resolve_keras(tf) -> None:
    """TensorFlow picks Keras 2 or 3 when each of its lazy Keras modules is first touched, from the
    environment at that moment: touch them all now (tf-keras is loaded already; ~0.2 s)."""
    v1 = tf.compat.v1
    for lazy, name in ((tf.keras, "layers"), (tf.compat.v2.keras, "layers"), (v1.keras, "layers"),
                       (v1.layers, "dense"), (v1.nn.rnn_cell, "BasicRNNCell")):
        getattr(lazy, name)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    script = Path(args.script)
    if not script.is_file():
        print(f"error: no script {script}; give the path of the TF 1.x .py file to run", file=sys.stderr)
        return 2
    script = script.resolve()
    _, noise = prepare(args.verbose)
    if not args.verbose:
        atexit.register(lambda: noise.lines and print(noise.summary(), file=sys.stderr, flush=True))
    sys.argv = [str(args.script), *args.args]
    sys.path.insert(0, str(script.parent))
    sys.excepthook = _script_excepthook(script)
    runpy.run_path(str(script), run_name="__main__")
    return 0
