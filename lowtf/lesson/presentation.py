"""How the lesson runner shows values and explanations: numbers as numbers, wrapped to the terminal."""
from __future__ import annotations

import dataclasses
import inspect
import linecache
import math
import textwrap
from pathlib import PurePath
from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """numpy scalars and arrays as Python numbers and lists, recursively (for printing and JSON)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):   # a config: its fields, a line each
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def show(value: Any, width: int = 10**6) -> str:
    """How the runner prints a value: numbers as numbers (0.922, not np.float64(0.922)), laid out
    in lines of at most ``width`` characters where the value allows (a dict an item a line)."""
    if isinstance(value, str):
        text = "\n".join(textwrap.fill(line, width) if len(line) > width else line for line in value.splitlines())
    elif isinstance(value, np.ndarray) and value.size > 64:
        text = f"array of shape {value.shape}, {value.dtype}:\n" + np.array2string(
            value, precision=4, threshold=64, max_line_width=min(width, 10**4))
    else:
        text = "\n".join(_layout(plain(value), width))
    if isinstance(value, str):
        return text          # the lesson's own words or code: never cut
    return text if len(text) < 2000 else text[:2000] + " ..."


def shown(key: str, value: Any, width: int) -> str:
    """``   key: value``, indented, in lines of at most ``width`` characters where the value allows."""
    first = f"   {key}: "
    if isinstance(value, str) and value.startswith("\n"):   # a block (code, a table): below the key, as it is
        return first.rstrip() + "\n" + textwrap.indent(value.strip("\n"), "      ", lambda line: True)
    if len(first) > width // 2:       # a key too long to share a line: wrapped, its value below it
        head = textwrap.fill(key + ":", width, initial_indent="   ", subsequent_indent="   ")
        return head + "\n" + textwrap.indent(show(value, width - 6), "      ")
    text = show(value, width - len(first))
    if "\n" in text and len(first) > width // 3:   # a long key: the value below it
        return first.rstrip() + "\n" + textwrap.indent(show(value, width - 6), "      ")
    return first + text.replace("\n", "\n" + " " * len(first))


def _layout(value: Any, width: int) -> list[str]:
    """``_format(value)`` as lines of at most ``width`` characters where the value allows."""
    one = _format(value)
    if isinstance(value, str) and len(one) > width and " " in value:
        # as pprint does: adjacent string pieces, which Python reads as one string
        return [repr(piece) for piece in textwrap.wrap(value, max(10, width - 2), drop_whitespace=False)]
    if len(one) <= width or not isinstance(value, (dict, list, tuple)) or not value:
        return [one]
    opener, closer = "{}" if isinstance(value, dict) else "[]" if isinstance(value, list) else "()"
    if not isinstance(value, dict) and not any(isinstance(v, (dict, list, tuple)) for v in value):
        lines, line = [], ""            # a flat list: as many items a line as fit
        for v in value:
            item = _format(v) + ", "
            if line and len(line) + len(item) > width - 1:
                lines.append(line.rstrip())
                line = ""
            line += item
        lines.append(line.rstrip(", ") + closer)
    else:
        pairs = list(value.items()) if isinstance(value, dict) else [(None, v) for v in value]
        lines = []
        for n, (key, v) in enumerate(pairs):
            head = "" if key is None else f"{key!r}: "
            tail = closer if n == len(pairs) - 1 else ","
            if len(head) > width // 2:   # a long key: its value on the lines below it
                block = [head.rstrip()] + ["  " + s for s in _layout(v, width - 4)]
            else:
                sub = _layout(v, width - 2 - len(head))
                block = [head + sub[0]] + [" " * len(head) + s for s in sub[1:]]
            block[-1] += tail
            lines += block
    return [(opener if i == 0 else " ") + line for i, line in enumerate(lines)]


def reflow(text: str, width: int) -> str:
    """A docstring's paragraphs filled to ``width``; indented lines and list items keep their breaks."""
    paragraphs = []
    for block in text.split("\n\n"):
        lines = block.splitlines()
        if any(line.startswith((" ", "-", "*", "|")) or line[:2].rstrip(".").isdigit() for line in lines):
            paragraphs.append("\n".join(textwrap.fill(line, width, subsequent_indent="  ") if len(line) > width
                                        else line for line in lines))
        else:
            paragraphs.append(textwrap.fill(" ".join(lines), width))
    return "\n\n".join(paragraphs)


def _format(value: Any) -> str:
    if isinstance(value, PurePath):
        return str(value)   # runs/10_lenet5/curves.png, not PosixPath('runs/10_lenet5/curves.png')
    if type(value).__name__ == "TensorShape":
        return str(value)   # (?, 2, 2), as TensorFlow prints shapes
    if isinstance(value, float):
        if value == 0 or math.isnan(value) or math.isinf(value) or 1e-4 <= abs(value) < 1e9:
            return repr(round(value, 6))
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_format(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(_format(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def json_safe(value: Any) -> Any:
    """NaN and infinities become null: summary.json stays valid JSON."""
    value = plain(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None or isinstance(value, float):
        return value
    return str(value)


def source(obj: Any) -> str:
    """``inspect.getsource(obj)``, also for a class defined in a notebook cell (Python finds a class's
    source through its module's file, which a notebook's ``__main__`` lacks; its methods' code still
    names the cell, whose lines IPython keeps)."""
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        methods = [v for v in vars(obj).values() if inspect.isfunction(v)] if inspect.isclass(obj) else []
        if not methods:
            raise
        lines = linecache.getlines(methods[0].__code__.co_filename)
        start = next(i for i, line in enumerate(lines) if line.startswith(f"class {obj.__name__}"))
        return "".join(inspect.getblock(lines[start:]))

