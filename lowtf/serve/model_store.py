"""Versioned SavedModels on disk, loaded into Sessions and served by version policy.

``ModelStore(base_path, name, policy)`` scans ``base_path`` for integer-named folders holding a
``saved_model.pb`` and serves the versions its ``VersionPolicy`` picks (TF Serving's: the
latest N, all, or specific ones). ``refresh()`` (the server's poller thread calls it every
``--file_system_poll_wait_seconds``) loads what appeared since, so a new export is picked up
without a restart and without failing a request: a version leaving service is closed only
after its last request. ``Models`` holds the stores of every model a server serves.
"""
from __future__ import annotations

import contextlib
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

import numpy as np
import tensorflow.compat.v1 as tf
from tensorflow.core.framework import types_pb2

from lowtf.serve.batching import Batcher
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
    batcher: Optional[Batcher] = None   # --enable_batching: concurrent requests share Session runs

    def run(self, signature: str, feeds: dict[str, np.ndarray], timeout_ms: Optional[int] = None
            ) -> dict[str, np.ndarray]:
        """Run ``signature`` on ``feeds``; past ``timeout_ms`` it raises ``tf.errors.DeadlineExceededError``."""
        if self.batcher is not None:
            return self.batcher.run(signature, feeds, timeout_ms)
        return self.run_now(signature, feeds, timeout_ms)

    def run_now(self, signature: str, feeds: dict[str, np.ndarray], timeout_ms: Optional[int] = None
                ) -> dict[str, np.ndarray]:
        """One Session.run for these feeds, never merged with other requests."""
        sig = self.signatures[signature]
        fetch = {k: spec.name for k, spec in sig.outputs.items()}
        options = tf.RunOptions(timeout_in_ms=max(1, timeout_ms)) if timeout_ms is not None else None
        return self.session.run(fetch, {sig.inputs[k].name: v for k, v in feeds.items()}, options=options)

    def close(self) -> None:
        if self.batcher is not None:
            self.batcher.close()
        self.session.close()


def _spec(info) -> TensorSpec:
    shape = None if info.tensor_shape.unknown_rank else [int(d.size) for d in info.tensor_shape.dim]
    return TensorSpec(info.name, tf.dtypes.as_dtype(info.dtype), shape)


@dataclass(frozen=True)
class Batching:
    """``--enable_batching``: up to ``max_batch_size`` examples per run, waiting ``timeout_s`` for more."""

    max_batch_size: int = 32
    timeout_s: float = 0.0
    threads: int = 2                # batches run at once (TF Serving's num_batch_threads)


def _fingerprint(folder: Path) -> tuple:
    """Every file under a version folder with its size and modification time: a version copied in
    two steps (saved_model.pb, then variables/) changes it, so a failed load is tried again."""
    return tuple(sorted((str(f.relative_to(folder)), st.st_size, st.st_mtime_ns)
                        for f in folder.rglob("*") if f.is_file() for st in [f.stat()]))


def load_version(path: Path, version: int, batching: Optional[Batching] = None) -> LoadedModel:
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
    model = LoadedModel(version, session, signatures, {name: meta.signature_def[name] for name in signatures})
    if batching is not None:
        model.batcher = Batcher(model.run_now, batching.max_batch_size, batching.timeout_s, batching.threads)
    return model


@dataclass(frozen=True)
class VersionPolicy:
    """Which versions on disk to serve: ``latest`` (the newest ``num_versions``), ``all``, or ``specific``."""

    kind: str = "latest"
    num_versions: int = 1
    versions: tuple = ()

    def __post_init__(self):
        if self.kind not in ("latest", "all", "specific"):
            raise ValueError(f"version policy must be latest, all or specific, got {self.kind!r}")
        if self.kind == "latest" and self.num_versions < 1:
            raise ValueError(f"latest {{ num_versions }} must be at least 1, got {self.num_versions}")
        if self.kind == "specific" and not self.versions:
            raise ValueError("a specific version policy needs at least one version")

    def candidates(self, on_disk: list[int]) -> list[int]:
        """The versions worth trying, newest first (``latest`` takes the newest that load)."""
        newest_first = sorted(on_disk, reverse=True)
        if self.kind == "specific":
            return [v for v in newest_first if v in self.versions]
        return newest_first


