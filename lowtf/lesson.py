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

Command line: ``--step`` shows each step's explanation and code, runs it, prints what it
made and waits for Enter (``q`` quits); ``--fast`` shrinks the work (for tests);
``--logdir`` chooses where TensorBoard events go (default ``runs/NN_name/``). At the end
the key numbers recorded with ``ctx.record`` are printed and written to
``LOGDIR/summary.json``; ``seconds`` there is computing time, not reading time.

Importing this module loads TensorFlow quietly (``lowtf.console``), so a lesson's first
line, ``from lowtf.lesson import Lesson``, comes before its ``import tensorflow``.
"""
from __future__ import annotations

import argparse
import ast
import inspect
import json
import math
import shutil
import signal
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lowtf import console
from lowtf.data.idx import IdxError
from lowtf.data.store import DataError
from lowtf.folders import FolderError, make_folder
from lowtf.distributed.cluster import ClusterError
from lowtf.distributed.sandbox import ExposedServerError, enter_private_network

console.load_tensorflow()

INTERRUPTED_EXIT = 130   # what a shell reports for a program stopped by Ctrl-C


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

    def verdict(self, verdict) -> str:
        """Record a comparison with its noise (a ``lowtf.verdicts.Verdict``) under ``verdicts``; return its words."""
        self.summary.setdefault("verdicts", []).append(verdict.as_dict())
        return verdict.verdict


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


class QuitLesson(Exception):
    """Raised when the learner types q at a --step prompt."""


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: stop like Ctrl-C, running every cleanup on the way out."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def stop_on_termination() -> None:
    """Make SIGTERM and SIGHUP (a closed terminal) raise Terminated, so cleanups run as on Ctrl-C."""
    def terminate(signum, frame):
        raise Terminated(signum)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, terminate)


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
    return text if len(text) < 2000 else text[:2000] + " ..."


def _discard_typed_ahead() -> None:
    """Drop what was typed at the terminal while a step computed (nothing, when stdin is not a terminal)."""
    try:
        import termios

        if sys.stdin.isatty():
            termios.tcflush(sys.stdin, termios.TCIFLUSH)
    except (ImportError, OSError, ValueError):
        pass


def _shown(key: str, value: Any, width: int) -> str:
    """``   key: value``, indented, in lines of at most ``width`` characters where the value allows."""
    first = f"   {key}: "
    text = show(value, width - len(first))
    if "\n" in text and len(first) > width // 3:   # a long key: the value below it
        return first.rstrip() + "\n" + textwrap.indent(show(value, width - 6), "      ")
    return first + text.replace("\n", "\n" + " " * len(first))


def _layout(value: Any, width: int) -> list[str]:
    """``_format(value)`` as lines of at most ``width`` characters where the value allows."""
    one = _format(value)
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


def _reflow(text: str, width: int) -> str:
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


def _json_safe(value: Any) -> Any:
    """NaN and infinities become null: summary.json stays valid JSON."""
    value = plain(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None or isinstance(value, float):
        return value
    return str(value)


def require_eager(number: str) -> None:
    """The Keras lessons (22-26, and 27's last step) run in TensorFlow 2's default eager mode, each in a process of its own:
    raise a clear error when one is started where graph mode is already on."""
    import tensorflow as tf

    if not tf.executing_eagerly():
        raise RuntimeError(f"lessons 22-27 use Keras, which runs eagerly: run this lesson in its own process "
                           f"(lowtf lesson {number}), not after a graph-mode lesson")


def read_summary(logdir: str | Path) -> dict:
    """The key numbers a lesson run wrote to ``LOGDIR/summary.json``."""
    return json.loads((Path(logdir) / "summary.json").read_text())


class Lesson:
    """A numbered lesson: an ordered list of steps and a runner for them."""

    def __init__(self, number: str, name: str, private_network: bool = False):
        self.number = number
        self.name = name
        # True for a lesson that starts TensorFlow servers in its own process (14): main() runs it
        # in a private network namespace, since those servers answer anyone who can reach them.
        self.private_network = private_network
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
            out: Callable[[str], None] = print, ask: Callable[[str], str] = input, resume: bool = False) -> dict:
        """Run every step in order on a fresh default graph; return the recorded summary.

        The summary holds ``seconds`` (time spent inside the steps) and, if the run did not
        finish, ``interrupted`` and ``stopped_at_step``; Ctrl-C and SIGTERM are re-raised
        after the cleanups have run and summary.json is written.
        """
        import tensorflow.compat.v1 as tf

        ctx = LessonContext(fast=fast, logdir=Path(logdir or Path("runs") / self.slug), resume=resume)
        _make_logdir(ctx.logdir)
        for leftover in remove_abandoned_checkpoint_writes(ctx.logdir):
            out(f"(Removed {leftover.name}, a checkpoint write left by a killed run.)")
        width = shutil.get_terminal_size().columns - 1
        if not resume:
            moved = _move_previous_run(ctx.logdir)
            if moved:
                out(textwrap.fill(f"(The previous run in {ctx.logdir} is now in {moved}, so TensorBoard does not mix "
                                  "the two; --resume would have continued it.)", width))
        tf.reset_default_graph()  # each lesson starts from an empty graph
        out(f"Lesson {self.number}: {self.name}" + ("  [fast]" if fast else ""))
        computing = 0.0
        stop: BaseException | None = None
        i = 0
        try:
            for i, step in enumerate(self.steps, 1):
                out("\n" + textwrap.fill(f"== Step {i}/{len(self.steps)}: {step.title}", width, subsequent_indent="   "))
                if interactive:
                    if step.explanation:
                        out(textwrap.indent(_reflow(step.explanation, width - 3), "   "))
                    if step.code:
                        out("\n" + textwrap.indent(step.code, "   | ") + "\n")
                started = time.perf_counter()
                try:
                    produced = step.fn(ctx)
                finally:
                    computing += time.perf_counter() - started
                for key, value in (produced or {}).items():
                    out(_shown(key, value, width))
                if interactive and i < len(self.steps):
                    _discard_typed_ahead()   # an Enter pressed while the step ran is not an answer
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
        (ctx.logdir / "summary.json").write_text(json.dumps(_json_safe(ctx.summary), indent=2))
        out("\nKey numbers:")
        for key, value in ctx.summary.items():
            out(_shown(key, value, width))
        if stop is not None:
            raise stop
        return ctx.summary

    def main(self, argv: list[str] | None = None) -> int:
        """Parse ``--step / --fast / --logdir`` and run; 130 when interrupted (as a shell reports Ctrl-C)."""
        parser = argparse.ArgumentParser(description=f"Lesson {self.number}: {self.name}")
        parser.add_argument("--step", action="store_true", help="show each step's explanation and code, pause")
        parser.add_argument("--fast", action="store_true", help="shrink the work (used by the tests)")
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
            self.run(fast=args.fast, logdir=args.logdir, interactive=args.step, resume=args.resume)
        except KeyboardInterrupt:
            return INTERRUPTED_EXIT
        except Terminated as e:
            return 128 + e.signum
        except (LogdirError, DataError, ExposedServerError, ClusterError, IdxError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return 0


def _written_by_a_run(entry: Path) -> bool:
    """Whether ``entry`` (in a logdir) is what a lesson run writes: summary.json, TensorBoard events (here or
    in a run folder such as train/), or a Saver's checkpoint index. A user's own train/ folder is not."""
    if entry.name == "summary.json" or entry.name.startswith("events.out.tfevents"):
        return True
    if entry.is_dir():
        return (entry / "checkpoint").is_file() or any(entry.glob("events.out.tfevents*"))
    return False


def remove_abandoned_checkpoint_writes(logdir: Path) -> list[Path]:
    """Delete what a Saver leaves when killed mid-save in ``logdir/checkpoints`` (``*.tempstate*`` files,
    ``*_temp`` folders; tens of MB for LeNet-5); return what was removed."""
    leftovers = [p for p in (logdir / "checkpoints").glob("*") if "tempstate" in p.name or p.name.endswith("_temp")]
    for leftover in leftovers:
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    return leftovers


def _move_previous_run(logdir: Path) -> Path | None:
    """Move an earlier lesson run out of ``logdir`` (to ``logdir.1``, ``.2``, ...); return where, or None.

    A folder holding anything else is refused: the runner never moves or deletes what it did not write."""
    entries = [p for p in logdir.iterdir()]
    if not entries:
        return None
    ours = any(_written_by_a_run(p) for p in entries)
    if not ours:
        raise LogdirError(f"--logdir {logdir} is not empty and holds no earlier lesson run; "
                          "give an empty or new folder")
    n = 1
    while logdir.with_name(f"{logdir.name}.{n}").exists():
        n += 1
    target = logdir.with_name(f"{logdir.name}.{n}")
    logdir.rename(target)
    logdir.mkdir()
    return target


class LogdirError(FolderError):
    """The logdir cannot be used: it names a file, or it cannot be created or written."""


def _make_logdir(logdir: Path) -> None:
    make_folder(logdir, "--logdir", LogdirError)
