"""The lessons on disk: find them, describe them without running them, load one."""
from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

from lowtf.errors import CourseError


class NoLessonsError(CourseError, RuntimeError):
    """The lessons folder is not where a checkout of the course keeps it."""


def lessons_dir() -> Path:
    """``lessons/`` beside the package: lessons are scripts of a checkout, not installed files."""
    folder = Path(__file__).resolve().parents[1] / "lessons"
    if not folder.is_dir():
        raise NoLessonsError(f"no lessons folder at {folder}: the lessons live in a checkout of the course "
                             "(git clone it, then `make run` there); an installed lowtf does not carry them")
    return folder


# The order to take the lessons in, part by part. Lessons are numbered in the order they were written;
# 30-38 came later and belong earlier: linear regression (30) before MNIST's softmax (07), variable
# sharing (31) beside name scopes, control flow and debugging (32) before the first long training (10),
# sequences and tuning (33-35) after convolutions, TensorFlow 2's strategies (36-37) after TensorFlow 1's
# clusters, old scripts (38) once the graph-mode pieces they use have been taught.
COURSE = (
    ("reading a measurement", ("00",)),
    ("graphs and sessions", ("01", "02", "03", "04", "05", "06")),
    ("first models, by hand", ("30", "31", "07", "32", "08")),
    ("convolutions", ("09", "10", "11", "12", "13")),
    ("sequences, tuning, and seeing inside", ("33", "34", "35")),
    ("many processes", ("14", "15", "16", "36", "37")),
    ("data, export and serving, old code", ("17", "18", "19", "20", "21", "38")),
    ("Keras 3, on image files", ("22", "23", "24", "25", "26", "27", "28", "29")),
)


def course_order() -> list[str]:
    """Every lesson number in the order to take them (``COURSE`` flattened)."""
    return [number for _, numbers in COURSE for number in numbers]


def find_lessons() -> dict[str, Path]:
    """``{"01": lessons/01_graphs_and_sessions.py, ...}`` in order."""
    return {p.name[:2]: p for p in sorted(lessons_dir().glob("[0-9][0-9]_*.py"))}


def load_lesson(path: Path):
    """Import a lesson script (its name starts with a digit, so not with ``import``); return its ``Lesson``."""
    spec = importlib.util.spec_from_file_location(f"lowtf_lesson_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module     # so inspect.getsource finds the lesson's classes, as for any module
    spec.loader.exec_module(module)
    return module.lesson


def describe(path: Path) -> str:
    """A lesson's one-line description: the first line of its docstring, read without running it."""
    doc = ast.get_docstring(ast.parse(path.read_text())) or path.stem
    return doc.strip().splitlines()[0]


def _calls(path: Path) -> list[ast.Call]:
    return [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)]


def _declares(path: Path, keyword: str) -> bool:
    """Whether a lesson's ``Lesson(...)`` says ``keyword=True``, read without running the lesson."""
    return any(getattr(c.func, "id", None) == "Lesson" and
               any(k.arg == keyword and getattr(k.value, "value", None) is True for k in c.keywords)
               for c in _calls(path))


def wants_private_network(path: Path) -> bool:
    """Whether a lesson declares ``Lesson(..., private_network=True)`` (it starts TensorFlow servers)."""
    return _declares(path, "private_network")


def needs_own_process(path: Path) -> bool:
    """Whether a lesson must run as a process of its own: it starts TensorFlow servers (a private
    network namespace is made for the whole process) or uses Keras (``keras=True``: eager, not graph mode)."""
    return wants_private_network(path) or _declares(path, "keras")
