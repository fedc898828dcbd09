"""Export a Session's graph as a versioned SavedModel: ``BASE/NAME/VERSION/saved_model.pb``."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Mapping

import tensorflow.compat.v1 as tf

SERVING_TAG = tf.saved_model.tag_constants.SERVING
DEFAULT_SIGNATURE = tf.saved_model.signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY  # "serving_default"


def export_saved_model(sess: tf.Session, model_dir: str | Path, version: int,
                       signatures: Mapping[str, tuple[Mapping[str, tf.Tensor], Mapping[str, tf.Tensor]]]) -> Path:
    """Write ``model_dir/version`` with one predict signature per entry of
    ``signatures = {name: (inputs {name: tensor}, outputs {name: tensor})}``.

    The SavedModel is built in a temporary folder and renamed into place, so a server
    watching ``model_dir`` never loads half a version.
    """
    model_dir = Path(model_dir)
    final = model_dir / str(int(version))
    if final.exists():
        raise FileExistsError(f"{final} exists; versions are immutable, export a new version number")
    tmp = model_dir / f".tmp-{version}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    builder = tf.saved_model.Builder(str(tmp))
    defs = {name: tf.saved_model.predict_signature_def(inputs=dict(i), outputs=dict(o))
            for name, (i, o) in signatures.items()}
    builder.add_meta_graph_and_variables(sess, [SERVING_TAG], signature_def_map=defs, strip_default_attrs=True)
    builder.save()
    os.replace(tmp, final)
    return final
