"""A request's value for one input, checked and converted to the input's dtype and shape.

Both front ends hand ``to_array`` what their wire carried (REST: a JSON value or the array its
fast path read; gRPC: the TensorProto's array), so a value is accepted or refused the same way
over either.
"""
from __future__ import annotations

import base64

import numpy as np

from lowtf.serve.core.servable import TensorSpec
from lowtf.serve.errors import InvalidArgument
from lowtf.serve.json_numbers import MAX_DIMS, too_deep


def _decode_b64(value):
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return [_decode_b64(v) for v in value]
    return value


def check_range(values: np.ndarray, dtype, name: str) -> None:
    """InvalidArgument if ``values`` do not fit ``dtype`` (3000000000 in an int32 would wrap to
    -1294967296; 1e300 in a float32 would become inf). Infinities and NaN pass: they are values."""
    dtype = np.dtype(dtype)
    if values.size == 0 or values.dtype.kind == "b" or dtype.kind not in "iuf":
        return
    info = np.iinfo(dtype) if dtype.kind in "iu" else np.finfo(dtype)
    if values.dtype.kind == "f":
        finite = np.isfinite(values)                 # a mask, not a copy of the values
        if not finite.any():
            return
        low, high = np.min(values, where=finite, initial=np.inf), np.max(values, where=finite, initial=-np.inf)
    else:
        low, high = values.min(), values.max()
    if low < info.min or high > info.max:
        raise InvalidArgument(f"input '{name}': values from {low} to {high} do not fit "
                              f"{dtype.name} ({info.min} to {info.max})")


def nesting(value) -> int:
    """How many lists deep ``value`` starts (its rank, if it is regular); stops past MAX_DIMS + 1."""
    depth = 0
    while isinstance(value, list) and depth <= MAX_DIMS:
        depth += 1
        value = value[0] if value else None
    return depth


def to_array(value, spec: TensorSpec, name: str) -> np.ndarray:
    """Convert a JSON value or an array to an array of the input's dtype and check it against the
    input's shape."""
    if nesting(value) > MAX_DIMS:
        raise too_deep()
    if spec.dtype.is_floating or spec.dtype.is_integer or spec.dtype.is_bool:
        try:
            inferred = np.asarray(value)
        except ValueError as e:
            raise InvalidArgument(f"input '{name}': {e}") from None
        if inferred.dtype.kind == "c":
            raise InvalidArgument(f"input '{name}': complex values for a real input ({spec.dtype.name})")
        if inferred.dtype.kind not in "biuf":
            raise InvalidArgument(f"input '{name}': expected numbers of type {spec.dtype.name}, "
                                  f"got {inferred.dtype.kind == 'U' and 'strings' or inferred.dtype}")
        if spec.dtype.is_integer and inferred.dtype.kind == "f" and not np.all(np.mod(inferred, 1) == 0):
            raise InvalidArgument(f"input '{name}': expected integers ({spec.dtype.name}), got fractional numbers")
        check_range(inferred, spec.dtype.as_numpy_dtype, name)
        array = inferred.astype(spec.dtype.as_numpy_dtype, copy=False)
    else:
        array = np.asarray(_decode_b64(value), dtype=object)
    if spec.shape is not None:
        expected = spec.shape
        fits = array.ndim == len(expected) and all(e == -1 or e == a for e, a in zip(expected, array.shape))
        if not fits:
            shown = "[" + ", ".join("?" if d == -1 else str(d) for d in expected) + "]"
            raise InvalidArgument(f"input '{name}' has shape {list(array.shape)} but the signature expects {shown}")
    return array
