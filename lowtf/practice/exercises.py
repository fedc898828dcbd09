"""The exercises on disk, the learner's copies, and ``lowtf check``: pytest run on the learner's file,
reported in plain words."""
from __future__ import annotations

import ast
import re
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lowtf.catalog import lessons_dir


@dataclass(frozen=True)
class Exercise:
    number: str
    slug: str
    template: Path
    solution: Path
    checks: Path

    @property
    def title(self) -> str:
        doc = ast.get_docstring(ast.parse(self.template.read_text())) or self.slug
        return doc.splitlines()[0].split(": ", 1)[-1].rstrip(".")


def exercises_dir() -> Path:
    """``exercises/`` beside ``lessons/`` in the course's checkout."""
    return lessons_dir().parent / "exercises"


def find_exercises() -> dict[str, Exercise]:
    """``{"01": Exercise(...), ...}`` in order."""
    root = exercises_dir()
    found = {}
    for template in sorted(root.glob("[0-9][0-9]_*.py")):
        number = template.name[:2]
        found[number] = Exercise(number, template.stem[3:], template, root / "solutions" / template.name,
                                 root / "checks" / f"check_{number}.py")
    return found


def copy_template(exercise: Exercise, workspace: Path) -> tuple[Path, bool]:
    """Copy the template into ``workspace``; never over the learner's file. Returns (path, copied)."""
    target = workspace / exercise.template.name
    if target.exists():
        return target, False
    workspace.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(exercise.template, target)
    return target, True


@dataclass
class Result:
    name: str
    passed: bool
    report: str = ""      # what was expected, what came back, the hint, the lesson to re-read
    skipped: str = ""


class _Collector:
    """A pytest plugin that keeps each check's outcome and its CheckFailed report."""

    def __init__(self, show_hints: bool = False):
        self.results: list[Result] = []
        self.show_hints = show_hints

    def pytest_runtest_makereport(self, item, call):
        if call.when != "call" and not (call.excinfo and call.when == "setup"):
            return
        # test_reaches_0_91 -> "reaches 0.91"
        name = re.sub(r"(\d) (\d)", r"\1.\2", item.name.removeprefix("test_").replace("_", " "))
        if call.excinfo is None:
            self.results.append(Result(name, True))
        elif call.excinfo.typename == "Skipped":
            self.results.append(Result(name, False, skipped=str(call.excinfo.value)))
        else:
            from lowtf.practice.checking import CheckFailed

            error = call.excinfo.value
            report = error.render(self.show_hints) if isinstance(error, CheckFailed) else \
                f"your file could not be used: {call.excinfo.typename}: {str(error).strip().splitlines()[:1]}"
            self.results.append(Result(name, False, report))


def run_checks(exercise: Exercise, file: Path, include_slow: bool = True, show_hints: bool = False) -> list[Result]:
    """Run the exercise's pytest checks on ``file``; return one Result per check (worked hints only with
    ``show_hints``)."""
    import pytest

    from lowtf.practice.integrity import TAMPERED, Guard

    collector, guard = _Collector(show_hints), Guard(exercise.checks.parent)
    args = [str(exercise.checks), "--exercise-file", str(file), "-p", "no:cacheprovider",
            "--rootdir", str(exercise.checks.parent), "-o", "addopts=", "-W", "ignore::DeprecationWarning",
            "-p", "no:terminal", "--capture=no",   # the file's prints: to the checker's bounded tail
            # these two run gc.collect() five times at the end of every run: with TensorFlow and Keras
            # loaded that was half the cost of checking a template (measured 4.5 -> 2.4 CPU s for five)
            "-p", "no:unraisableexception", "-p", "no:threadexception"]
    if not include_slow:
        args += ["-m", "not slow"]
    pytest.main(args, plugins=[collector, guard])
    if guard.verify():    # the learner's file changed the checker: no result of this run counts
        said = TAMPERED.format(names=", ".join(guard.tampered[:5]))
        return [Result(r.name, False, said) for r in collector.results] or [Result("your file", False, said)]
    return collector.results


CHECK_SECONDS = {"quick": 180, "all": 600}   # for all of an exercise's checks; the slowest (06) takes ~1 min


def run_checks_in_a_process(exercise: Exercise, file: Path, include_slow: bool = True,
                            limit: float | None = None, show_hints: bool = False) -> list[Result]:
    """``run_checks`` in a child process with a time limit (``checker_process``): a learner's file that
    loops forever, or ends the process (``os._exit``, ``sys.exit``), is reported as such instead of hanging
    ``lowtf check`` or passing with nothing said; its results come back signed, on a pipe of their own."""
    from lowtf.practice import checker_process

    limit = limit or CHECK_SECONDS["all" if include_slow else "quick"]
    flags = ([] if include_slow else ["--quick"]) + (["--hint"] if show_hints else [])
    results, why_none, _ = checker_process.run(exercise.number, file, flags, limit)
    if results is None:
        return [Result("your file", False, why_none)]
    return [Result(**r) for r in results]


def report(exercise: Exercise, results: list[Result], out: Callable[[str], None] = print) -> bool:
    """Print each check in plain words; True when all passed."""
    out(f"Exercise {exercise.number}: {exercise.title}")
    for r in results:
        mark = "PASS" if r.passed else ("SKIP" if r.skipped else "FAIL")
        out(f"  {mark}  {r.name}")
        if r.report:
            out(wrapped(r.report))
    passed = bool(results) and all(r.passed for r in results)
    if passed:
        following = [n for n in find_exercises() if n > exercise.number]
        nxt = f" Next: lowtf exercise {following[0]}" if following else " That was the last exercise."
        out(f"All {_checks(len(results))} passed.{nxt}")
    else:
        out(f"{sum(r.passed for r in results)} of {_checks(len(results))} passed.")
    return passed


FEEDBACK_WIDTH = 76
LABEL = re.compile(r"^[a-z-]+: +")     # "expected: ", "re-read:  ": a report line's label


def wrapped(report: str, indent: int = 8, width: int = FEEDBACK_WIDTH) -> str:
    """A check's report as printed: each line ``indent`` columns in, filled to ``width`` at spaces (never
    inside a word: a name or a path longer than the line stays whole), continued under the text after
    its label."""
    lines = []
    for line in report.splitlines():
        label = LABEL.match(line)
        hang = " " * (indent + (label.end() if label else 2))
        lines += textwrap.wrap(line, width, initial_indent=" " * indent, subsequent_indent=hang,
                               break_long_words=False, break_on_hyphens=False) or [""]
    return "\n".join(lines)


def _checks(n: int) -> str:
    return f"{n} check" + ("" if n == 1 else "s")
