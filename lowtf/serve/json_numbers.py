"""A JSON array of numbers straight to a numpy array, without a Python object per number.

``orjson.loads`` of a 100-image request makes 78,400 Python floats inside 2,900 lists, and
``np.asarray`` then walks them all again: most of a large REST request's time, and up to 76x
the body's size in memory. For the common body, one numeric tensor,

    {"instances": [[[[0.0], [0.5], ...]]]}        (or "inputs", with "signature_name" beside it)

``numeric_body`` reads the numbers in C (``np.fromstring``) and takes the shape from the
brackets, whose layout it checks against the shape it infers: a ragged list, a string, ``true``
or anything unusual returns None and the caller decodes the body the ordinary way (which
also gives the error messages). Memory: the body and one float64 per number.

Time is linear in the body: brackets nested deeper than ``MAX_DIMS`` are refused before any
shape is built (a body of nothing but brackets once cost O(depth^2): 200 KB took 6 s of a
core), and ``check`` (the request's deadline) is called between the passes.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from lowtf.serve.errors import InvalidArgument

# The whole body: an object with one tensor under "instances" or "inputs", and maybe a
# signature name (no escapes in it) before or after it.
_SIGNATURE = rb'"signature_name"\s*:\s*"(?P<sig%d>[^"\\]*)"\s*,?\s*'
_BODY = re.compile(rb'\s*\{\s*(?:' + _SIGNATURE % 1 + rb')?"(?P<key>instances|inputs)"\s*:\s*'
                   rb'(?P<array>\[[^"{}a-dA-DF-Zf-z]*\])\s*,?\s*(?:' + _SIGNATURE % 2 + rb')?\}\s*', re.S)
_NUMBER_CHARS = b"0123456789.eE+-"
_IS_NUMBER_CHAR = np.zeros(256, bool)
_IS_NUMBER_CHAR[list(_NUMBER_CHARS)] = True
_BRACKETS_TO_SPACES = bytes.maketrans(b"[]", b"  ")
# numpy's limit on an array's dimensions (TensorFlow allows 254, but the values travel as numpy)
MAX_DIMS = 64
_STRUCTURE_ONLY = _NUMBER_CHARS + b" \t\r\n"
# A run of number characters that is no number ("1-2") stops np.fromstring early with this
# DeprecationWarning; the count check below catches it, so the warning says nothing new.
warnings.filterwarnings("ignore", message="string or file could not be read to its end", category=DeprecationWarning)


@dataclass
class NumericBody:
    key: str                    # "instances" (row format) or "inputs" (columnar)
    values: np.ndarray          # float64, in the shape the brackets give
    signature_name: Optional[str]


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
        position, count = level + 1, 0
        while structure.startswith(element, position):
            count += 1
            position += len(element)
            if structure[position:position + 1] != b",":
                break
            position += 1
        shape.insert(0, count)
        element = _list_of(element, count)
    return tuple(shape) if element == structure and int(np.prod(shape)) == numbers else None


def numeric_match(raw: bytes) -> Optional[re.Match]:
    """The body's layout if it may be one numeric tensor (no copy is made), else None."""
    match = _BODY.fullmatch(raw)
    return None if match is None or (match["sig1"] is not None and match["sig2"] is not None) else match


def too_deep(depth: Optional[int] = None) -> InvalidArgument:
    """The error for lists nested deeper than a tensor's dimensions (``depth`` when it is known)."""
    nested = f"{depth:,} nested lists" if depth is not None else f"over {MAX_DIMS} nested lists"
    return InvalidArgument(f"Malformed request: {nested}, more than the {MAX_DIMS} dimensions a tensor can "
                           f"have here; send each input as at most {MAX_DIMS} levels of brackets")


def no_check() -> None:
    pass


def numeric_body(raw: bytes, check: Callable[[], None] = no_check) -> Optional[NumericBody]:
    """The body's one numeric tensor as float64, or None when the body is anything else; raises
    InvalidArgument for more than ``MAX_DIMS`` leading brackets and whatever ``check`` raises
    (called between passes: the request's deadline)."""
    match = numeric_match(raw)
    if match is None:
        return None
    span = match["array"]
    if not span.translate(None, _STRUCTURE_ONLY + b"[],") == b"":
        return None                                       # a character no number or bracket has
    structure = span.translate(None, _STRUCTURE_ONLY)
    depth = len(structure) - len(structure.lstrip(b"["))
    if depth > MAX_DIMS:
        raise too_deep(depth)
    check()
    is_number = _IS_NUMBER_CHAR[np.frombuffer(span, np.uint8)]
    tokens = int(np.count_nonzero(is_number[1:] & ~is_number[:-1]) + is_number[0])   # runs of number characters
    check()
    shape = _shape(structure, tokens)
    if shape is None:
        return None
    check()
    try:
        values = np.fromstring(span.translate(_BRACKETS_TO_SPACES), dtype=np.float64, sep=",") if tokens else np.zeros(0)
    except ValueError:                                    # the same, where warnings are errors
        return None
    if values.size != tokens:
        return None                                       # a run that is no number ("1-2", "--1", "1e")
    if values.size and np.abs(values).max() >= 2 ** 53:
        return None                                       # float64 would round a whole number this large
    signature = match["sig1"] if match["sig1"] is not None else match["sig2"]
    try:
        signature = signature.decode("utf-8") if signature is not None else None
    except UnicodeDecodeError:
        raise InvalidArgument("Malformed request: signature_name is not UTF-8 text") from None
    return NumericBody(match["key"].decode(), values.reshape(shape), signature)
