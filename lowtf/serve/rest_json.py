"""TF Serving's REST bodies, to and from the predictor's calls and answers.

Predict, row format: ``{"instances": [example, ...]}`` (each example a value, or an object keyed
by input name when the signature has several inputs) -> ``{"predictions": ...}``.
Predict, columnar format: ``{"inputs": tensor or {name: tensor}}`` -> ``{"outputs": ...}``.
Classify and regress: ``{"examples": [{feature: value or list}, ...], "context": {...}}`` ->
``{"results": [[[label, score], ...], ...]}`` or ``{"results": [value, ...]}``.

A body holding one numeric tensor is read by ``json_numbers`` without a Python object per
number; anything else is decoded by orjson.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import orjson
import tensorflow.compat.v1 as tf

from lowtf.serve.errors import InvalidArgument
from lowtf.serve.export import DEFAULT_SIGNATURE
from lowtf.serve.json_numbers import CHUNK_PEAK_BYTES, no_check, numeric_body, numeric_match
from lowtf.serve.predictor import ONLY_INPUT
from lowtf.serve.tensors import b64

# Peak memory while decoding, as a multiple of the body's size (measured, see the tests): orjson
# makes Python objects, up to 76x for nested lists of one number each; the numeric reader holds
# a few copies of the text, one float64 per number and one chunk's Python floats at a time.
DECODE_AMPLIFICATION = 80
NUMERIC_AMPLIFICATION = 12


def amplification(raw: bytes) -> int:
    """How many times its size decoding ``raw`` may take, to reserve before decoding it."""
    return NUMERIC_AMPLIFICATION if numeric_match(raw) is not None else DECODE_AMPLIFICATION


def decoding_bytes(raw: bytes) -> int:
    """What decoding ``raw`` may take at its peak: the bytes to reserve before decoding it."""
    if numeric_match(raw) is not None:
        return NUMERIC_AMPLIFICATION * len(raw) + CHUNK_PEAK_BYTES
    return DECODE_AMPLIFICATION * len(raw)


def loads(raw: bytes):
    try:
        return orjson.loads(raw)    # 2-3x faster than json.loads on arrays of numbers (measured)
    except orjson.JSONDecodeError as e:
        raise InvalidArgument(f"JSON Parse error: {e}") from None


def signature_name(body: dict) -> str:
    name = body.get("signature_name", DEFAULT_SIGNATURE)
    if not isinstance(name, str):
        raise InvalidArgument(f"signature_name must be a string, got {type(name).__name__}")
    return name


@dataclass
class PredictBody:
    inputs: dict            # {input name or ONLY_INPUT: JSON value or array}
    signature: str
    row_format: bool        # "instances" (answered as "predictions") or "inputs" ("outputs")


def parse_predict(raw: bytes, check: Callable[[], None] = no_check) -> PredictBody:
    """A predict body, read without checking it against any signature (the predictor does that);
    ``check`` (the request's deadline) is called between the passes over it."""
    numeric = numeric_body(raw, check)
    if numeric is not None:
        return PredictBody({ONLY_INPUT: numeric.values}, numeric.signature_name or DEFAULT_SIGNATURE,
                           numeric.key == "instances")
    check()
    body = loads(raw)
    check()
    if not isinstance(body, dict):
        raise InvalidArgument("Malformed request: the body must be a JSON object")
    has_rows, has_columns = "instances" in body, "inputs" in body
    if has_rows and has_columns:
        raise InvalidArgument("Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist")
    if not (has_rows or has_columns):
        raise InvalidArgument("Missing 'inputs' or 'instances' key")
    if has_rows:
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise InvalidArgument("'instances' must be a non-empty list, one item per example")
        if all(isinstance(i, dict) and not set(i) == {"b64"} for i in instances):
            keys = set(instances[0])
            if any(set(i) != keys for i in instances):
                raise InvalidArgument("every instance must name the same inputs")
            inputs = {k: [i[k] for i in instances] for k in keys}
        else:
            inputs = {ONLY_INPUT: instances}
    else:
        value = body["inputs"]
        inputs = value if isinstance(value, dict) and set(value) != {"b64"} else {ONLY_INPUT: value}
    return PredictBody(inputs, signature_name(body), has_rows)


def _plain(value):
    """json.dumps's fallback for what it cannot write: arrays, numpy numbers, and strings as bytes."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.dtype == object:
        return _plain(value.item()) if value.ndim == 0 else [_plain(v) for v in value]
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _numbers_only(outputs: dict) -> bool:
    """True when orjson can write every output itself: booleans, integers, float32 or float64 (not
    yet whether they are finite: see ``format_predict``)."""
    return all(v.dtype.kind in "biu" or (v.dtype.kind == "f" and v.dtype.itemsize in (4, 8))
               for v in outputs.values())


def format_predict(outputs: dict, row_format: bool) -> bytes:
    """The reply as TF Serving shapes it (a single output is not named); numeric outputs are written
    by orjson straight from the arrays, float32 as their shortest exact decimal."""
    if row_format:
        if len(outputs) == 1:
            reply = {"predictions": next(iter(outputs.values()))}
        else:
            sizes = {k: (len(v) if np.ndim(v) else None) for k, v in outputs.items()}
            if None in sizes.values() or len(set(sizes.values())) > 1:
                raise InvalidArgument(f"the outputs' first dimensions {sizes} (None: no batch axis) differ, so "
                                      "they cannot be split into one prediction per instance; send the "
                                      "columnar format ({\"inputs\": ...}) to get them as they are")
            n = len(next(iter(outputs.values())))
            reply = {"predictions": [{k: v[i] for k, v in outputs.items()} for i in range(n)]}
    else:
        reply = {"outputs": next(iter(outputs.values())) if len(outputs) == 1 else outputs}
    if _numbers_only(outputs):
        written = orjson.dumps(reply, option=orjson.OPT_SERIALIZE_NUMPY)
        # orjson writes NaN and the infinities as null, which no number gives: TF Serving writes NaN,
        # Infinity, -Infinity, as json does below (one search here instead of np.isfinite per output)
        if b"null" not in written:
            return written
    return json.dumps(reply, default=_plain).encode()


# -- classify and regress ---------------------------------------------------------------------------
def _feature(value, name: str) -> tf.train.Feature:
    """A JSON feature value (a number, a string, {"b64": ...}, or a list of one kind) as a tf.train.Feature:
    whole numbers become int64_list, any other number float_list, strings bytes_list."""
    values = value if isinstance(value, list) else [value]
    if all(isinstance(v, str) or (isinstance(v, dict) and set(v) == {"b64"}) for v in values):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[
            b64(v["b64"], name) if isinstance(v, dict) else v.encode("utf-8", "surrogatepass") for v in values]))
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        if any(not -2 ** 63 <= v < 2 ** 63 for v in values):
            raise InvalidArgument(f"feature '{name}': a whole number outside int64")
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))
    raise InvalidArgument(f"feature '{name}': expected numbers, strings or {{\"b64\": ...}}, one kind per feature")


def _example(features: dict, context: dict) -> bytes:
    if not isinstance(features, dict):
        raise InvalidArgument("each item of 'examples' must be an object of features")
    merged = {**context, **features}
    return tf.train.Example(features=tf.train.Features(
        feature={k: _feature(v, k) for k, v in merged.items()})).SerializeToString()


@dataclass
class ExamplesBody:
    examples: np.ndarray    # [N] serialized tf.Examples
    signature: str


def parse_examples(raw: bytes, check: Callable[[], None] = no_check) -> ExamplesBody:
    """A classify or regress body: ``examples`` (and a shared ``context``) as serialized tf.Examples;
    ``check`` (the request's deadline) is called every thousand examples."""
    check()
    body = loads(raw)
    check()
    if not isinstance(body, dict) or not isinstance(body.get("examples"), list) or not body["examples"]:
        raise InvalidArgument("Malformed request: expected {\"examples\": [{feature: value, ...}, ...]}")
    context = body.get("context", {})
    if not isinstance(context, dict):
        raise InvalidArgument("'context' must be an object of features shared by every example")
    serialized = []
    for i, features in enumerate(body["examples"]):
        if i % 1000 == 999:
            check()
        serialized.append(_example(features, context))
    examples = np.array(serialized, dtype=object)
    return ExamplesBody(examples, signature_name(body))


def format_classes(rows: list) -> bytes:
    return orjson.dumps({"results": [[[label, score if score is not None else 0.0] for label, score in row]
                                     for row in rows]})


def format_values(values: list) -> bytes:
    return json.dumps({"results": values}).encode()


# Model names and versions in a URL: /v1/models/NAME[/versions/N][:verb or /metadata]
ROUTE = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[0-9]{1,18}))?"
                   r"(?P<verb>/metadata|:predict|:classify|:regress)?/?$")


def route(path: str) -> Optional[tuple[str, Optional[int], str]]:
    """(model name, version or None, verb) of a URL path, or None if it is none of TF Serving's."""
    match = ROUTE.match(path.split("?", 1)[0])
    if not match:
        return None
    return match["name"], (int(match["version"]) if match["version"] else None), match["verb"] or ""
