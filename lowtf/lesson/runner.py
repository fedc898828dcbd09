"""The lesson runner: a lesson's steps in order, shown and explained in ``--step`` mode, its key
numbers written to ``LOGDIR/summary.json``. See ``lowtf.lesson`` for the shape of a lesson."""
from __future__ import annotations

import argparse
import ast
import inspect
import json
import shutil
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from lowtf.distributed.sandbox import enter_private_network
from lowtf.errors import CourseError
from lowtf.host import this_host
from lowtf.lesson.logdir import make_logdir, move_previous_run, remove_abandoned_checkpoint_writes
from lowtf.lesson.findings import findings
from lowtf.lesson.presentation import fill, json_safe, reflow, shown, source
from lowtf.lesson.signals import INTERRUPTED_EXIT, Terminated, discard_typed_ahead, stop_on_termination


class WrongModeError(CourseError, RuntimeError):
    """A Keras lesson started where graph mode is already on (after a graph-mode lesson, in one process)."""


@dataclass
class LessonContext:
    """What the steps of one run share: the mode, the logdir, and the recorded key numbers."""

    fast: bool
    logdir: Path
    resume: bool = False      # continue the interrupted run in logdir (lessons that checkpoint: 10)
    summary: dict = field(default_factory=dict)
    cleanups: list = field(default_factory=list)

    @property
    def mode(self) -> str:
        """"fast" or "full": the key of a lesson's knobs, e.g. STEPS = {"fast": 300, "full": 3000}."""
        return "fast" if self.fast else "full"

    def on_exit(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` when the lesson ends, however it ends (stop a server it started, say)."""
        self.cleanups.append(fn)

    def record(self, **numbers: Any) -> None:
        """Record key numbers for the end-of-lesson summary (and summary.json)."""
        self.summary.update(numbers)

    def tensorboard(self, logdir: Path | None = None) -> str:
        """The command that shows this run in TensorBoard (the venv's own tensorboard, this logdir, loopback
        only) and the address that opens its scalars unsmoothed: TensorBoard's default smoothing (0.6)
        drags a curve of a few dozen points several points below the values the lesson printed."""
        program = Path(sys.executable).parent / "tensorboard"
        try:
            program = program.relative_to(Path.cwd())
        except ValueError:
            pass
        return (f"{program} --logdir {logdir or self.logdir} --host 127.0.0.1\n"
                "then open http://127.0.0.1:6006/#scalars&_smoothingWeight=0")

    def verdict(self, verdict, expects: str = "whichever") -> str:
        """Declare a claim: a comparison with its noise (a ``lowtf.verdicts.Verdict``), and the reading the
        lesson's text expects: the name of the one ahead, ``verdicts.NO_DIFFERENCE``, "a difference", or
        "whichever" (the default: the lesson reads what comes). Recorded under ``verdicts`` in summary.json,
        where the claims test checks it against its numbers; returns its words with the noise it used."""
        from lowtf.verdicts import A_DIFFERENCE, NO_DIFFERENCE, WHICHEVER

        names = tuple(getattr(verdict, "names", ()))
        if expects not in (WHICHEVER, NO_DIFFERENCE, A_DIFFERENCE, *names):
            raise ValueError(f"expects={expects!r}: one of the names compared {names}, {NO_DIFFERENCE!r}, "
                             f"{A_DIFFERENCE!r} or {WHICHEVER!r}")
        verdict.expects = expects
        self.summary.setdefault("verdicts", []).append(verdict.as_dict())
        return getattr(verdict, "said", verdict.verdict)


@dataclass
class Step:
    title: str
    fn: Callable[[LessonContext], Any]

    @property
    def explanation(self) -> str:
        return textwrap.dedent(inspect.getdoc(self.fn) or "").strip()

    @property
    def code(self) -> str:
        """The step's body as written in the lesson file, without its def line and docstring."""
        source = textwrap.dedent(inspect.getsource(self.fn))
        body = ast.parse(source).body[0].body
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]
        if not body:
            return ""
        lines = source.splitlines()[body[0].lineno - 1:]
        return textwrap.dedent("\n".join(lines)).strip("\n")


def helpers_called(fn: Callable, skip: set) -> list:
    """The functions and classes of the lesson's own file that ``fn`` calls by name (and that those call),
    in the order first called, except those in ``skip``: what a step runs that its body does not show."""
    found: list = []

    def visit(f: Callable) -> None:
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(f)))
        except (OSError, TypeError, SyntaxError):
            return
        # every name the code reads (called, or passed on as dataset.map(load_png) passes it), except
        # those whose source the step prints itself (source(f), inspect.getsource(f))
        printed = {a.id for n in ast.walk(tree) if isinstance(n, ast.Call)
                   and getattr(n.func, "id", getattr(n.func, "attr", "")) in ("source", "getsource")
                   for a in ast.walk(n) if isinstance(a, ast.Name)}
        names = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                 and n.id not in printed]
        for name in dict.fromkeys(names):
            obj = f.__globals__.get(name) if hasattr(f, "__globals__") else None
            if (obj is not None and (inspect.isfunction(obj) or inspect.isclass(obj))
                    and getattr(obj, "__module__", None) == fn.__module__ and obj not in skip and obj not in found):
                found.append(obj)
                if inspect.isfunction(obj):
                    visit(obj)
    visit(fn)
    return found


class QuitLesson(Exception):
    """Raised when the learner types q at a --step prompt."""


def read_summary(logdir: str | Path) -> dict:
    """The key numbers a lesson run wrote to ``LOGDIR/summary.json``."""
    return json.loads((Path(logdir) / "summary.json").read_text())


class Lesson:
    """A numbered lesson: an ordered list of steps and a runner for them."""

    def __init__(self, number: str, name: str, private_network: bool = False, keras: bool = False):
        self.number = number
        self.name = name
        # True for a lesson that starts TensorFlow servers in its own process (14): main() runs it
        # in a private network namespace, since those servers answer anyone who can reach them.
        self.private_network = private_network
        # True for a lesson that uses Keras 3 (22-25, 27): Keras runs eagerly, so the lesson needs a
        # process where graph mode was never switched on; the runner checks before step 1.
        self.keras = keras
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
            out: Callable[[str], None] = print, ask: Callable[[str], str] = input, resume: bool = False,
            quiet: bool = False) -> dict:
        """Run every step in order on a fresh default graph; return the recorded summary. Each step's
        explanation is shown before it runs (``quiet``: titles and numbers only); ``interactive`` shows
        its code too, and waits for Enter after it.

        The summary holds ``seconds`` (time spent inside the steps) and, if the run did not
        finish, ``interrupted`` and ``stopped_at_step``; Ctrl-C and SIGTERM are re-raised
        after the cleanups have run and summary.json is written.
        """
        import tensorflow.compat.v1 as tf

        if self.keras and not tf.executing_eagerly():
            raise WrongModeError(f"lesson {self.number} uses Keras, which runs eagerly: run it in a process of "
                                 f"its own (lowtf lesson {self.number}), not after a graph-mode lesson")
        ctx = LessonContext(fast=fast, logdir=Path(logdir or Path("runs") / self.slug), resume=resume)
        make_logdir(ctx.logdir)
        for leftover in remove_abandoned_checkpoint_writes(ctx.logdir):
            out(f"(Removed {leftover.name}, a checkpoint write left by a killed run.)")
        width = shutil.get_terminal_size().columns - 1
        if not resume:
            moved = move_previous_run(ctx.logdir)
            if moved:
                out(f"(The previous run in\n   {ctx.logdir}\nis now in\n   {moved}\n"
                    "so TensorBoard does not mix the two; --resume would have continued it.)")
        tf.reset_default_graph()  # each lesson starts from an empty graph
        out(f"Lesson {self.number}: {self.name}" + ("  [fast]" if fast else ""))
        out(this_host().line())     # what the timings below depend on (lowtf.host)
        computing = 0.0
        shown_helpers = {step.fn for step in self.steps}     # steps are shown as steps
        self._said_continued = False
        stop: BaseException | None = None
        i = 0
        try:
            for i, step in enumerate(self.steps, 1):
                out("\n" + fill(f"== Step {i}/{len(self.steps)}: {step.title}", width, subsequent_indent="   "))
                if step.explanation and not quiet:
                    out(textwrap.indent(reflow(step.explanation, width - 3), "   ") + ("" if interactive else "\n"))
                if interactive:
                    for helper in helpers_called(step.fn, shown_helpers):   # the first time a step calls it
                        shown_helpers.add(helper)
                        out(f"\n   ({helper.__name__}, which this step calls, is defined above the steps:)")
                        out(self._code(source(helper), width))
                    if step.code:
                        out("\n" + self._code(step.code, width) + "\n")
                started = time.perf_counter()
                try:
                    produced = step.fn(ctx)
                finally:
                    computing += time.perf_counter() - started
                for key, value in (produced or {}).items():
                    out(shown(key, value, width))
                if interactive and i < len(self.steps):
                    discard_typed_ahead()   # an Enter pressed while the step ran is not an answer
                    try:
                        answer = ask("   [Enter: next step, q: quit] ")
                    except EOFError:
                        answer = ""
                    if answer.strip().lower() == "q":
                        raise QuitLesson
        except QuitLesson:
            out("\nStopped at your request.")
            ctx.record(stopped_at_step=i)
        except (KeyboardInterrupt, Terminated) as e:
            stop = e
            why = "Ctrl-C" if isinstance(e, KeyboardInterrupt) else str(e)
            out(f"\nInterrupted ({why}) during step {i}: the steps after it did not run, "
                "and the numbers below are from an unfinished lesson.")
            ctx.record(interrupted=True, stopped_at_step=i)
        finally:
            for fn in reversed(ctx.cleanups):
                fn()
            tf.reset_default_graph()
        ctx.record(seconds=round(computing, 2))
        (ctx.logdir / "summary.json").write_text(json.dumps(json_safe(ctx.summary), indent=2))
        out("\n" + findings(ctx.summary, ctx.logdir, width))
        if stop is not None:
            raise stop
        return ctx.summary

    def _code(self, code: str, width: int) -> str:
        """``_gutter(code, width)``, saying the first time a line had to be continued what the mark means."""
        shown = _gutter(code, width)
        if CONTINUED in shown and not self._said_continued:
            self._said_continued = True
            note = f"(a line too long for this terminal goes on under {CONTINUED.strip()}; the file has it on one line)"
            shown = textwrap.fill(note, width, initial_indent="   ", subsequent_indent="   ") + "\n" + shown
        return shown

    def main(self, argv: list[str] | None = None) -> int:
        """Parse ``--step / --fast / --logdir`` and run; 130 when interrupted (as a shell reports Ctrl-C)."""
        parser = argparse.ArgumentParser(description=f"Lesson {self.number}: {self.name}")
        parser.add_argument("--step", action="store_true", help="show each step's explanation and code, pause")
        parser.add_argument("--fast", action="store_true", help="shrink the work (used by the tests)")
        parser.add_argument("--quiet", action="store_true", help="numbers only: no explanations")
        parser.add_argument("--logdir", default=None, help=f"where events go (default runs/{self.slug})")
        parser.add_argument("--resume", action="store_true",
                            help="continue the interrupted run in the logdir from its last checkpoint "
                                 "(lessons that checkpoint; otherwise a previous run is moved aside)")
        if self.private_network:
            parser.add_argument("--expose-tf-server", action="store_true",
                                help="where no private network namespace can be made: run anyway, with "
                                     "TensorFlow servers that any machine on your network can use")
        args = parser.parse_args(argv)
        if self.private_network:
            enter_private_network(expose=args.expose_tf_server)

        stop_on_termination()
        try:
            self.run(fast=args.fast, logdir=args.logdir, interactive=args.step, resume=args.resume,
                     quiet=args.quiet and not args.step)
        except KeyboardInterrupt:
            return INTERRUPTED_EXIT
        except Terminated as e:
            return 128 + e.signum
        except CourseError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return 0


GUTTER, CONTINUED = "  | ", "  \u2506 "      # a code line, and the rest of one too long for the terminal


def _gutter(code: str, width: int = 10 ** 6) -> str:
    """Code as the runner shows it: each line behind "  | ", blank lines too (one block, not several). A line
    longer than ``width`` goes on under "  \u2506 ", indented past its start as Python continues a line; the
    file keeps the line whole."""
    room = max(20, width - len(GUTTER))
    shown = []
    for line in code.splitlines():
        line = line.rstrip()
        first, rest = _split(line, room)
        shown.append(GUTTER + first)
        indent = " " * min(len(line) - len(line.lstrip()) + 4, room // 2)   # room is left for the rest
        while rest:
            piece, rest = _split(indent + rest, room)
            shown.append(CONTINUED + piece)
    return "\n".join(line.rstrip() for line in shown)


def _split(line: str, room: int) -> tuple[str, str]:
    """``line`` cut to at most ``room`` characters, after a comma or at a space where there is one: (head, rest)."""
    if len(line) <= room:
        return line, ""
    start = len(line) - len(line.lstrip())
    cut = max(line.rfind(" ", start + 1, room), line.rfind(",", start, room - 1) + 1)
    if cut <= start:     # no space or comma: after an opening bracket or before a dot, never inside a name
        cut = max(max(line.rfind(c, start, room - 1) for c in "([{") + 1, line.rfind(".", start + 1, room))
    if cut <= start:
        cut = room                                   # nowhere to break: cut where the room ends
    return line[:cut].rstrip(), line[cut:].lstrip()