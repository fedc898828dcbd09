"""How the lesson runner shows values and explanations: numbers as numbers, wrapped to the terminal."""
from __future__ import annotations

import dataclasses
import inspect
import linecache
import math
import re
import sys
import textwrap
from pathlib import Path, PurePath
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
        text = "\n".join(fill(line, width) if len(line) > width else line for line in value.splitlines())
    elif isinstance(value, np.ndarray) and value.size > 64:
        text = f"array of shape {value.shape}, {value.dtype}:\n" + np.array2string(
            value, precision=4, threshold=64, max_line_width=min(width, 10**4))
    else:
        text = "\n".join(_layout(plain(value), width))
    if isinstance(value, str):
        return text          # the lesson's own words or code: never cut
    return text if len(text) < 2000 else text[:2000] + " ..."


PICTURES = (".png", ".gif", ".jpg", ".jpeg", ".svg")
FILES = PICTURES + (".json", ".ipynb", ".csv", ".txt", ".pb", ".npy", ".tfrecord", ".log", ".html")


def is_path(value: Any) -> bool:
    """A file or folder name (a Path, or a string naming a file that exists or has a file's suffix)."""
    if isinstance(value, PurePath):
        return True
    return (isinstance(value, str) and 0 < len(value) < 500 and not any(c.isspace() for c in value)
            and ("/" in value or value.endswith(FILES))
            and (value.lower().endswith(FILES) or _exists(value)))


def _exists(name: str) -> bool:
    try:
        return Path(name).exists()
    except OSError:
        return False


def opener() -> str:
    """The command that opens a file in its usual program here."""
    return "open" if sys.platform == "darwin" else "start" if sys.platform == "win32" else "xdg-open"


def shown_path(key: str, path: Any) -> str:
    """``   key:`` and the path whole on its own line (never wrapped: it can be copied), and for a
    picture how to open it."""
    lines = [f"   {key}:", f"      {path}"]
    if str(path).lower().endswith(PICTURES):
        lines.append(f"      (a picture: {opener()} and the path above opens it)")
    return "\n".join(lines)


def shown(key: str, value: Any, width: int) -> str:
    """``   key: value``, indented, in lines of at most ``width`` characters where the value allows;
    a path whole on its own line, and a dict or list of paths a path a line."""
    first = f"   {key}: "
    if is_path(value):
        return first + str(value) if len(first) + len(str(value)) <= width else shown_path(key, value)
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else ()
    items = list(items)
    if items and all(is_path(v) for _, v in items):
        pictures = any(str(v).lower().endswith(PICTURES) for _, v in items)
        lines = [first.rstrip()] + [f"      {v}" if isinstance(k, int) else f"      {k}:\n         {v}"
                                    for k, v in items]
        if pictures:
            lines.append(f"      (pictures: {opener()} and a path above opens one)")
        return "\n".join(lines)
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
        return [repr(piece) for piece in textwrap.wrap(value, max(10, width - 2), drop_whitespace=False,
                                                         break_on_hyphens=False, break_long_words=False)]
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


ITEM = re.compile(r"\s*([-*\u2022]|\d{1,2}[.)])\s+\S")    # "- a point", "* a point", "2. a point", "3) a point"


def _depth(line: str) -> int:
    return len(line) - len(line.lstrip())


def fill(text: str, width: int, **kwargs) -> str:
    """``textwrap.fill`` that never breaks a word or a name at its hyphens (runs/11-x stays whole)."""
    return textwrap.fill(text, max(width, 20), break_on_hyphens=False, break_long_words=False, **kwargs)


def reflow(text: str, width: int) -> str:
    """A docstring as the runner shows it, in lines of at most ``width`` characters: prose re-filled
    (the source's own line breaks do not count), each list item ("- ", "* ", "2. ") filled under its
    marker, with the indented lines that continue it; other indented lines (code, a small table) as
    written, wrapped under their indentation only where too wide."""
    paragraphs = []
    for block in text.split("\n\n"):
        pieces: list[tuple[str, list[str]]] = []      # ("prose" | "item" | "verbatim", lines)
        for line in block.splitlines():
            indented = line[:1].isspace()
            if ITEM.match(line) and not (indented and pieces and pieces[-1][0] == "verbatim"):
                pieces.append(("item", [line]))
            elif indented and pieces and pieces[-1][0] == "item":
                pieces[-1][1].append(line)             # the item goes on
            elif indented and pieces and pieces[-1][0] == "verbatim" and _depth(line) > _depth(pieces[-1][1][0]):
                pieces[-1][1].append(line)             # a row of a small table goes on, deeper
            elif indented:
                pieces.append(("verbatim", [line]))
            elif pieces and pieces[-1][0] == "prose":
                pieces[-1][1].append(line)
            else:
                pieces.append(("prose", [line]))
        shown = []
        for kind, lines in pieces:
            if kind == "prose":
                shown.append(fill(" ".join(line.strip() for line in lines), width))
            elif kind == "item":
                marker = ITEM.match(lines[0])
                hang = " " * (marker.end() - 1)
                shown.append(fill(" ".join(line.strip() for line in lines), width,
                                  initial_indent=lines[0][:len(lines[0]) - len(lines[0].lstrip())],
                                  subsequent_indent=hang))
            elif len(lines) == 1 and len(lines[0]) <= width:
                shown.append(lines[0])
            else:
                hang = " " * (_depth(lines[1]) if len(lines) > 1 else _depth(lines[0]) + 2)
                row = lines[0].rstrip() + " " + " ".join(line.strip() for line in lines[1:])
                hang = hang[:max(2, width - max(len(word) for word in row.split()))]   # the longest word fits
                shown.append(fill(row.strip(), width, initial_indent=" " * _depth(row), subsequent_indent=hang)
                             if len(lines) > 1 or len(row) > width else row)
        paragraphs.append("\n".join(shown))
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

