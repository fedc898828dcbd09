"""Where a check sends the learner back to: a lesson, and words of one of its step titles.

A pointer is ``("07", "the training loop")``; it is shown as "lesson 07, step 8: the training loop:
next_batch, feed_dict, validation", its number found in the lesson file when the check fails, so a
step moved or added in the lesson cannot leave the pointer naming the wrong step. A plain ``"14"``
points to a whole lesson. The titles are read from the file without importing it (a graph-mode
lesson's import would switch a Keras check's process out of eager mode).
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Union

Pointer = Union[str, tuple]          # "14", ("07", "the training loop"), or several of those in a list


def step_titles(path: Path) -> list[str]:
    """The titles of a lesson file's steps, in order: the string given to each ``@lesson.step(...)``."""
    titles = []
    for node in ast.parse(Path(path).read_text()).body:
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                if (isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "lesson.step"
                        and decorator.args):
                    titles.append(ast.literal_eval(decorator.args[0]))
    return titles


def find_step(lesson: str, words: str) -> tuple[int, str] | None:
    """(step number, title) of the first step of lesson ``lesson`` whose title contains ``words``."""
    from lowtf.catalog import find_lessons

    path = find_lessons().get(lesson)
    if path is None:
        return None
    for number, title in enumerate(step_titles(path), 1):
        if words.lower() in title.lower():
            return number, title
    return None


def pointers(pointer: Pointer) -> list:
    """A pointer, or a list of them, as a list."""
    return list(pointer) if isinstance(pointer, list) else [pointer]


def describe(pointer: Pointer) -> str:
    """"lesson 07, step 8: the training loop: ..." for each pointer, joined by "; also "."""
    said = []
    for p in pointers(pointer):
        if isinstance(p, str):
            said.append(f"lesson {p}")
            continue
        lesson, words = p
        try:
            found = find_step(lesson, words)
        except Exception:        # no lessons folder (an installed lowtf): the words still say where
            found = None
        said.append(f"lesson {lesson}, step {found[0]}: {found[1]}" if found
                    else f"lesson {lesson}, the step on {words}")
    return "; also ".join(said)
