"""A JSON array of numbers straight to a numpy array, without a Python object per nested list.

``orjson.loads`` of a 100-image request makes 78,400 Python floats inside 2,900 lists, and
``np.asarray`` then walks every list again: most of a large REST request's time, and up to 76x
the body's size in memory. For the common body, one numeric tensor,

    {"instances": [[[[0.0], [0.5], ...]]]}        (or "inputs", with "signature_name" beside it)

``numeric_body`` takes the shape from the brackets (checking their layout is a regular nested
list), deletes them, and hands orjson the numbers as flat arrays of at most ``CHUNK_BYTES`` of
text, written one after another into a float64 array. orjson checks every number as strictly
as JSON does ("+1", ".5", "01", "1-2" are errors); a number outside the innermost brackets
("[[1]2]"), a ragged list, a string, ``true`` or anything unusual returns None and the caller
decodes the body the ordinary way (which also gives the error messages). Measured on a
100-image body (743 KB): 3-4 ms, against 43 ms for ``np.fromstring`` text parsing and 95 ms
for ``np.asarray(orjson.loads(...))`` (tests/test_serve_json.py lists what is read and what is
declined; 64 KB chunks took as long). Memory: the array's text twice, one float64 per number,
and one chunk's worth of orjson's work (``CHUNK_PEAK_BYTES``).

Time is linear in the body: brackets nested deeper than ``MAX_DIMS`` are refused before any
shape is built (a body of nothing but brackets once cost O(depth^2): 200 KB took 6 s of a
core), and ``check`` (the request's deadline) is called between the passes and chunks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import orjson

from lowtf.serve.errors import InvalidArgument

# The whole body: an object with one tensor under "instances" or "inputs", and maybe a
# signature name (no escapes in it) before or after it. The head and the tail are matched on
# their own (the array between them is checked byte by byte below); the whole-body pattern is
# the fallback for a tail holding a "]" (a signature name with one in it).
_SIGNATURE = rb'"signature_name"\s*:\s*"(?P<sig%d>[^"\\]*)"\s*,?\s*'
_HEAD = re.compile(rb'\s*\{\s*(?:' + _SIGNATURE % 1 + rb')?"(?P<key>instances|inputs)"\s*:\s*(?=\[)')
_TAIL = re.compile(rb'\s*,?\s*(?:' + _SIGNATURE % 2 + rb')?\}\s*')
_BODY = re.compile(rb'\s*\{\s*(?:' + _SIGNATURE % 1 + rb')?"(?P<key>instances|inputs)"\s*:\s*'
                   rb'(?P<array>\[[^"{}a-dA-DF-Zf-z]*\])\s*,?\s*(?:' + _SIGNATURE % 2 + rb')?\}\s*', re.S)
_NUMBER_CHARS = b"0123456789.eE+-"
_WHITESPACE = b" \t\r\n"
# Every byte of the array marked: a number character -> "0", a bracket or comma -> itself,
# anything else -> "x" (whitespace is deleted by the same translate).
_MARK = bytearray(b"x" * 256)
for _c in _NUMBER_CHARS:
    _MARK[_c] = ord("0")
for _c in b"[],":
    _MARK[_c] = _c
_MARK = bytes(_MARK)
# numpy's limit on an array's dimensions (TensorFlow allows 254, but the values travel as numpy)
MAX_DIMS = 64
CHUNK_BYTES = 16 * 1024     # numbers handed to orjson at once: bounds the Python floats alive together
# orjson's peak while reading a chunk: up to 22x its text (measured with tracemalloc for "0.0",
# "257" and 16-digit fractions), more than the numbers' own 8-16 bytes each. A body's decoding
# reserves this beside its multiple of its size (rest_json.decoding_bytes).
CHUNK_PEAK_BYTES = 24 * CHUNK_BYTES


@dataclass
class NumericBody:
    key: str                    # "instances" (row format) or "inputs" (columnar)
    values: np.ndarray          # float64, in the shape the brackets give
    signature_name: Optional[str]


@dataclass
class Layout:
    key: bytes                  # b"instances" or b"inputs"
    array: bytes                # the array's text, "[" to "]"
    signature: Optional[bytes]


def _list_of(element: bytes, count: int) -> bytes:
    """``[element,element,...]`` with ``count`` elements, built without a Python list of them."""
    return b"[" + (element + b",") * (count - 1) + element + b"]" if count else b"[]"


def _shape(structure: bytes, numbers: int) -> Optional[tuple]:
    """The shape of a regular nested list whose brackets and commas are ``structure`` (numbers removed)
    and which holds ``numbers`` numbers; None when it is ragged or not a list of numbers."""
    depth = len(structure) - len(structure.lstrip(b"["))
    close = structure.find(b"]")
    if depth == 0 or close < depth - 1:
        return None
    innermost = structure[depth - 1:close + 1]            # "[,,]" holds 3 numbers; "[]" 1 or none
    shape = [innermost.count(b",") + 1 if len(innermost) > 2 else (1 if numbers else 0)]
    element = _list_of(b"", shape[0])
    for level in range(depth - 2, -1, -1):                # count the repeats of the element one level up
        if len(element) > len(structure):
            return None                                   # each pass costs at most the structure's length
        # The list opening at ``level`` is "element,element,...,element]": the first element
        # followed by "]" is its last (a balanced element's proper suffix is never its prefix, so
        # no match starts inside one); the comparison below checks the whole guess.
        end = structure.find(element + b"]", level + 1)
        count, rest = divmod(end + len(element) - level, len(element) + 1)
        if end < 0 or rest:
            return None
        shape.insert(0, count)
        element = _list_of(element, count)
    return tuple(shape) if element == structure and int(np.prod(shape)) == numbers else None


def numeric_match(raw: bytes) -> Optional[Layout]:
    """The body's layout if it may be one numeric tensor, else None."""
    head = _HEAD.match(raw)
    if head is None:
        return None
    end = raw.rfind(b"]")
    tail = _TAIL.fullmatch(raw, end + 1) if end >= head.end() else None
    if tail is not None:
        sig1, sig2, array = head["sig1"], tail["sig2"], raw[head.end():end + 1]
    else:
        match = _BODY.fullmatch(raw)
        if match is None:
            return None
        sig1, sig2, array = match["sig1"], match["sig2"], match["array"]
    if sig1 is not None and sig2 is not None:
        return None
    return Layout(head["key"], array, sig1 if sig1 is not None else sig2)


