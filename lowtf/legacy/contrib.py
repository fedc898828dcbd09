"""``tf.contrib`` for old scripts: the pieces with a drop-in successor map to it; any other use stops
with a message that names the successor.

tf.contrib left TensorFlow in 2.0. The successors come from TensorFlow's own upgrade script,
``tf_upgrade_v2`` (``tensorflow/tools/compatibility``, installed with TensorFlow), read when a
script first touches ``tf.contrib``:
- its rename table's ``tf.contrib.*`` entries (``tf.contrib.rnn.LSTMCell`` ->
  ``tf.compat.v1.nn.rnn_cell.LSTMCell``, ``tf.contrib.data.*`` -> ``tf.data.experimental.*``, ...);
- what its transformers rewrite ``tf.contrib.layers``' initialisers and regularisers into, written
  here as functions with contrib's own arguments and defaults;
- for the rest, its own advice: the TensorFlow Addons names, its notes on layer_norm, summaries,
  distribution strategies, and its general tf.contrib message.
lowtf adds the tutorial staples the script only flags (``tf.contrib.layers.flatten``, the MNIST
reader ``tf.contrib.learn.datasets.mnist``) and advice for fully_connected, slim and learn.
"""
from __future__ import annotations

import functools
import importlib
import types


class ContribRemoved(ImportError):
    """A ``tf.contrib`` piece with no drop-in successor; the message names what replaced it.

    An ImportError, not an AttributeError: ``from tensorflow.contrib.x import y`` would turn an
    AttributeError into a bare "cannot import name" and lose the message."""


def _tf1():
    import tensorflow.compat.v1 as tf

    return tf


def xavier_initializer(uniform=True, seed=None, dtype=None):
    """contrib's Glorot initialiser, as tf_upgrade_v2 rewrites it: VarianceScaling(1.0, fan_avg)."""
    tf = _tf1()
    return tf.variance_scaling_initializer(scale=1.0, mode="fan_avg",
                                           distribution="uniform" if uniform else "truncated_normal",
                                           seed=seed, dtype=dtype or tf.float32)


def variance_scaling_initializer(factor=2.0, mode="FAN_IN", uniform=False, seed=None, dtype=None):
    """contrib's He-style initialiser (its default factor 2.0 and mode FAN_IN), as tf_upgrade_v2 rewrites it."""
    tf = _tf1()
    return tf.variance_scaling_initializer(scale=factor, mode=mode.lower(),
                                           distribution="uniform" if uniform else "truncated_normal",
                                           seed=seed, dtype=dtype or tf.float32)


def _regularizer(scale, kind: str, scope=None):
    """contrib's regulariser: ``scale * l2_loss(w)`` (sum of squares / 2) or ``scale * sum|w|``; scale 0: none."""
    if scale < 0.0:
        raise ValueError(f"Setting a scale less than 0 on a regularizer: {scale}.")
    if scale == 0.0:
        return lambda weights: None
    tf = _tf1()

    def regularize(weights, name=None):
        with tf.name_scope(scope, f"{kind}_regularizer", [weights]):
            penalty = tf.nn.l2_loss(weights) if kind == "l2" else tf.reduce_sum(tf.abs(weights))
            return tf.multiply(tf.cast(scale, weights.dtype.base_dtype), penalty, name=name or "value")
    return regularize


def l2_regularizer(scale, scope=None):
    return _regularizer(scale, "l2", scope)


def l1_regularizer(scale, scope=None):
    return _regularizer(scale, "l1", scope)


def flatten(inputs, outputs_collections=None, scope=None):
    """contrib's flatten: ``[batch, ...]`` -> ``[batch, k]`` (tf.compat.v1.layers.flatten, in a Flatten scope)."""
    tf = _tf1()
    with tf.name_scope(scope, "Flatten", [inputs]):
        return tf.layers.flatten(tf.convert_to_tensor(inputs))


# Pieces lowtf provides itself: {contrib name: (object or module name, the successor to name)}.
OWN = {
    "tf.contrib.layers.flatten": (flatten, "tf.compat.v1.layers.flatten"),
    "tf.contrib.layers.xavier_initializer": (xavier_initializer, "tf.compat.v1.keras.initializers.VarianceScaling"),
    "tf.contrib.layers.xavier_initializer_conv2d": (xavier_initializer,
                                                    "tf.compat.v1.keras.initializers.VarianceScaling"),
    "tf.contrib.layers.variance_scaling_initializer": (variance_scaling_initializer,
                                                       "tf.compat.v1.keras.initializers.VarianceScaling"),
    "tf.contrib.layers.l2_regularizer": (l2_regularizer, "tf.keras.regularizers.l2 (with half the scale)"),
    "tf.contrib.layers.l1_regularizer": (l1_regularizer, "tf.keras.regularizers.l1"),
    "tf.contrib.learn.datasets.mnist": ("lowtf.tutorials.mnist.input_data", "lowtf.tutorials.mnist.input_data"),
    "tf.contrib.learn.python.learn.datasets.mnist": ("lowtf.tutorials.mnist.input_data",
                                                     "lowtf.tutorials.mnist.input_data"),
}

