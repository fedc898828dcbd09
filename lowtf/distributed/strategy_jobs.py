"""Run a TensorFlow 2 strategy job (lessons 36 and 37) as local processes and collect what they report.

``run_job`` starts one process per task of ``cluster`` with the launcher (each with its TF_CONFIG,
all in a private network namespace), waits for the tasks that end by themselves, stops the rest
(parameter servers and idle workers serve until killed), and returns every task's ``RESULT`` and its
exit status. ``kill_after`` SIGKILLs one task once the output holds a given line, as a machine failure
would (the text may come from another task: the chief saying which step is done, say);
``restart_after_kill`` starts it again (a scheduler restarting a lost pod).
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

from lowtf.distributed import launcher
from lowtf.distributed.cluster import ClusterError
from lowtf.distributed.jobs import ProgressEcho


@dataclass
class JobRun:
    results: dict                       # task name ("worker0", "chief0") -> its RESULT dict
    exit_codes: dict                    # task name -> exit status (None: stopped by the launcher)
    lines: list = field(default_factory=list)
    seconds: float = 0.0
    killed: Optional[str] = None        # the task killed, if any

    def errors(self) -> list[str]:
        return [line for line in self.lines if "error:" in line]


def _results(lines: Sequence[str]) -> dict:
    found = {}
    for line in lines:
        if line.startswith("[") and "] RESULT {" in line:
            name, _, payload = line[1:].partition("] RESULT ")
            found[name] = json.loads(payload)
    return found


def run_job(cluster: dict, command: Sequence[str], finishers: Sequence[str], timeout: float = 120,
            kill_after: Optional[tuple[str, str]] = None, restart_after_kill: bool = False,
            show_progress: bool = True) -> JobRun:
    """Run ``command`` as every task of ``cluster`` until the tasks named in ``finishers`` (e.g.
    ``["worker0", "worker1"]``, or ``["chief0"]``) have exited; then stop the rest.

    ``kill_after=(task, text)``: SIGKILL ``task`` once a line of any task's output contains ``text``."""
    out = ProgressEcho() if show_progress else launcher.Collector()
    tasks = launcher.start(cluster, list(command), out=out)
    by_name = {t.name: t for t in tasks}
    unknown = [n for n in finishers if n not in by_name]
    if unknown:
        launcher.stop(tasks)
        raise ClusterError(f"no task named {unknown} in the cluster (tasks: {sorted(by_name)})")
    started, killed = time.perf_counter(), None
    deadline = time.monotonic() + timeout
    try:
        if kill_after:
            name, text = kill_after
            victim = by_name[name]
            while not out.wait_for(text, timeout=0.5):
                ended = victim.process.poll() is not None or any(
                    by_name[n].process.poll() is not None for n in finishers)
                if ended or time.monotonic() > deadline:
                    raise ClusterError(f"no task printed {text!r} while {name} ran: give the job more steps")
            launcher.kill(victim)
            victim.process.wait(timeout=10)
            killed = name
            if show_progress:
                print(f"   killed {name} (pid {victim.process.pid}) with SIGKILL, as a machine failure would",
                      flush=True)
            if restart_after_kill:
                by_name[name] = launcher.restart(victim, out)
                tasks[tasks.index(victim)] = by_name[name]
                if show_progress:
                    print(f"   started {name} again, as a scheduler restarts a lost task", flush=True)
        for name in finishers:
            if name == killed and not restart_after_kill:
                continue
            by_name[name].process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        codes = {t.name: t.process.poll() for t in tasks if t.job != "netns"}
        launcher.stop(tasks)
        if isinstance(out, ProgressEcho):
            out.close()
    return JobRun(_results(out.lines), codes, list(out.lines), time.perf_counter() - started, killed)


def python_task(module: str, *args: str) -> list[str]:
    """The command that runs ``python -m module args...`` with this interpreter."""
    return [sys.executable, "-m", module, *args]
