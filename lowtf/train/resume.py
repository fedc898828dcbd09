"""Resuming from whatever a checkpoint folder holds: the newest checkpoint that restores, older ones
when the newest is damaged, and plain words when none can be used.

A run killed while its Saver wrote, a disk that filled up, a file copied in part: a checkpoint's
data file can be truncated (``DataLossError``), its ``.index`` missing (``NotFoundError``), the
``checkpoint`` list itself unreadable. Each of these used to end ``--resume`` in a traceback.
``restore_newest_good`` tries the checkpoints newest first, says which one it skipped and why, and
restores the first good one; a checkpoint written by another model is a different problem (the
fix is another logdir) and is raised as ``CheckpointMismatch`` at once.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import tensorflow.compat.v1 as tf

from lowtf.errors import CourseError
from lowtf.train.config import CheckpointMismatch


class CheckpointDamaged(CourseError, RuntimeError):
    """No checkpoint in the folder can be restored; the message names each one's problem and the fix."""


def candidates(ckpt_dir: Path) -> list[str]:
    """Checkpoint prefixes in ``ckpt_dir``, newest first: from its ``checkpoint`` list, else from the
    ``.index`` and ``.data`` files present (a damaged list must not hide good checkpoints)."""
    listed: list[str] = []
    try:
        state = tf.train.get_checkpoint_state(str(ckpt_dir))
    except Exception:        # a truncated or garbled `checkpoint` file: read the folder instead
        state = None
    if state is not None:
        listed = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
        if state.model_checkpoint_path and state.model_checkpoint_path not in listed:
            listed.append(state.model_checkpoint_path)
    on_disk = {str(p).split(".data-")[0] if ".data-" in p.name else str(p.with_suffix(""))
               for p in Path(ckpt_dir).glob("*") if p.suffix == ".index" or ".data-" in p.name}
    prefixes = {str(Path(ckpt_dir) / Path(p).name) for p in listed} | on_disk
    return sorted(prefixes, key=_step_of, reverse=True)


def _step_of(prefix: str) -> int:
    tail = prefix.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def _missing(prefix: str) -> str:
    """What is missing from a checkpoint's files, or ""."""
    if not Path(prefix + ".index").is_file():
        return f"its index file {Path(prefix).name}.index is missing"
    if not list(Path(prefix).parent.glob(Path(prefix).name + ".data-*")):
        return f"its data file {Path(prefix).name}.data-* is missing"
    return ""


MISMATCH_WORDS = ("not found in checkpoint", "shape", "Assign requires shapes", "dtype")


def restore_newest_good(sess: tf.Session, saver: tf.train.Saver, ckpt_dir: Path,
                        say: Callable[[str], None] = print) -> Optional[str]:
    """Restore the newest checkpoint of ``ckpt_dir`` that can be read; return its prefix (None: the
    folder holds no checkpoint). Damaged ones are skipped with a line each through ``say``."""
    found = candidates(ckpt_dir)
    problems = []
    for prefix in found:
        why = _missing(prefix)
        if not why:
            try:
                saver.restore(sess, prefix)
            except (tf.errors.DataLossError, tf.errors.OutOfRangeError) as e:
                why = f"its data is damaged ({_first_line(e)})"
            except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError) as e:
                if any(w in str(e) for w in MISMATCH_WORDS):
                    raise CheckpointMismatch(
                        f"cannot resume from {prefix}: it was written by a different model ({_first_line(e)}). "
                        "Train into a new logdir, or leave out --resume to start afresh.") from None
                why = f"it cannot be read ({_first_line(e)})"
            else:
                good = [p for p in found if _step_of(p) <= _step_of(prefix) and not _missing(p)]
                saver.recover_last_checkpoints(sorted(good, key=_step_of))   # max_to_keep holds across restarts
                return prefix
        problems.append(f"{Path(prefix).name}: {why}")
        say(f"   skipping checkpoint {Path(prefix).name}: {why}")
    if problems:
        raise CheckpointDamaged(
            f"cannot resume from {ckpt_dir}: no checkpoint there can be restored ({'; '.join(problems)}). "
            f"Leave out --resume to train afresh, or move {ckpt_dir} aside.")
    return None


def _first_line(error: Exception) -> str:
    text = getattr(error, "message", None) or str(error)
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.strip().startswith("Graph execution error")]
    return (lines or [type(error).__name__])[0][:200]
