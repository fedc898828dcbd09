"""One way to run a helper process: a server to wait for, or a measurement to run to its end.

Its output goes to a temporary file, never to a pipe nobody reads (a full pipe stalls the child);
readiness is polled against a deadline, with the child's own last words in the error when it dies
or never gets ready; ``stop`` terminates it and kills it after a grace period, and a parent-death
signal kills it when its parent ends any other way (SIGKILL included), so nothing is left running.
Used for ``lowtf serve`` (lessons 21 and 26, exercise 12's check, the tests), the training
benchmark's variants and the tests' tensorboard. The cluster launcher keeps its own start: its tasks
stream their lines live, each in a process group inside a private network namespace.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import IO, Callable, Optional, Sequence


class ChildFailed(RuntimeError):
    """The child exited, or was not ready in time; the message ends with what it printed last."""


@dataclass
class Child:
    process: subprocess.Popen
    log: IO[bytes]
    started: float = field(default_factory=time.monotonic)

    def output(self, tail: int = 800) -> str:
        """The last ``tail`` characters the child printed (stdout and stderr)."""
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace").strip()[-tail:]

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``ready()`` until it is true; stop the child and raise ChildFailed if it exits or time runs out."""
        deadline = time.monotonic() + timeout
        try:
            while not ready():
                if self.process.poll() is not None or time.monotonic() > deadline:
                    exited = self.process.poll() is not None
                    self.stop()
                    said = self.output()
                    raise ChildFailed(f"{what} {'exited' if exited else f'not ready within {timeout:.0f} s'}"
                                      + (f": {said}" if said else ""))
                time.sleep(0.3)
        except BaseException:     # Ctrl-C, or SIGTERM turned into an exception, while it starts: stop it
            self.stop()
            raise

    def wait_saying(self, what: str, timeout: float = 120.0, every: float = 2.5) -> int:
        """Wait for the child to end, printing ``   ... WHAT, N s since it started`` every ``every`` seconds
        meanwhile (a learner never stares at a still screen); return its exit code. Stops it and raises
        ChildFailed after ``timeout`` seconds of waiting; Ctrl-C or SIGTERM while waiting stops it too."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    return self.process.wait(timeout=every)
                except subprocess.TimeoutExpired:
                    if time.monotonic() > deadline:
                        raise ChildFailed(f"{what}: not done within {timeout:.0f} s: {self.output()}") from None
                    print(f"   ... {what}, {time.monotonic() - self.started:.0f} s since it started", flush=True)
        except BaseException:
            self.stop()
            raise

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; waits until it is gone."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=grace)

    def __enter__(self) -> "Child":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# Run first in the child: ask the kernel to SIGKILL it when its parent ends (SIGKILL of the parent
# included), then become the command (same pid; the request survives exec). The parent's pid is
# passed in, so a parent already gone by then is seen.
DIE_WITH_PARENT = ("import ctypes, os, sys; ctypes.CDLL(None).prctl(1, 9, 0, 0, 0); "
                   "os.getppid() == int(sys.argv[1]) or os._exit(137); os.execvp(sys.argv[2], sys.argv[2:])")


def dying_with_this_process(command: Sequence[str]) -> list[str]:
    """``command``, run so that it is killed when this process ends, however it ends (Linux)."""
    if not sys.platform.startswith("linux"):
        return list(command)
    return [sys.executable, "-S", "-c", DIE_WITH_PARENT, str(os.getpid()), *command]


def start(command: Sequence[str], env: Optional[dict] = None) -> Child:
    """Start ``command`` with its stdout and stderr in a temporary file; it dies with this process
    (a parent-death signal: a lesson killed with SIGKILL leaves no server behind). Start it from the
    main thread, or one that outlives it: the signal comes when the starting thread ends."""
    log = tempfile.TemporaryFile()
    return Child(subprocess.Popen(dying_with_this_process(command), stdout=log, stderr=subprocess.STDOUT, env=env),
                 log)


def run_json(command: Sequence[str], timeout: float) -> dict:
    """Run ``command`` to its end and return the last JSON object it printed on a line of its own."""
    with start(command) as child:
        try:
            code = child.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ChildFailed(f"{command[-3:]} did not finish within {timeout:.0f} s: {child.output()}") from None
        if code != 0:
            raise ChildFailed(f"{command[-3:]} exited with status {code}: {child.output()}")
        for line in reversed(child.output(tail=10 ** 6).splitlines()):
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except json.JSONDecodeError:
                    pass
        raise ChildFailed(f"{command[-3:]} ended without a JSON line: {child.output()}")
