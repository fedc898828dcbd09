"""The step-through lesson runner.

A lesson is a script made of named steps. Each step is a function whose docstring is
its explanation and whose body is the code being taught; it receives the shared
``LessonContext`` and may return a dict of what it produced, which the runner prints::

    lesson = Lesson("01", "graphs and sessions")

    @lesson.step("a + b is a Tensor, not a number")
    def add(ctx):
        '''Explanation shown before the step runs in --step mode.'''
        ctx.total = tf.add(2.0, 3.0)
        return {"total": ctx.total}

    if __name__ == "__main__":
        lesson.main()

Command line: ``--step`` explains each step, runs it, prints its output and waits for
Enter (``q`` quits); ``--fast`` shrinks the work (for tests); ``--logdir`` chooses where
TensorBoard events go (default ``runs/NN_name/``). At the end the key numbers recorded
with ``ctx.record`` are printed and written to ``LOGDIR/summary.json``.
"""
from __future__ import annotations

import argparse
import inspect
import json
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

SUMMARY_PREFIX = "LOWTF_SUMMARY "


@dataclass
class LessonContext:
    """What the steps of one run share: the mode, the logdir, and the recorded key numbers."""

    fast: bool
    logdir: Path
    summary: dict = field(default_factory=dict)
    cleanups: list = field(default_factory=list)

    def on_exit(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` when the lesson ends, however it ends (stop a server it started, say)."""
        self.cleanups.append(fn)

    def record(self, **numbers: Any) -> None:
        """Record key numbers for the end-of-lesson summary (and summary.json)."""
        self.summary.update(numbers)


@dataclass
class Step:
    title: str
    fn: Callable[[LessonContext], Any]

    @property
    def explanation(self) -> str:
        return textwrap.dedent(inspect.getdoc(self.fn) or "").strip()


class QuitLesson(Exception):
    """Raised when the learner types q at a --step prompt."""


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) < 2000 else text[:2000] + " ..."


class Lesson:
    """A numbered lesson: an ordered list of steps and a runner for them."""

    def __init__(self, number: str, name: str):
        self.number = number
        self.name = name
        self.steps: list[Step] = []

    @property
    def slug(self) -> str:
        return f"{self.number}_{self.name.replace(' ', '_')}"

    def step(self, title: str) -> Callable:
        """Decorator: append the function as the next step, titled ``title``."""
        def register(fn: Callable[[LessonContext], Any]) -> Callable:
            self.steps.append(Step(title, fn))
            return fn
        return register

    def run(self, fast: bool = False, logdir: str | Path | None = None, interactive: bool = False,
            out: Callable[[str], None] = print, ask: Callable[[str], str] = input) -> dict:
        """Run every step in order on a fresh default graph; return the recorded summary."""
        import tensorflow.compat.v1 as tf

        ctx = LessonContext(fast=fast, logdir=Path(logdir or Path("runs") / self.slug))
        ctx.logdir.mkdir(parents=True, exist_ok=True)
        tf.reset_default_graph()  # each lesson starts from an empty graph
        out(f"Lesson {self.number}: {self.name}" + ("  [fast]" if fast else ""))
        started = time.perf_counter()
        try:
            for i, step in enumerate(self.steps, 1):
                out(f"\n== Step {i}/{len(self.steps)}: {step.title}")
                if interactive and step.explanation:
                    out(textwrap.indent(step.explanation, "   "))
                produced = step.fn(ctx)
                for key, value in (produced or {}).items():
                    out(f"   {key}: {_show(value)}")
                if interactive and i < len(self.steps):
                    try:
                        answer = ask("   [Enter: next step, q: quit] ")
                    except EOFError:
                        answer = ""
                    if answer.strip().lower() == "q":
                        raise QuitLesson
        except QuitLesson:
            out("\nStopped at your request.")
        finally:
            for fn in reversed(ctx.cleanups):
                fn()
            tf.reset_default_graph()
        ctx.record(seconds=round(time.perf_counter() - started, 2))
        (ctx.logdir / "summary.json").write_text(json.dumps(ctx.summary, indent=2, default=float))
        out("\nKey numbers:")
        for key, value in ctx.summary.items():
            out(f"   {key}: {value}")
        out(SUMMARY_PREFIX + json.dumps(ctx.summary, default=float))
        return ctx.summary

    def main(self, argv: list[str] | None = None) -> dict:
        """Parse ``--step / --fast / --logdir`` and run."""
        parser = argparse.ArgumentParser(description=f"Lesson {self.number}: {self.name}")
        parser.add_argument("--step", action="store_true", help="explain and pause before each step")
        parser.add_argument("--fast", action="store_true", help="shrink the work (used by the tests)")
        parser.add_argument("--logdir", default=None, help=f"where events go (default runs/{self.slug})")
        args = parser.parse_args(argv)
        return self.run(fast=args.fast, logdir=args.logdir, interactive=args.step)


def parse_summary(stdout: str) -> dict:
    """Find the machine-readable summary line in a lesson's output."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(SUMMARY_PREFIX):
            return json.loads(line[len(SUMMARY_PREFIX):])
    raise ValueError("no summary line in the lesson's output")


def lessons_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "lessons"


def find_lessons() -> dict[str, Path]:
    """``{"01": lessons/01_graphs_and_sessions.py, ...}`` in order."""
    return {p.name[:2]: p for p in sorted(lessons_dir().glob("[0-9][0-9]_*.py"))}


def load_lesson(path: Path) -> Lesson:
    """Import a lesson script (its name starts with a digit, so not with ``import``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"lowtf_lesson_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lesson


def describe(path: Path) -> str:
    """A lesson's one-line description: the first line of its docstring, read without running it."""
    import ast

    doc = ast.get_docstring(ast.parse(path.read_text())) or path.stem
    return doc.strip().splitlines()[0]