def too_deep(depth: Optional[int] = None) -> InvalidArgument:
    """The error for lists nested deeper than a tensor's dimensions (``depth`` when it is known)."""
    nested = f"{depth:,} nested lists" if depth is not None else f"over {MAX_DIMS} nested lists"
    return InvalidArgument(f"Malformed request: {nested}, more than the {MAX_DIMS} dimensions a tensor can "
                           f"have here; send each input as at most {MAX_DIMS} levels of brackets")


def no_check() -> None:
    pass


def _numbers(flat: bytes, count: int, check: Callable[[], None]) -> Optional[np.ndarray]:
    """The ``count`` comma-separated JSON numbers of ``flat`` as float64, read by orjson a chunk at
    a time; None when a piece is no JSON number or the count differs."""
    values = np.empty(count, np.float64)
    filled, start = 0, 0
    while start < len(flat):
        stop = flat.find(b",", start + CHUNK_BYTES)
        stop = len(flat) if stop == -1 else stop
        try:
            part = orjson.loads(b"[" + flat[start:stop] + b"]")
        except orjson.JSONDecodeError:
            return None                                   # "1-2", "+1", "1 2", an empty slot ("1,,2")
        if filled + len(part) > count:
            return None
        values[filled:filled + len(part)] = part
        filled += len(part)
        start = stop + 1
        check()
    return values if filled == count else None            # a trailing comma leaves one short


def _outside_brackets(marked: bytes) -> bool:
    """True when a number (a "0" of ``marked``) follows a "]" or precedes a "[", as in "[[1]2]": bytes'
    own search takes ~1 ms for such two-byte needles in 500 KB, these comparisons ~0.1 ms."""
    codes = np.frombuffer(marked, np.uint8)
    left, right = codes[:-1], codes[1:]
    pair = left == ord("]")
    pair &= right == ord("0")
    if pair.any():
        return True
    pair = left == ord("0")
    pair &= right == ord("[")
    return bool(pair.any())


def numeric_body(raw: bytes, check: Callable[[], None] = no_check) -> Optional[NumericBody]:
    """The body's one numeric tensor as float64, or None when the body is anything else; raises
    InvalidArgument for more than ``MAX_DIMS`` leading brackets and whatever ``check`` raises
    (called between passes: the request's deadline)."""
    layout = numeric_match(raw)
    if layout is None:
        return None
    span = layout.array
    marked = span.translate(_MARK, _WHITESPACE)
    if b"x" in marked:
        return None                                       # a character no number or bracket has
    if _outside_brackets(marked):
        return None
    has_numbers = b"0" in marked
    structure = marked.translate(None, b"0")
    del marked
    depth = len(structure) - len(structure.lstrip(b"["))
    if depth > MAX_DIMS:
        raise too_deep(depth)
    check()
    # In a regular nested list of non-empty lists, commas separate the numbers and the lists: one
    # number more than commas (an empty slot, "[1,,2]", fails orjson's reading below).
    count = structure.count(b",") + 1 if has_numbers else 0
    shape = _shape(structure, count)
    del structure
    if shape is None:
        return None
    check()
    if count:
        values = _numbers(span.translate(None, b"[]"), count, check)
        if values is None:
            return None
        if np.abs(values).max() >= 2 ** 53:
            return None                                   # float64 would round a whole number this large
    else:
        values = np.zeros(0)
    signature = layout.signature
    try:
        signature = signature.decode("utf-8") if signature is not None else None
    except UnicodeDecodeError:
        raise InvalidArgument("Malformed request: signature_name is not UTF-8 text") from None
    return NumericBody(layout.key.decode(), values.reshape(shape), signature)