# Advice for staples with no drop-in successor (the longest matching prefix wins).
HINTS = {
    "tf.contrib.layers.fully_connected": "tf.compat.v1.layers.dense(inputs, units, activation=tf.nn.relu): "
                                         "fully_connected's activation_fn defaults to relu, dense's to none, "
                                         "and its variables are weights/biases where dense's are kernel/bias",
    "tf.contrib.layers.conv2d": "tf.compat.v1.layers.conv2d(inputs, filters, kernel_size, padding='same', "
                                "activation=tf.nn.relu): contrib's conv2d defaults to SAME padding and relu",
    "tf.contrib.layers.batch_norm": "tf.compat.v1.layers.batch_normalization (its moving averages update "
                                    "through tf.GraphKeys.UPDATE_OPS as batch_norm's did)",
    "tf.contrib.layers.dropout": "tf.compat.v1.layers.dropout(inputs, rate=1 - keep_prob, training=...)",
    "tf.contrib.slim": "the tf-slim package (pip install tf-slim; import tf_slim as slim), whose last release "
                       "(2020) fails on current TensorFlow in places (batch_norm)",
    "tf.contrib.learn": "tf.estimator, which TensorFlow 2.16 removed: write the loop with a Session "
                        "(lowtf's lessons 07-10 show how)",
    "tf.contrib.keras": "tf.keras",
    "tf.contrib.eager": "eager execution, TensorFlow 2's default (not in a lowtf run script, which runs graphs)",
}


@functools.lru_cache(maxsize=1)
def upgrade_tables() -> tuple[dict, dict, dict]:
    """tf_upgrade_v2's (renames, advice, module advice) for tf.contrib names."""
    from tensorflow.tools.compatibility import all_renames_v2, module_deprecations_v2, tf_upgrade_v2

    renames = {k: v for k, v in all_renames_v2.symbol_renames.items() if k.startswith("tf.contrib.")}
    advice = {k: f"its successor is {v} in TensorFlow Addons (tensorflow-addons, no longer maintained)"
              for k, v in all_renames_v2.addons_symbol_mappings.items() if k.startswith("tf.contrib.")}
    spec = tf_upgrade_v2.TFAPIChangeSpec()
    for name, (_, text) in spec.function_warnings.items():
        if name.startswith("tf.contrib."):
            advice.setdefault(name, text.strip())
    modules = {k: text for k, (_, text) in module_deprecations_v2.MODULE_DEPRECATIONS.items()
               if k.startswith("tf.contrib")}
    return renames, advice, modules


def _resolve(successor: str):
    """The object a name like ``tf.compat.v1.nn.rnn_cell.LSTMCell`` or ``tf.nest.flatten`` names here."""
    import tensorflow

    for root, rest in ((tensorflow, successor), (tensorflow.compat.v1, successor)):
        obj = root
        try:
            for part in rest.split(".")[1:]:
                obj = getattr(obj, part)
            return obj
        except AttributeError:
            continue
    return None


def advice(name: str) -> str:
    """Why ``name`` is gone and what replaced it, in one message."""
    _, named, modules = upgrade_tables()
    lead = (f"{name} is gone: tf.contrib left TensorFlow in 2.0, and `lowtf run` maps only the pieces with "
            "a drop-in successor. ")
    if name in named:
        return lead + named[name]
    for table in (HINTS, modules):
        prefixes = [p for p in table if name == p or name.startswith(p + ".")]
        if prefixes:
            hint = table[max(prefixes, key=len)]
            return lead + ("Use " + hint if table is HINTS else hint.replace("<function name>", name))
    generic = modules["tf.contrib"].replace("<function name>", name)
    return lead + generic


def lookup(name: str):
    """What ``name`` (``tf.contrib.x.y``) is in a ``lowtf run`` script: the successor, a namespace of
    further names, or ContribRemoved."""
    renames, named, _ = upgrade_tables()
    if name in OWN:
        target = OWN[name][0]
        return importlib.import_module(target) if isinstance(target, str) else target
    if name in renames:
        found = _resolve(renames[name])
        if found is None:
            raise ContribRemoved(f"{name}: its successor {renames[name]} is not in this TensorFlow")
        return found
    known = set(OWN) | set(renames) | set(named) | set(HINTS)
    if any(k.startswith(name + ".") for k in known):
        return ContribModule(name)
    raise ContribRemoved(advice(name))


class ContribModule(types.ModuleType):
    """``tf.contrib`` or one of its submodules: attributes resolve through ``lookup``."""

    def __init__(self, path: str = "tf.contrib"):
        super().__init__(path.replace("tf.", "tensorflow.", 1), f"lowtf's stand-in for {path}")
        self._contrib_path = path
        self.__path__ = []   # a package: `import tensorflow.contrib.layers` finds its parts through the finder

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        found = lookup(f"{self._contrib_path}.{attr}")
        setattr(self, attr, found)
        return found
