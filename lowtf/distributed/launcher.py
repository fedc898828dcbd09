"""``lowtf cluster local``: every task of a cluster as its own OS process on 127.0.0.1.

Each task gets ``TF_CONFIG`` for its role and a free port; its output is streamed with a
``[worker1]`` prefix. The tasks share a private network namespace (``sandbox``), because
tf.train.Server listens on every interface: only they can reach each other. The launcher
owns its processes: when every worker has exited, or one fails, or on Ctrl-C / SIGTERM /
SIGHUP, it stops all of them (ps tasks never exit by themselves: they serve until killed),
and each task has a parent-death signal, so even a SIGKILLed launcher leaves no task behind.
The tasks also share a PID namespace whose pid 1 is the namespace holder, stopped last: what a
task started under ``timeout`` or ``setsid`` (out of its process group) ends with the cluster.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

from lowtf.distributed import sandbox
from lowtf.distributed.cluster import ClusterError, tf_config, validate
from lowtf.ports import free_ports, port_is_free


class PortInUse(ClusterError):
    pass


def check_free(port: int) -> None:
    if not port_is_free(port):
        raise PortInUse(f"port {port} is already in use by another program; "
                        "pick other --ports or leave them out to get free ones")


def local_cluster(ps: int, workers: int, ports: Optional[Sequence[int]] = None) -> dict:
    """{"ps": [...], "worker": [...]} on 127.0.0.1, with the given ports or free ones."""
    n = ps + workers
    if ports:
        if len(ports) != n:
            raise ClusterError(f"--ports needs {n} ports ({ps} ps + {workers} workers), got {len(ports)}")
        for p in ports:
            check_free(p)
    ports = list(ports) if ports else free_ports(n)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports[ps:]]}
    if ps:
        cluster = {"ps": [f"127.0.0.1:{p}" for p in ports[:ps]], **cluster}
    validate(cluster, "worker", 0)
    return cluster


@dataclass
class Task:
    job: str
    index: int
    process: subprocess.Popen
    command: list = field(default_factory=list)
    env: dict = field(default_factory=dict)
    pump: threading.Thread = field(default=None)

    @property
    def name(self) -> str:
        return f"{self.job}{self.index}"


def _pump(task: Task, out) -> None:
    for line in task.process.stdout:
        out.write(f"[{task.name}] {line}")
        out.flush()


def _spawn(task: Task, out) -> Task:
    task.process = subprocess.Popen(task.command, env=task.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, start_new_session=True)
    task.pump = threading.Thread(target=_pump, args=(task, out), daemon=True)
    task.pump.start()
    return task


# Per-task arguments: these words in the command are replaced for each task, so a TF 1.x script that
# takes its role from flags (TensorFlow's mnist_replica.py) runs unedited; --tf1-flags adds all four.
TASK_FIELDS = ("job_name", "task_index", "ps_hosts", "worker_hosts")
TF1_FLAGS = [f"--{name}={{{name}}}" for name in TASK_FIELDS]


def task_command(command: Sequence[str], cluster: dict, job: str, index: int) -> list[str]:
    """``command`` with {job_name} {task_index} {ps_hosts} {worker_hosts} filled in for one task."""
    values = {"job_name": job, "task_index": str(index), "ps_hosts": ",".join(cluster.get("ps", [])),
              "worker_hosts": ",".join(cluster.get("worker", []))}
    filled = []
    for word in command:
        for name, value in values.items():
            word = word.replace("{" + name + "}", value)
        filled.append(word)
    return filled


ISOLATED = "[launcher] the tasks share a private network namespace: they reach each other on 127.0.0.1, " \
           "and nothing else reaches them\n"


def start(cluster: dict, command: Sequence[str], env: Optional[dict] = None, out=sys.stdout,
          expose: bool = False) -> list[Task]:
    """Start one process per task, each in its own process group, with its TF_CONFIG.

    The tasks run in a private network namespace; the namespace's holder process comes first in
    the returned list, as job "netns". Where no namespace can be made, raise ClusterError, unless
    ``expose`` (the user's --expose-tf-servers) accepts servers that other machines can reach."""
    tasks, holder_pid = [], 0
    try:
        holder = sandbox.start_holder()
        tasks.append(Task("netns", 0, holder, pump=threading.Thread(target=holder.stdout.read, daemon=True)))
        tasks[0].pump.start()
        holder_pid = holder.pid
        out.write(ISOLATED)
    except sandbox.IsolationUnavailable as e:
        if not expose:
            raise ClusterError(f"{sandbox.RISK}, so lowtf runs a cluster in a private network namespace, and this "
                               f"system cannot make one ({e}). To run it anyway, reachable from your network "
                               "while it runs, add --expose-tf-servers") from None
        out.write(f"[launcher] warning: no private network ({e}); {sandbox.RISK}, and you asked for it "
                  "(--expose-tf-servers): other machines can reach these tasks while they run\n")
    for job, addresses in cluster.items():
        for index in range(len(addresses)):
            task_env = {**os.environ, **(env or {}), "TF_CONFIG": tf_config(cluster, job, index),
                        "PYTHONUNBUFFERED": "1", "LOWTF_TASK_NAME": f"{job} {index}"}
            tasks.append(_spawn(Task(job, index, None, sandbox.wrap(task_command(command, cluster, job, index), holder_pid),
                                         task_env), out))
    return tasks


def kill(task: Task) -> None:
    """SIGKILL one task's process group and every process it started, as a machine failure would."""
    for pid in [task.process.pid, *descendants(task.process.pid)]:
        try:
            os.killpg(pid, signal.SIGKILL) if pid == task.process.pid else os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    task.process.wait(timeout=10)
    task.pump.join(timeout=5)


def descendants(pid: int) -> list[int]:
    """The processes under ``pid`` (children, theirs, ...), from /proc, whatever group they moved to."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        under = children.get(todo.pop(), [])
        found += under
        todo += under
    return found


def restart(task: Task, out=sys.stdout) -> Task:
    """Start a task again with the same command and TF_CONFIG (same address)."""
    if task.process.poll() is None:
        raise RuntimeError(f"{task.name} is still running")
    return _spawn(task, out)


class Collector:
    """A thread-safe ``out`` for start()/run() that keeps the lines for reading back."""

    def __init__(self):
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        with self._lock:
            self.lines.extend(text.splitlines())

    def flush(self) -> None:
        pass

    def results(self) -> dict:
        """{worker index: the RESULT json it printed}."""
        import json

        with self._lock:
            found = [json.loads(line.split("RESULT ", 1)[1]) for line in self.lines if "RESULT {" in line]
        return {r["worker"]: r for r in found}

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if any(text in line for line in self.lines):
                    return True
            time.sleep(0.1)
        return False


def stop(tasks: Sequence[Task], grace: float = 5.0) -> None:
    """SIGTERM every task's process group, then SIGKILL what is left after ``grace`` seconds; the
    namespace holder last: its end kills whatever the tasks left in their PID namespace."""
    holders = [t for t in tasks if t.job == "netns"]
    _stop([t for t in tasks if t.job != "netns"], grace)
    _stop(holders, grace)


def _stop(tasks: Sequence[Task], grace: float) -> None:
    for t in tasks:
        if t.process.poll() is None:
            try:
                os.killpg(t.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for t in tasks:
        try:
            t.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(t.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            t.process.wait(timeout=10)
    for t in tasks:
        t.pump.join(timeout=5)


def _terminate_as_interrupt(signum, frame):
    """SIGTERM (a scheduler stopping us) or SIGHUP (the terminal closed) tears the cluster down like Ctrl-C."""
    raise KeyboardInterrupt


def run_cluster(ps: int, workers: int, command: Sequence[str], ports: Optional[Sequence[int]] = None,
        timeout: Optional[float] = None, env: Optional[dict] = None, out=sys.stdout, expose: bool = False) -> int:
    """Run the cluster until every worker exits; return 0 if all of them succeeded."""
    cluster = local_cluster(ps, workers, ports)
    out.write(f"cluster: {cluster}\n")
    tasks = start(cluster, command, env, out, expose=expose)
    previous = {s: signal.signal(s, _terminate_as_interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    code = 0
    try:
        deadline = time.monotonic() + timeout if timeout else None
        workers_left = [t for t in tasks if t.job == "worker"]
        while workers_left:
            for t in list(workers_left):
                rc = t.process.poll()
                if rc is None:
                    continue
                workers_left.remove(t)
                out.write(f"[launcher] {t.name} exited with code {rc}\n")
                if rc != 0 and t.index == 0:
                    code = rc  # the chief failing fails the job; other workers may be lost and recovered
            if any(t.job == "ps" and t.process.poll() is not None for t in tasks):
                out.write("[launcher] a ps task exited; stopping the cluster\n")
                code = code or 1
                break
            if deadline and time.monotonic() > deadline:
                out.write(f"[launcher] timed out after {timeout} s; stopping the cluster\n")
                code = 124
                break
            time.sleep(0.2)
    except KeyboardInterrupt:
        out.write("[launcher] interrupted; stopping the cluster\n")
        code = 130
    finally:
        stop(tasks)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return code
