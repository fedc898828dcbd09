"""The manager of each model's versions: which are on disk, which the policy serves, and a handle
that keeps a version alive while a request uses it.

``ModelStore(base_path, name, policy)`` scans ``base_path`` for integer-named folders holding a
``saved_model.pb`` (TF Serving's file-system source) and serves the versions its ``VersionPolicy``
picks. ``refresh()`` (the server's poller thread calls it every ``--file_system_poll_wait_seconds``)
loads what appeared since, so a new export is picked up without a restart and without failing a
request: a version leaving service is closed only after its last request. ``Models`` holds the
stores of every model a server serves.
"""
from __future__ import annotations

import contextlib
import gc
import sys
import threading
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

from lowtf.serve.core.admission import Admission, Limits
from lowtf.serve.core.servable import LoadedModel, ServingOptions
from lowtf.serve.core.version_policy import VersionPolicy
from lowtf.serve.errors import NotFound
from lowtf.serve.warmup import load_warmed


MAX_VERSION = 2 ** 63 - 1      # versions are int64 on the wire (gRPC's model_spec.version)


def is_version_name(name: str) -> bool:
    """True for a folder name TF Serving reads as a version: ASCII decimal digits, within int64."""
    return name.isascii() and name.isdigit() and len(name) <= 19 and int(name) <= MAX_VERSION


def _fingerprint(folder: Path) -> tuple:
    """Every file under a version folder with its size and modification time: a version copied in
    two steps (saved_model.pb, then variables/) changes it, so a failed load is tried again."""
    return tuple(sorted((str(f.relative_to(folder)), st.st_size, st.st_mtime_ns)
                        for f in folder.rglob("*") if f.is_file() for st in [f.stat()]))


def freeze_what_is_loaded() -> None:
    """Move every object alive now (TensorFlow's modules, the graphs just loaded) out of reach of
    Python's cyclic garbage collector. A request that builds many lists (a JSON body decoded into
    Python objects) sets off full collections, and each walked TensorFlow's millions of objects:
    measured here, a 100-image REST request took 170-180 ms to decode, 16 ms after freezing."""
    gc.collect()
    gc.freeze()


class ModelStore:
    """The versions of one model: those the policy picks are loaded off the request path by
    ``refresh`` (a poller thread calls it), and a version leaving service stays open until its
    last in-flight request has finished. A version that fails to load is reported once
    (``log``) and the versions already loaded keep serving, as TF Serving does."""

    def __init__(self, base_path: str | Path, name: str, policy: VersionPolicy = VersionPolicy(),
                 log: Callable[[str], None] = lambda message: print(message, file=sys.stderr, flush=True),
                 options: ServingOptions = ServingOptions()):
        self.base_path = Path(base_path)
        self.name = name
        self.policy = policy
        self.options = options
        self.log = log
        self._lock = threading.Lock()
        self._serving: dict[int, LoadedModel] = {}
        self._failed: dict[int, tuple] = {}    # version -> fingerprint of its folder when it failed to load
        self.load_errors: dict[int, str] = {}  # version -> why it did not load, in words
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
        """The version folders under the base path: names of ASCII digits only (``isdigit`` alone
        takes '²' and '٣', which ``int`` then refuses or reads) within int64, as TF Serving's
        versions are; any other folder is ignored."""
        return sorted(int(p.name) for p in self.base_path.iterdir()
                      if is_version_name(p.name) and p.is_dir() and (p / "saved_model.pb").exists())

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
            return load_warmed(self.base_path / str(version), version, self.options, self.log)
        except Exception as e:  # a half-copied or broken export: say why, once, and keep serving
            self._failed[version] = fingerprint
            reason = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
            self.load_errors[version] = f"{type(e).__name__}: {reason}"
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
        if added:
            freeze_what_is_loaded()
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

    def __init__(self, stores: Iterable[ModelStore], poll_seconds: float = 1.0, limits: Limits = Limits()):
        self.stores = {store.name: store for store in stores}
        self.poll_seconds = poll_seconds
        self.admission = Admission(limits)    # memory and run slots, shared by both front ends

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
                except Exception as e:  # never let one bad poll end the polling for good
                    store.log(f"lowtf serve: reading {store.base_path} failed ({type(e).__name__}: {e}); "
                              "still serving, trying again")
