"""Run local MNIST jobs (1 ps + N workers, one after another on the same tasks) and collect what each worker
reported."""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Optional, Sequence

from lowtf.distributed import launcher
from lowtf.distributed.cluster import ClusterError


class ProgressEcho(launcher.Collector):
    """A Collector that also shows the tasks' progress lines as they come (ps ready, steps, notes, errors),
    and says it is waiting when the tasks have been quiet for ``QUIET_SECONDS`` (three processes loading
    TensorFlow at once on two cores take ~3.5 s, longer than a learner should stare at a still screen)."""

    SHOWN = ("loading TensorFlow", "serving", "local steps", "note:", "error:", "exited with code",
             "starting at step", " weights ", "saved step", "scheduled ", " done")   # the last five: lessons 36, 37
    QUIET_SECONDS = 2.5

    def __init__(self):
        super().__init__()
        self._shown_at = time.monotonic()
        self._done = threading.Event()
        threading.Thread(target=self._say_still_waiting, daemon=True).start()

    def _say_still_waiting(self) -> None:
        while not self._done.wait(0.25):
            if time.monotonic() - self._shown_at > self.QUIET_SECONDS:
                self._show("... waiting for the tasks")

    def _show(self, line: str) -> None:
        print(f"   {line}", flush=True)
        self._shown_at = time.monotonic()

    def write(self, text: str) -> None:
        super().write(text)
        for line in text.splitlines():
            if any(mark in line for mark in self.SHOWN):
                self._show(line.strip())

    def close(self) -> None:
        self._done.set()


def phase_results(lines: Sequence[str]) -> dict:
    """{job name: {worker index: the RESULT json it printed for that job}} from the tasks' output."""
    found: dict = {}
    for line in lines:
        if "RESULT {" in line:
            result = json.loads(line.split("RESULT ", 1)[1])
            found.setdefault(result.get("phase", ""), {})[result["worker"]] = result
    return found


def run_mnist_job(logdir: Path, workers: int, steps: int, phases: Sequence[str], extra: Sequence[str] = (),
                  kill_worker_after: Optional[str] = None, timeout: float = 300,
                  show_progress: bool = True) -> tuple[dict, float]:
    """Start the cluster (1 ps + ``workers``), run the jobs ``phases`` (mnist_task's
    ``--phase NAME:WORKERS[:sync][:delay=S]``) one after another on it, optionally SIGKILL
    worker 1 once its output contains ``kill_worker_after``, wait for the workers, stop
    everything; return ``({job name: {worker index: RESULT dict}}, wall seconds)``. With
    ``show_progress`` the tasks' progress lines are printed as they come."""
    out = ProgressEcho() if show_progress else launcher.Collector()
    command = [sys.executable, "-m", "lowtf.distributed.mnist_task", "--logdir", str(logdir),
               "--steps", str(steps), *[f"--phase={phase}" for phase in phases], *extra]
    if show_progress:
        print(f"   starting 1 ps + {workers} worker{'s' * (workers > 1)}, each a process that loads TensorFlow,\n"
              f"   for {len(phases)} job{'s' * (len(phases) > 1)} in turn: {', '.join(p.split(':')[0] for p in phases)}",
              flush=True)
    tasks = launcher.start(launcher.local_cluster(ps=1, workers=workers), command, out=out)
    started = time.perf_counter()
    try:
        if kill_worker_after:
            victim = next(t for t in tasks if t.name == "worker1")
            deadline = time.monotonic() + timeout
            while not out.wait_for(kill_worker_after, timeout=0.5):
                if victim.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker 1 never printed {kill_worker_after!r} (it ended or the wait timed "
                                       "out): give the job more steps")
            pid = victim.process.pid
            launcher.kill(victim)
            if show_progress:
                print(f"   killed worker 1 (pid {pid}, exit status {victim.process.returncode}) with SIGKILL,\n"
                      f"   as a machine failure would, once it printed\n   {kill_worker_after!r}", flush=True)
        for t in tasks:
            if t.job == "worker" and t.process.poll() is None:
                t.process.wait(timeout=timeout)
    finally:
        launcher.stop(tasks)
        if isinstance(out, ProgressEcho):
            out.close()
    results = phase_results(out.lines)
    missing = [p.split(":")[0] for p in phases if 0 not in results.get(p.split(":")[0], {})]
    if missing:   # the chief always reports; without it there is nothing to show
        errors = [line for line in out.lines if "error" in line.lower()][-3:]
        raise ClusterError(f"the chief (worker 0) reported no result for {missing}"
                           + (": " + " / ".join(errors) if errors else ""))
    return results, time.perf_counter() - started
