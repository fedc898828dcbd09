"""Load a pickle that may reference only an allow-list of globals.

``pickle.load`` on downloaded bytes can run arbitrary code; a pickle of numpy arrays
needs only three globals, so everything else is refused.
"""
from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np

try:  # numpy >= 2 moved the implementation to numpy._core
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "dtype"): np.dtype,
    ("numpy", "ndarray"): np.ndarray,
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}: not a numpy array part") from None


def loads_numpy(data: bytes, encoding: str = "latin1") -> Any:
    """Unpickle bytes that contain only numpy arrays, tuples, lists and plain values."""
    return _NumpyOnlyUnpickler(io.BytesIO(data), encoding=encoding).load()