class ModelStore:
    """The versions of one model: those the policy picks are loaded off the request path by
    ``refresh`` (a poller thread calls it), and a version leaving service stays open until its
    last in-flight request has finished. A version that fails to load is reported once
    (``log``) and the versions already loaded keep serving, as TF Serving does."""

    def __init__(self, base_path: str | Path, name: str, policy: VersionPolicy = VersionPolicy(),
                 log: Callable[[str], None] = lambda message: print(message, file=sys.stderr, flush=True),
                 batching: Optional[Batching] = None):
        self.base_path = Path(base_path)
        self.name = name
        self.policy = policy
        self.batching = batching
        self.log = log
        self._lock = threading.Lock()
        self._serving: dict[int, LoadedModel] = {}
        self._failed: dict[int, tuple] = {}    # version -> fingerprint of its folder when it failed to load
        if not self.base_path.is_dir():
            raise FileNotFoundError(f"model base path {self.base_path} of model {name} does not exist; "
                                    "export a model there first")
        self.refresh()

    @property
    def current_version(self) -> Optional[int]:
        """The newest version being served (what a request without a version gets), or None."""
        return max(self._serving) if self._serving else None

    @property
    def serving_versions(self) -> list[int]:
        return sorted(self._serving)

    def versions_on_disk(self) -> list[int]:
        return sorted(int(p.name) for p in self.base_path.iterdir()
                      if p.is_dir() and p.name.isdigit() and (p / "saved_model.pb").exists())

    def _load(self, version: int) -> Optional[LoadedModel]:
        """The loaded version, or None when it failed (now, or before and unchanged since)."""
        if version in self._serving:
            return self._serving[version]
        try:
            fingerprint = _fingerprint(self.base_path / str(version))
        except OSError:
            return None   # removed while we looked
        if self._failed.get(version) == fingerprint:
            return None   # failed before, and no file of it has changed since
        try:
            return load_version(self.base_path / str(version), version, self.batching)
        except Exception as e:  # a half-copied or broken export: say why, once, and keep serving
            self._failed[version] = fingerprint
            reason = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
            self.log(f"lowtf serve: version {version} of {self.name} did not load ({type(e).__name__}: "
                     f"{reason}); still serving {self._describe(self.serving_versions)}")
            return None

    @staticmethod
    def _describe(versions: list[int]) -> str:
        return ("version " + ", ".join(map(str, versions))) if versions else "no version"

    def refresh(self) -> None:
        """Serve what the policy picks from the versions on disk now; retire the rest."""
        wanted: dict[int, LoadedModel] = {}
        for version in self.policy.candidates(self.versions_on_disk()):
            if self.policy.kind == "latest" and len(wanted) == self.policy.num_versions:
                break
            loaded = self._load(version)
            if loaded is not None:
                wanted[version] = loaded
        if not wanted and self._serving:
            return   # nothing on disk loads any more (removed or broken): keep serving what is loaded
        with self._lock:
            leaving = [m for v, m in self._serving.items() if v not in wanted]
            added = sorted(set(wanted) - set(self._serving))
            self._serving = wanted
            close_now = []
            for model in leaving:
                model.retired = True
                if model.in_flight == 0:
                    close_now.append(model)
        for model in close_now:
            model.close()
        if added or leaving:
            self.log(f"lowtf serve: serving {self._describe(self.serving_versions)} of {self.name}")

    @contextlib.contextmanager
    def use(self, version: Optional[int] = None) -> Iterator[LoadedModel]:
        """The model to run one request on (the newest served when ``version`` is None), kept open until
        the request is done."""
        with self._lock:
            if version is None:
                if not self._serving:
                    raise NotFound(f"Servable not found for request: Latest({self.name})")
                model = self._serving[max(self._serving)]
            else:
                model = self._serving.get(version)
                if model is None:
                    raise NotFound(f"Servable not found for request: Specific({self.name}, {version})")
            model.in_flight += 1
        try:
            yield model
        finally:
            with self._lock:
                model.in_flight -= 1
                close_now = model.retired and model.in_flight == 0
            if close_now:
                model.close()

    def get(self, version: Optional[int] = None) -> LoadedModel:
        """The model being served (for status and metadata, which do not run it)."""
        with self.use(version) as model:
            return model


class Models:
    """Every model one server serves, by name, and the poller that keeps them current."""

    def __init__(self, stores: Iterable[ModelStore], poll_seconds: float = 1.0):
        self.stores = {store.name: store for store in stores}
        self.poll_seconds = poll_seconds

    def __getitem__(self, name: str) -> ModelStore:
        store = self.stores.get(name)
        if store is None:
            raise NotFound(f"Servable not found for request: Latest({name})")
        return store

    def poll_forever(self, stop: threading.Event) -> None:
        """Refresh every store every ``poll_seconds`` until ``stop`` is set (run it on a thread);
        with ``poll_seconds`` 0 the disk was read once, at start, as in TF Serving."""
        if self.poll_seconds <= 0:
            return
        while not stop.wait(self.poll_seconds):
            for store in self.stores.values():
                try:
                    store.refresh()
                except OSError as e:   # the base folder itself vanished: keep serving what is loaded
                    store.log(f"lowtf serve: cannot read {store.base_path} ({e.strerror}); still serving")
