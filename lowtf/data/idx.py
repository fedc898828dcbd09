"""The IDX file format used by MNIST, read and written with numpy.

An IDX file is: two zero bytes, a type code, the number of dimensions ``n``,
then ``n`` big-endian int32 sizes, then the raw values in C order. MNIST's
image files are ``0x00000803`` (uint8, 3 dims: N x 28 x 28) and its label
files ``0x00000801`` (uint8, 1 dim: N). Files may be gzip-compressed; that is
detected from the content, not the name.
"""
from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

from lowtf.errors import CourseError
from lowtf.data.store import atomic_write

# Type code -> numpy dtype (multi-byte types are big-endian in IDX).
_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("=").str if dt.itemsize > 1 else dt.str: code for code, dt in _DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


class IdxError(CourseError, ValueError):
    """A file that is not a valid IDX file; the message names the file and the problem."""


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise IdxError(f"{path}: corrupt gzip stream ({e}); delete it and fetch it again") from e
    return raw


def parse_idx(raw: bytes, name: str = "<bytes>", expect_magic: int | None = None) -> np.ndarray:
    """Parse uncompressed IDX bytes into an array of the file's dtype and shape."""
    if len(raw) < 4:
        raise IdxError(f"{name}: only {len(raw)} bytes, too short for an IDX header")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    magic = struct.unpack(">I", raw[:4])[0]
    if zero != 0 or code not in _DTYPES or ndim == 0:
        raise IdxError(f"{name}: bad magic number 0x{magic:08x}; not an IDX file")
    if expect_magic is not None and magic != expect_magic:
        raise IdxError(f"{name}: magic number 0x{magic:08x}, expected 0x{expect_magic:08x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IdxError(f"{name}: header says {ndim} dims but the file ends after {len(raw)} bytes")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _DTYPES[code]
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise IdxError(
            f"{name}: dims {list(dims)} need {expected} bytes but the file has {len(raw)} "
            f"({'truncated' if len(raw) < expected else 'trailing data'}); fetch it again"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return data.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike, expect_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzip) into a numpy array.

    Raises ``IdxError`` naming the file if the magic number, dims or length are wrong,
    and ``FileNotFoundError`` if it does not exist.
    """
    path = Path(path)
    return parse_idx(_read_bytes(path), str(path), expect_magic)


def idx_bytes(array: np.ndarray) -> bytes:
    """Serialise an array as uncompressed IDX bytes."""
    array = np.asarray(array)
    key = array.dtype.newbyteorder("=").str if array.dtype.itemsize > 1 else array.dtype.str
    if key not in _CODES:
        raise IdxError(f"dtype {array.dtype} cannot be stored in IDX (use uint8, int8, int16, int32, float32, float64)")
    code = _CODES[key]
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=_DTYPES[code]).tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file; gzip it if ``compress`` (default: name ends in .gz).

    The write goes to a temporary name that is renamed into place, so a reader never
    sees half a file.
    """
    path = Path(path)
    if compress is None:
        compress = path.suffix == ".gz"
    raw = idx_bytes(array)
    if compress:
        raw = gzip.compress(raw, mtime=0)
    atomic_write(path, raw)
    return path
