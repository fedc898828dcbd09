"""TF Serving's predict request and reply formats, to and from numpy arrays.

Row format: ``{"instances": [example, ...]}`` (each example a value, or an object keyed by
input name when the signature has several inputs) -> ``{"predictions": ...}``.
Columnar format: ``{"inputs": tensor or {name: tensor}}`` -> ``{"outputs": ...}``.
"""
from __future__ import annotations

import base64

import numpy as np

from lowtf.serve.model_store import Signature, TensorSpec


class BadRequest(ValueError):
    """The request is malformed or does not fit the signature: HTTP 400 (INVALID_ARGUMENT)."""


def _decode_b64(value):
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return [_decode_b64(v) for v in value]
    return value


def check_range(values: np.ndarray, dtype, name: str) -> None:
    """BadRequest if ``values`` do not fit ``dtype`` (3000000000 in an int32 would wrap to -1294967296;
    1e300 in a float32 would become inf)."""
    dtype = np.dtype(dtype)
    if values.size == 0 or values.dtype.kind == "b" or dtype.kind not in "iuf":
        return
    info = np.iinfo(dtype) if dtype.kind in "iu" else np.finfo(dtype)
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    if finite.size and (finite.min() < info.min or finite.max() > info.max):
        raise BadRequest(f"input '{name}': values from {finite.min()} to {finite.max()} do not fit "
                         f"{dtype.name} ({info.min} to {info.max})")


def to_array(value, spec: TensorSpec, name: str) -> np.ndarray:
    """Convert a JSON value to an array of the input's dtype and check it against the input's shape."""
    if spec.dtype.is_floating or spec.dtype.is_integer or spec.dtype.is_bool:
        try:
            inferred = np.asarray(value)
        except ValueError as e:
            raise BadRequest(f"input '{name}': {e}") from None
        if inferred.dtype.kind not in "biuf":
            raise BadRequest(f"input '{name}': expected numbers of type {spec.dtype.name}, "
                             f"got {inferred.dtype.kind == 'U' and 'strings' or inferred.dtype}")
        if spec.dtype.is_integer and inferred.dtype.kind == "f" and not np.all(np.mod(inferred, 1) == 0):
            raise BadRequest(f"input '{name}': expected integers ({spec.dtype.name}), got fractional numbers")
        check_range(inferred, spec.dtype.as_numpy_dtype, name)
        array = inferred.astype(spec.dtype.as_numpy_dtype)
    else:
        array = np.asarray(_decode_b64(value), dtype=object)
    if spec.shape is not None:
        expected = spec.shape
        fits = array.ndim == len(expected) and all(e == -1 or e == a for e, a in zip(expected, array.shape))
        if not fits:
            shown = "[" + ", ".join("?" if d == -1 else str(d) for d in expected) + "]"
            raise BadRequest(f"input '{name}' has shape {list(array.shape)} but the signature expects {shown}")
    return array


def parse_predict(body, signature: Signature) -> tuple[dict, str]:
    """Return ``({input name: array}, "row" | "columnar")`` for a decoded JSON request body."""
    if not isinstance(body, dict):
        raise BadRequest("Malformed request: the body must be a JSON object")
    has_rows, has_columns = "instances" in body, "inputs" in body
    if has_rows and has_columns:
        raise BadRequest("Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist")
    if not (has_rows or has_columns):
        raise BadRequest("Missing 'inputs' or 'instances' key")
    names = list(signature.inputs)
    if has_rows:
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise BadRequest("'instances' must be a non-empty list, one item per example")
        if all(isinstance(i, dict) and not set(i) == {"b64"} for i in instances):
            keys = set(instances[0])
            if any(set(i) != keys for i in instances):
                raise BadRequest("every instance must name the same inputs")
            raw = {k: [i[k] for i in instances] for k in keys}
        elif len(names) == 1:
            raw = {names[0]: instances}
        else:
            raise BadRequest(f"the signature has inputs {names}: each instance must be an object keyed by them")
    else:
        inputs = body["inputs"]
        if isinstance(inputs, dict) and not set(inputs) == {"b64"} and (len(names) > 1 or set(inputs) <= set(names)):
            raw = inputs
        elif len(names) == 1:
            raw = {names[0]: inputs}
        else:
            raise BadRequest(f"the signature has inputs {names}: 'inputs' must be an object keyed by them")
    missing, extra = set(names) - set(raw), set(raw) - set(names)
    if missing or extra:
        raise BadRequest(f"the signature takes inputs {sorted(names)}; "
                         + (f"missing {sorted(missing)}" if missing else f"unknown {sorted(extra)}"))
    feeds = {k: to_array(v, signature.inputs[k], k) for k, v in raw.items()}
    sizes = {len(v) if v.ndim else 0 for v in feeds.values()}
    if has_rows and len(sizes) > 1:
        raise BadRequest("all inputs must have the same number of instances (dimension 0)")
    return feeds, "row" if has_rows else "columnar"


def _plain(array: np.ndarray):
    if array.dtype == object:
        return [_plain(a) for a in array] if array.ndim else array.item().decode("utf-8", "replace")
    return array.tolist()


def format_predict(outputs: dict, fmt: str) -> dict:
    """Shape the reply as TF Serving does: a single output is not named."""
    if fmt == "row":
        if len(outputs) == 1:
            return {"predictions": _plain(next(iter(outputs.values())))}
        n = len(next(iter(outputs.values())))
        return {"predictions": [{k: _plain(v[i]) for k, v in outputs.items()} for i in range(n)]}
    if len(outputs) == 1:
        return {"outputs": _plain(next(iter(outputs.values())))}
    return {"outputs": {k: _plain(v) for k, v in outputs.items()}}
