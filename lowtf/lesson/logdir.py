"""Where a lesson run writes: a new or reused logdir, an earlier run moved aside, a killed save cleaned up."""
from __future__ import annotations

import shutil
from pathlib import Path

from lowtf.folders import FolderError, make_folder


class LogdirError(FolderError):
    """The logdir cannot be used: it names a file, or it cannot be created or written."""


def make_logdir(logdir: Path) -> None:
    make_folder(logdir, "--logdir", LogdirError)


def _written_by_a_run(entry: Path) -> bool:
    """Whether ``entry`` (in a logdir) is what a lesson run writes: summary.json, TensorBoard events (here or
    in a run folder such as train/), or a Saver's checkpoint index. A user's own train/ folder is not."""
    if entry.name == "summary.json" or entry.name.startswith("events.out.tfevents"):
        return True
    if entry.is_dir():
        return (entry / "checkpoint").is_file() or any(entry.glob("events.out.tfevents*"))
    return False


def remove_abandoned_checkpoint_writes(logdir: Path) -> list[Path]:
    """Delete what a Saver leaves when killed mid-save in ``logdir/checkpoints`` (``*.tempstate*`` files,
    ``*_temp`` folders; tens of MB for LeNet-5); return what was removed."""
    leftovers = [p for p in (logdir / "checkpoints").glob("*") if "tempstate" in p.name or p.name.endswith("_temp")]
    for leftover in leftovers:
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    return leftovers


def move_previous_run(logdir: Path) -> Path | None:
    """Move an earlier lesson run out of ``logdir`` (to ``logdir.1``, ``.2``, ...); return where, or None.

    A folder holding anything else is refused: the runner never moves or deletes what it did not write."""
    entries = [p for p in logdir.iterdir()]
    if not entries:
        return None
    ours = any(_written_by_a_run(p) for p in entries)
    if not ours:
        raise LogdirError(f"--logdir {logdir} is not empty and holds no earlier lesson run; "
                          "give an empty or new folder")
    n = 1
    while logdir.with_name(f"{logdir.name}.{n}").exists():
        n += 1
    target = logdir.with_name(f"{logdir.name}.{n}")
    logdir.rename(target)
    logdir.mkdir()
    return target

