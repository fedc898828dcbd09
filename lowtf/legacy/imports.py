"""What ``import tensorflow`` means to an old script under ``lowtf run``.

- ``import tensorflow as tf`` in the script (and in its own modules beside it) gives ``TF1``: the
  ``tensorflow.compat.v1`` API, plus ``tf.contrib`` (``lowtf.legacy.contrib``). Libraries keep the
  real package: the substitution is made only for importers outside site-packages, the standard
  library and lowtf, so TensorFlow's own modules, tf-keras and the rest see what they expect.
- ``tensorflow.examples.tutorials.mnist`` (``input_data`` and the tutorial's ``mnist`` model
  module) is lowtf's ``lowtf.tutorials.mnist``: verified MNIST, no download.
- ``tensorflow.contrib...`` imports resolve through ``lowtf.legacy.contrib``.
"""
from __future__ import annotations

import builtins
import importlib
import importlib.abc
import importlib.util
import sys
import types

from lowtf.legacy import contrib
from lowtf.legacy.noise import in_library, library_dirs


class TF1(types.ModuleType):
    """``tensorflow`` as a TF 1.x script knew it: tf.compat.v1's names, and tf.contrib."""

    def __init__(self, v1, real):
        super().__init__("tensorflow", "TensorFlow's v1 API (tf.compat.v1) with tf.contrib, for `lowtf run`")
        self._v1, self._real = v1, real
        self.__version__ = real.__version__
        self.__path__ = real.__path__   # `import tensorflow.x.y` still walks the real package

    def __getattr__(self, name: str):
        if name == "contrib":
            return sys.modules["tensorflow.contrib"]
        if name == "examples":
            return sys.modules["tensorflow.examples"]
        if name == "compat":   # tf.compat.v1 / tf.compat.v2 as the real package has them
            return self._real.compat
        return getattr(self._v1, name)

    def __dir__(self):
        return sorted(set(dir(self._v1)) | {"contrib", "examples"})


class ContribFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``tensorflow.contrib.*`` modules: a namespace of further names, or ContribRemoved."""

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith("tensorflow.contrib."):
            return None
        found = contrib.lookup(fullname.replace("tensorflow.", "tf.", 1))
        if not isinstance(found, types.ModuleType):
            raise contrib.ContribRemoved(f"{fullname} is not a module (import what it holds from its parent)")
        return importlib.util.spec_from_loader(fullname, self, origin="lowtf.legacy.contrib")

    def create_module(self, spec):
        found = contrib.lookup(spec.name.replace("tensorflow.", "tf.", 1))
        return found if isinstance(found, contrib.ContribModule) else None

    def exec_module(self, module):
        pass


def _package(name: str, doc: str) -> types.ModuleType:
    module = types.ModuleType(name, doc)
    module.__path__ = []
    return module


def register_aliases() -> None:
    """``tensorflow.examples.tutorials.mnist[.input_data|.mnist]`` and ``tensorflow.contrib`` in sys.modules."""
    import tensorflow

    from lowtf.tutorials import mnist as tutorial
    from lowtf.tutorials.mnist import input_data, mnist

    examples = _package("tensorflow.examples", "lowtf's stand-in for TensorFlow's examples package")
    tutorials = _package("tensorflow.examples.tutorials", "lowtf's stand-in for the tutorials")
    examples.tutorials, tutorials.mnist = tutorials, tutorial
    sys.modules.update({
        "tensorflow.examples": examples,
        "tensorflow.examples.tutorials": tutorials,
        "tensorflow.examples.tutorials.mnist": tutorial,
        "tensorflow.examples.tutorials.mnist.input_data": input_data,
        "tensorflow.examples.tutorials.mnist.mnist": mnist,
        "tensorflow.contrib": contrib.ContribModule("tf.contrib"),
    })
    for name, (target, _) in contrib.OWN.items():   # contrib's MNIST reader modules
        if isinstance(target, str):
            sys.modules[name.replace("tf.", "tensorflow.", 1)] = importlib.import_module(target)
    sys.meta_path.insert(0, ContribFinder())
    del tensorflow


def install(v1, real) -> TF1:
    """Route the script's ``import tensorflow`` to a TF1 module (see the module docstring); return it."""
    register_aliases()
    tf1 = TF1(v1, real)
    dirs = library_dirs()
    original = builtins.__import__

    def import_(name, globals=None, locals=None, fromlist=(), level=0):
        module = original(name, globals, locals, fromlist, level)
        if level or not (name == "tensorflow" or (name.startswith("tensorflow.") and not fromlist)):
            return module
        importer = (globals or {}).get("__file__")
        if in_library(importer, dirs) or (globals or {}).get("__name__", "").startswith("lowtf."):
            return module
        return tf1   # `import tensorflow[.x.y] [as tf]` and `from tensorflow import x` in the script
    builtins.__import__ = import_
    return tf1
