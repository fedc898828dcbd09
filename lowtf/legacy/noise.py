"""TensorFlow's console noise in an old script's run: hidden, counted, and shown on request.

Three kinds, each caught where it is made, so the script's own output is never touched:
- the C++ lines TensorFlow prints while it loads (oneDNN, CUDA probes, the cuInit error): the
  import and a GPU probe run with file descriptor 2 pointed at a temporary file, whose lines are
  counted;
- TensorFlow's Python log records below ERROR that come from library code (deprecation notices,
  printed twice under ``tf.app.run``, whose absl handler sits on the root logger): a filter on the
  ``tensorflow`` logger drops them; the script's own ``tf.logging`` calls pass;
- deprecation warnings (``DeprecationWarning``, ``FutureWarning``, and the ``UserWarning`` that
  tf-keras raises for each ``tf.layers`` call, "... is deprecated"): old code is made of them.
A verbose run changes nothing and counts nothing.
"""
from __future__ import annotations

import logging
import os
import site
import sys
import sysconfig
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import lowtf

DEPRECATIONS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def library_dirs() -> tuple[str, ...]:
    """Folders of installed code (site-packages, the standard library, lowtf itself): not the script's."""
    found = {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"],
             str(Path(lowtf.__file__).parent)}
    found.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    return tuple(sorted(str(Path(d).resolve()) + os.sep for d in found if d))


def in_library(path: str | None, dirs: tuple[str, ...]) -> bool:
    if not path:
        return False
    try:
        path = str(Path(path).resolve())
    except OSError:
        return False
    return path.startswith(dirs)


@dataclass
class Noise:
    """How many lines of TensorFlow's noise were kept off the console."""

    lines: int = 0

    def summary(self) -> str:
        return (f"lowtf run: {self.lines} line{'s' * (self.lines != 1)} of TensorFlow start-up and deprecation "
                "notices hidden (`lowtf run --verbose SCRIPT` shows them)")


class LibraryLogFilter(logging.Filter):
    """Drops (and counts) TensorFlow's own log records below ERROR; the script's records pass."""

    def __init__(self, noise: Noise, dirs: tuple[str, ...]):
        super().__init__()
        self.noise, self.dirs = noise, dirs

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR or not in_library(record.pathname, self.dirs):
            return True
        self.noise.lines += len(record.getMessage().splitlines()) or 1
        return False


def load_tensorflow_quietly(noise: Noise) -> None:
    """Import TensorFlow (and probe for GPUs, which prints the cuInit line) with fd 2 in a temporary file;
    count its lines. A Ctrl-C in these seconds ends with a line, not a traceback through TensorFlow."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")
        except KeyboardInterrupt:
            os.dup2(saved, 2)
            print("\nInterrupted while TensorFlow was loading; nothing ran.", file=sys.stderr, flush=True)
            raise SystemExit(130) from None
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        caught.seek(0)
        noise.lines += len(caught.read().splitlines())


def hide_library_noise(noise: Noise) -> None:
    """After the import: filter TensorFlow's log records and deprecation warnings (counted in ``noise``)."""
    import tensorflow as tf

    dirs = library_dirs()
    tf.get_logger().addFilter(LibraryLogFilter(noise, dirs))
    tf.autograph.set_verbosity(0)
    shown = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        deprecated = issubclass(category, DEPRECATIONS) or (issubclass(category, UserWarning)
                                                            and "is deprecated" in str(message))
        if deprecated:
            noise.lines += warnings.formatwarning(message, category, filename, lineno, line).count("\n")
            return
        shown(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning
