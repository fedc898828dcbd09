"""Run a whole local MNIST job (1 ps + N workers) and collect what each worker reported."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from lowtf.distributed import launcher


def run_mnist_job(logdir: Path, workers: int, steps: int, extra: Sequence[str] = (),
                  kill_worker_after: Optional[str] = None, timeout: float = 300) -> tuple[dict, float]:
    """Start the cluster, optionally SIGKILL worker 1 once its output contains
    ``kill_worker_after``, wait for the workers, stop everything; return
    ``({worker index: RESULT dict}, wall seconds)``."""
    out = launcher.Collector()
    command = [sys.executable, "-m", "lowtf.distributed.mnist_task", "--logdir", str(logdir),
               "--steps", str(steps), *extra]
    tasks = launcher.start(launcher.local_cluster(ps=1, workers=workers), command, out=out)
    started = time.perf_counter()
    try:
        if kill_worker_after:
            if not out.wait_for(kill_worker_after, timeout=timeout):
                raise RuntimeError(f"never saw {kill_worker_after!r} in the workers' output")
            launcher.kill(next(t for t in tasks if t.name == "worker1"))
        for t in tasks:
            if t.job == "worker" and t.process.poll() is None:
                t.process.wait(timeout=timeout)
    finally:
        launcher.stop(tasks)
    return out.results(), time.perf_counter() - started
