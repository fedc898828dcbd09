"""Fashion-MNIST from Debian's ``dataset-fashion-mnist`` package, read with the same IDX reader.

Zalando's 28x28 clothing images, 60,000 train + 10,000 test, ten classes. Debian ships
the four IDX files gzip-compressed (recompressed, so the .gz bytes differ from the
upstream ones); the MD5s below are of the uncompressed files, which are the same.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from lowtf.data.gunzip import gunzip
from lowtf.data.idx import read_idx
from lowtf.data.store import DataFile, SourceUnavailable, data_dir, ensure

TRAIN_IMAGES = DataFile("train-images-idx3-ubyte", 0x803, 47_040_016, "f4a8712d7a061bf5bd6d2ca38dc4d50a")
TRAIN_LABELS = DataFile("train-labels-idx1-ubyte", 0x801, 60_008, "9018921c3c673c538a1fc5bad174d6f9")
TEST_IMAGES = DataFile("t10k-images-idx3-ubyte", 0x803, 7_840_016, "8181f5470baa50b63fa0f6fddb340f0a")
TEST_LABELS = DataFile("t10k-labels-idx1-ubyte", 0x801, 10_008, "15d484375f8d13e6eb1aabb0c3f46965")
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
PACKAGE = "dataset-fashion-mnist"
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


def folder() -> Path:
    return data_dir() / "fashion-mnist"


def _read_gz_dir(d: Path, missing: Sequence[DataFile]) -> dict[str, bytes]:
    """Each ``NAME.gz`` there, inflated to at most the file's size (a bigger one is refused early)."""
    try:
        return {s.name: gunzip((d / f"{s.name}.gz").read_bytes(), s.size, str(d / f"{s.name}.gz"))
                for s in missing if (d / f"{s.name}.gz").exists()}
    except ValueError as e:
        raise SourceUnavailable(str(e)) from None


def from_system(missing: Sequence[DataFile]) -> dict[str, bytes]:
    """Use the package's files if it is installed (``apt-get install dataset-fashion-mnist``)."""
    if not SYSTEM_DIR.is_dir():
        raise SourceUnavailable(f"{SYSTEM_DIR} does not exist ({PACKAGE} not installed)")
    return _read_gz_dir(SYSTEM_DIR, missing)


def from_debian_download(missing: Sequence[DataFile]) -> dict[str, bytes]:
    """``apt-get download`` the .deb and unpack it with ``dpkg -x``; nothing is installed."""
    if not shutil.which("apt-get") or not shutil.which("dpkg"):
        raise SourceUnavailable("apt-get/dpkg not found (not a Debian-based system)")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(["apt-get", "download", PACKAGE], cwd=tmp, capture_output=True, text=True, timeout=600)
        debs = list(Path(tmp).glob("*.deb"))
        if proc.returncode != 0 or not debs:
            raise SourceUnavailable(f"`apt-get download {PACKAGE}` failed: {proc.stderr.strip()[-300:]}")
        subprocess.run(["dpkg", "-x", str(debs[0]), str(Path(tmp) / "x")], check=True, timeout=300)
        return _read_gz_dir(Path(tmp) / "x" / SYSTEM_DIR.relative_to("/"), missing)


SOURCES = (("installed Debian package", from_system), (f"`apt-get download {PACKAGE}`", from_debian_download))


def fetch(dest: Path | None = None, log: Callable[[str], None] = print) -> dict[str, Path]:
    """Make the four Fashion-MNIST files present and verified in ``dest``.

    Raises ``DataError`` telling how to get the package when no source works.
    """
    return ensure(FILES, dest or folder(), SOURCES, log)


def load(split: str = "train", dest: Path | None = None, log: Callable[[str], None] = print
         ) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(images uint8 [N, 28, 28], labels uint8 [N])`` for 'train' (60,000) or 'test' (10,000)."""
    specs = {"train": (TRAIN_IMAGES, TRAIN_LABELS), "test": (TEST_IMAGES, TEST_LABELS)}
    if split not in specs:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    paths = fetch(dest, log)
    img, lab = specs[split]
    return read_idx(paths[img.name], img.magic), read_idx(paths[lab.name], lab.magic)
