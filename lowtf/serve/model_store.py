"""Versioned SavedModels on disk, loaded into Sessions; the newest version is served.

``ModelStore(base_path, name)`` scans ``base_path`` for integer-named folders holding a
``saved_model.pb``. ``refresh()`` loads a version that appeared since the last scan
(the server calls it at most once a second), so a new export is picked up without a
restart; older versions are unloaded once a newer one is available.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import tensorflow.compat.v1 as tf
from tensorflow.core.framework import types_pb2

from lowtf.serve.export import SERVING_TAG


class NotFound(LookupError):
    """Unknown model, version or signature: HTTP 404 (TF Serving: NOT_FOUND)."""


@dataclass
class TensorSpec:
    name: str              # graph tensor name, e.g. "images:0"
    dtype: tf.DType
    shape: Optional[list]  # None for unknown rank; -1 for unknown dims

    def to_json(self) -> dict:
        shape = {"dim": [{"size": str(d), "name": ""} for d in (self.shape or [])],
                 "unknown_rank": self.shape is None}
        return {"dtype": types_pb2.DataType.Name(self.dtype.as_datatype_enum), "tensor_shape": shape,
                "name": self.name}


@dataclass
class Signature:
    inputs: dict           # {input name: TensorSpec}
    outputs: dict
    method_name: str


@dataclass
class LoadedModel:
    version: int
    session: tf.Session
    signatures: dict       # {signature name: Signature}

    def run(self, signature: str, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        sig = self.signatures[signature]
        fetch = {k: spec.name for k, spec in sig.outputs.items()}
        return self.session.run(fetch, {sig.inputs[k].name: v for k, v in feeds.items()})


def _spec(info) -> TensorSpec:
    shape = None if info.tensor_shape.unknown_rank else [int(d.size) for d in info.tensor_shape.dim]
    return TensorSpec(info.name, tf.dtypes.as_dtype(info.dtype), shape)


def load_version(path: Path, version: int) -> LoadedModel:
    graph = tf.Graph()
    session = tf.Session(graph=graph)
    with graph.as_default():
        meta = tf.saved_model.loader.load(session, [SERVING_TAG], str(path))
    # Object-based SavedModels (Keras 3 `model.export`, `tf.saved_model.save`) also carry
    # `__saved_model_init_op`: the loader has already run it, and its output has no dtype
    # (DT_INVALID), so it is no signature to serve, as in TF Serving.
    signatures = {name: Signature({k: _spec(v) for k, v in sd.inputs.items()},
                                  {k: _spec(v) for k, v in sd.outputs.items()}, sd.method_name)
                  for name, sd in meta.signature_def.items()
                  if all(v.dtype != types_pb2.DT_INVALID for v in (*sd.inputs.values(), *sd.outputs.values()))}
    return LoadedModel(version, session, signatures)


class ModelStore:
    def __init__(self, base_path: str | Path, name: str, poll_seconds: float = 1.0):
        self.base_path = Path(base_path)
        self.name = name
        self.poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._current: Optional[LoadedModel] = None
        self._last_scan = 0.0
        if not self.base_path.is_dir():
            raise FileNotFoundError(f"model base path {self.base_path} does not exist; export a model there first")
        self.refresh(force=True)

    def versions_on_disk(self) -> list[int]:
        return sorted(int(p.name) for p in self.base_path.iterdir()
                      if p.is_dir() and p.name.isdigit() and (p / "saved_model.pb").exists())

    def refresh(self, force: bool = False) -> None:
        """Load the newest version if it is not the one being served (rate-limited)."""
        now = time.monotonic()
        if not force and now - self._last_scan < self.poll_seconds:
            return
        with self._lock:
            self._last_scan = now
            versions = self.versions_on_disk()
            if not versions or (self._current and self._current.version == versions[-1]):
                return
            new = load_version(self.base_path / str(versions[-1]), versions[-1])
            old, self._current = self._current, new
        if old is not None:
            old.session.close()

    def get(self, version: Optional[int] = None) -> LoadedModel:
        self.refresh()
        current = self._current
        if current is None:
            raise NotFound(f"Servable not found for request: Latest({self.name})")
        if version is not None and version != current.version:
            raise NotFound(f"Servable not found for request: Specific({self.name}, {version})")
        return current
