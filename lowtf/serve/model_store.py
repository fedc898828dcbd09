"""Versioned SavedModels on disk, loaded into Sessions; the newest version is served.

``ModelStore(base_path, name)`` scans ``base_path`` for integer-named folders holding a
``saved_model.pb``. ``refresh()`` (the server's poller thread calls it once a second) loads
a version that appeared since, so a new export is picked up without a restart and without
failing a request: the version it replaces is closed only after its last request.
"""
from __future__ import annotations

import contextlib
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

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
    signature_defs: dict = None   # {name: SignatureDef proto}, for gRPC metadata
    in_flight: int = 0     # requests running on this version now
    retired: bool = False  # a newer version took over: close the Session when the last request ends

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
    return LoadedModel(version, session, signatures,
                       {name: meta.signature_def[name] for name in signatures})


class ModelStore:
    """The versions of one model: the newest loaded one is served; a new version is loaded off the
    request path by ``refresh`` (a poller thread calls it), and the one it replaces stays open
    until its last in-flight request has finished. A version that fails to load is reported once
    (``log``) and the last good one keeps serving, as TF Serving does."""

    def __init__(self, base_path: str | Path, name: str, poll_seconds: float = 1.0,
                 log: Callable[[str], None] = lambda message: print(message, file=sys.stderr, flush=True)):
        self.base_path = Path(base_path)
        self.name = name
        self.poll_seconds = poll_seconds
        self.log = log
        self._lock = threading.Lock()
        self._current: Optional[LoadedModel] = None
        self._failed: dict[int, float] = {}    # version -> mtime of the saved_model.pb that failed
        if not self.base_path.is_dir():
            raise FileNotFoundError(f"model base path {self.base_path} does not exist; export a model there first")
        self.refresh()

    @property
    def current_version(self) -> Optional[int]:
        return self._current.version if self._current is not None else None

    def versions_on_disk(self) -> list[int]:
        return sorted(int(p.name) for p in self.base_path.iterdir()
                      if p.is_dir() and p.name.isdigit() and (p / "saved_model.pb").exists())

    def refresh(self) -> None:
        """Load the newest version on disk if it is newer than the one served (and did not fail as it is)."""
        for version in reversed(self.versions_on_disk()):
            if self._current is not None and version <= self._current.version:
                return
            pb = self.base_path / str(version) / "saved_model.pb"
            try:
                mtime = pb.stat().st_mtime
            except OSError:
                continue   # removed while we looked
            if self._failed.get(version) == mtime:
                continue   # failed before and unchanged since: try an older one
            try:
                new = load_version(self.base_path / str(version), version)
            except Exception as e:  # a half-copied or broken export: say why, once, and keep serving
                self._failed[version] = mtime
                reason = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
                self.log(f"lowtf serve: version {version} of {self.name} did not load ({type(e).__name__}: "
                         f"{reason}); still serving version {self._current.version if self._current else 'none'}")
                continue
            with self._lock:
                old, self._current = self._current, new
                if old is not None:
                    old.retired = True
                    close_now = old.in_flight == 0
            if old is not None and close_now:
                old.session.close()
            self.log(f"lowtf serve: serving version {version} of {self.name}")
            return

    def poll_forever(self, stop: threading.Event) -> None:
        """Call ``refresh`` every ``poll_seconds`` until ``stop`` is set (run it on a thread)."""
        while not stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except OSError as e:   # the base folder itself vanished: keep serving what is loaded
                self.log(f"lowtf serve: cannot read {self.base_path} ({e.strerror}); still serving")

    @contextlib.contextmanager
    def use(self, version: Optional[int] = None) -> Iterator[LoadedModel]:
        """The model to run one request on, kept open until the request is done."""
        with self._lock:
            current = self._current
            if current is None:
                raise NotFound(f"Servable not found for request: Latest({self.name})")
            if version is not None and version != current.version:
                raise NotFound(f"Servable not found for request: Specific({self.name}, {version})")
            current.in_flight += 1
        try:
            yield current
        finally:
            with self._lock:
                current.in_flight -= 1
                close_now = current.retired and current.in_flight == 0
            if close_now:
                current.session.close()

    def get(self, version: Optional[int] = None) -> LoadedModel:
        """The model being served (for status and metadata, which do not run it)."""
        with self.use(version) as model:
            return model
