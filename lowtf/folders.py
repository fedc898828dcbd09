"""Folders named on the command line (--logdir, --workspace, --out): made if missing, checked writable,
or refused with one line that names the flag, the problem and the fix."""
from __future__ import annotations

import tempfile
from pathlib import Path

from lowtf.errors import CourseError


class FolderError(CourseError, ValueError):
    """A folder given on the command line cannot be used; the message says why and what to give instead."""


def make_folder(path: str | Path, flag: str, error: type[FolderError] = FolderError) -> Path:
    """Create ``path`` (and its parents) if needed and check it can be written; raise ``error`` if not."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):   # a probe of its own: several processes may check at once
            pass
    except FileExistsError:
        raise error(f"{flag} {path} is a file (or lies under one); give a folder path") from None
    except NotADirectoryError:
        raise error(f"{flag} {path} lies under a file, not a folder; give a folder path") from None
    except OSError as e:
        raise error(f"cannot write to {flag} {path} ({e.strerror}); give a folder you can write to") from None
    return path
