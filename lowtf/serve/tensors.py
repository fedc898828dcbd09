"""A request's value for one input, checked and converted to the input's dtype and shape.

Both front ends hand ``to_array`` what their wire carried (REST: a JSON value or the array its
fast path read; gRPC: the TensorProto's array), so a value is accepted or refused the same way
over either.
"""
from __future__ import annotations

import base64

import numpy as np
from tensorflow.python.framework.dtypes import string as tf_string

from lowtf.serve.core.servable import TensorSpec
from lowtf.serve.errors import InvalidArgument
from lowtf.serve.json_numbers import MAX_DIMS, too_deep


def b64(text, name: str) -> bytes:
    """``{"b64": text}``'s bytes; InvalidArgument when the text is not base64."""
    try:
        return base64.b64decode(text)
    except (TypeError, ValueError):       # binascii.Error is a ValueError
        raise InvalidArgument(f"input '{name}': {{\"b64\": ...}} holds no valid base64 "
                              "(A-Z, a-z, 0-9, + and /, padded with =)") from None


def _strings(value, name: str):
    """A JSON value for a string input, with each leaf as bytes: text as UTF-8, {"b64": ...} decoded;
    InvalidArgument for a number, null, true or an object."""
    if isinstance(value, list):
        return [_strings(v, name) for v in value]
    if isinstance(value, dict) and set(value) == {"b64"}:
        return b64(value["b64"], name)
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    shown = "null" if value is None else type(value).__name__
    raise InvalidArgument(f"input '{name}' takes strings (or {{\"b64\": ...}} for bytes), got {shown}")


def _limits(dtype: np.dtype):
    """iinfo or finfo of a numeric dtype, bfloat16 and the other ml_dtypes included; None otherwise."""
    if dtype.kind in "iu":
        return np.iinfo(dtype)
    if dtype.kind == "f":
        return np.finfo(dtype)
    try:
        import ml_dtypes

        return ml_dtypes.finfo(dtype)
    except (ImportError, TypeError, ValueError):
        return None


def check_range(values: np.ndarray, dtype, name: str) -> None:
    """InvalidArgument if ``values`` do not fit ``dtype`` (3000000000 in an int32 would wrap to
    -1294967296; 1e300 in a float32 would become inf). Infinities and NaN pass: they are values."""
    dtype = np.dtype(dtype)
    info = _limits(dtype)
    if values.size == 0 or values.dtype.kind == "b" or info is None:
        return
    if values.dtype.kind == "f":
        finite = np.isfinite(values)                 # a mask, not a copy of the values
        if not finite.any():
            return
        low, high = np.min(values, where=finite, initial=np.inf), np.max(values, where=finite, initial=-np.inf)
    else:
        low, high = values.min(), values.max()
    if dtype.kind in "iu" and values.dtype.kind == "f":
        # compared in float64, int64's max (2^63 - 1) rounds to 2^63 and 2^63 would pass, then wrap
        # to -2^63: compare against the exact powers of two around the range instead
        too_large = high >= float(int(info.max) + 1)
    else:
        too_large = high > info.max
    if low < info.min or too_large:
        raise InvalidArgument(f"input '{name}': values from {low} to {high} do not fit "
                              f"{dtype.name} ({info.min} to {info.max})")


def _floats_within_range(values: np.ndarray, dtype) -> np.ndarray | None:
    """``values`` as ``dtype`` when both are IEEE floats and every converted value is finite and
    below the type's largest (so ``check_range`` would pass: one reduction, not its four); else None."""
    dtype = np.dtype(dtype)
    if values.dtype.kind != "f" or dtype.kind != "f" or dtype.itemsize not in (2, 4, 8) or not values.size:
        return None
    with np.errstate(over="ignore", invalid="ignore"):     # an overflow is refused by check_range
        array = values.astype(dtype, copy=False)
    return array if np.abs(array).max() < np.finfo(dtype).max else None


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
        if spec.dtype.is_integer and inferred.dtype.kind == "f":
            if not np.all(np.mod(inferred, 1) == 0):
                raise InvalidArgument(f"input '{name}': expected integers ({spec.dtype.name}), got fractional numbers")
            if inferred.size and np.nanmax(np.abs(inferred)) > 2 ** 53:
                # past 2^53 a float is no exact integer, and the JSON reader makes a float of any integer
                # beyond 64 bits (-2^63 - 1 arrives as -2^63): refuse rather than guess
                raise InvalidArgument(f"input '{name}': whole numbers beyond 2^53 for {spec.dtype.name} must be "
                                      "written as integers (no '.' or exponent) within the type's range")
        array = _floats_within_range(inferred, spec.dtype.as_numpy_dtype)
        if array is None:
            check_range(inferred, spec.dtype.as_numpy_dtype, name)
            array = inferred.astype(spec.dtype.as_numpy_dtype, copy=False)
    elif spec.dtype == tf_string:
        if isinstance(value, np.ndarray):  # gRPC's string tensor: an object array of bytes
            if value.dtype.kind not in "OSU":
                raise InvalidArgument(f"input '{name}' takes strings, got {value.dtype.name}")
            value = value.tolist()
        strings = _strings(value, name)
        try:
            array = np.empty(np.shape(strings), dtype=object)
            array[...] = strings
        except ValueError as e:            # ragged lists of strings
            raise InvalidArgument(f"input '{name}': {str(e).splitlines()[0][:300]}") from None
    else:
        try:
            array = np.asarray(value, dtype=spec.dtype.as_numpy_dtype)
        except (TypeError, ValueError) as e:
            raise InvalidArgument(f"input '{name}' ({spec.dtype.name}): {str(e).splitlines()[0][:300]}") from None
    if spec.shape is not None:
        expected = spec.shape
        fits = array.ndim == len(expected) and all(e == -1 or e == a for e, a in zip(expected, array.shape))
        if not fits:
            shown = "[" + ", ".join("?" if d == -1 else str(d) for d in expected) + "]"
            raise InvalidArgument(f"input '{name}' has shape {list(array.shape)} but the signature expects {shown}")
    return array
