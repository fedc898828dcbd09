"""The reliability tally's "processes" sections: kills and wrappers, with the orphans counted.

Each case starts a real command with a marker in its environment (every process it starts inherits
it), ends it the way a user or a scheduler would, and counts the processes still carrying the
marker a few seconds later (zombies aside): ``orphans`` must be 0.

    processes            lowtf cluster local behind `timeout`, `setsid`, `setsid -f`, a shell's `&`:
                         normal end; `timeout` under SIGKILL and SIGTERM of the launcher; a
                         lesson's `lowtf serve` (lessons 21/26's start_server) under SIGKILL while
                         serving and SIGTERM while it starts
    checker time limit   `lowtf check 12` on a file that starts processes of its own (one with
                         setsid), lets the checker's `lowtf serve` start, then stops the checking
                         process dead: the 45 s limit must leave nothing running (slow)

``reliability.py`` registers them (``SECTIONS``: name, function, slow); run them alone with
``python -m lowtf.bench.reliability --only processes``.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

MARK = "LOWTF_RELIABILITY_MARK"

TASK = textwrap.dedent("""
    import json, os, sys, time
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    print("up", task["type"], flush=True)
    if task["type"] == "ps":
        while True:
            time.sleep(1)
    time.sleep(float(sys.argv[1]))
""")

WRAPPERS = {"timeout": ["timeout", "600"], "setsid": ["setsid"], "setsid -f": ["setsid", "-f"],
            "sh &": ["sh", "-c", '"$@" & wait', "sh"]}


def marked(token: str) -> list[int]:
    """Live processes (zombies aside) whose environment or command line holds ``token``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            if token.encode() in (entry / "environ").read_bytes() + (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def left_after(token: str, seconds: float = 10.0) -> int:
    """How many marked processes are still alive after up to ``seconds``; those are then killed."""
    deadline = time.monotonic() + seconds
    while marked(token) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = marked(token)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return len(left)


def _cluster(token: str, wrapper: list[str], worker_seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "lowtf", "cluster", "local", "--ps", "1", "--workers", "1", "--",
                             *wrapper, sys.executable, "-c", TASK, str(worker_seconds)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, MARK: token})
    seen, deadline = 0, time.monotonic() + 60
    while seen < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line.startswith(("[ps0] up", "[worker0] up"))
    return proc


def cluster_case(wrapper: str, end: str) -> int:
    """Orphans left by a cluster whose tasks run behind ``wrapper``, ended by ``end``
    ("normal": the worker ends by itself; "SIGKILL"/"SIGTERM": the launcher is sent it)."""
    token = uuid.uuid4().hex
    proc = _cluster(token, WRAPPERS[wrapper], 0.5 if end == "normal" else 600)
    if end != "normal":
        proc.send_signal(getattr(signal, end))
    try:
        proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
    return left_after(token)


LESSON_LIKE = textwrap.dedent("""
    import sys
    from lowtf.lesson.signals import stop_on_termination
    from lowtf.serve.process import start_server
    stop_on_termination()
    server = start_server([f"--model_base_path={sys.argv[1]}", "--model_name=affine",
                           f"--rest_api_port={sys.argv[2]}"], int(sys.argv[2]), ready_model="affine")
    print("ready", flush=True)
    try:
        server.process.wait()
    finally:
        server.stop()
""")


def _export_affine(base: Path) -> None:
    import tensorflow.compat.v1 as tf

    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None], name="x")
        with tf.Session() as sess:
            tf.saved_model.simple_save(sess, str(base / "1"), {"x": x}, {"y": tf.identity(2.0 * x + 1.0)})


def _serving(token: str) -> bool:
    for pid in marked(token):
        try:
            if b"lowtf\0serve" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            pass
    return False


def server_case(root: Path, signum: int, when: str) -> int:
    """Orphans left by a lesson-like process (start_server, a lesson's signal handling) sent ``signum``
    while its `lowtf serve` is "starting" or "serving"."""
    from lowtf.ports import free_ports

    base = root / "affine"
    if not base.exists():
        _export_affine(base)
    token = uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-c", LESSON_LIKE, str(base), str(free_ports(1)[0])],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, MARK: token})
    deadline = time.monotonic() + 60
    while not _serving(token) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if when == "serving":
        proc.stdout.readline()
    proc.send_signal(signum)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return left_after(token)


def processes(work=None) -> dict:
    """The "processes" section: {"orphans": total, "cases": n, "<case>": orphans of each}."""
    counts = {}
    for wrapper in WRAPPERS:
        counts[f"{wrapper}, normal end"] = cluster_case(wrapper, "normal")
    for end in ("SIGKILL", "SIGTERM"):
        counts[f"timeout, launcher {end}"] = cluster_case("timeout", end)
    with tempfile.TemporaryDirectory(prefix="lowtf-orphans-") as folder:
        counts["lesson serve, SIGKILL serving"] = server_case(Path(folder), signal.SIGKILL, "serving")
        counts["lesson serve, SIGTERM starting"] = server_case(Path(folder), signal.SIGTERM, "starting")
    return {"orphans": sum(counts.values()), "cases": len(counts), **counts}


STALLS_WITH_A_SERVER_UP = """
import os, signal, subprocess, sys, threading, time
_export = export

def export(base_path, version=1):
    subprocess.Popen(["sleep", "600"])
    subprocess.Popen(["setsid", sys.executable, "-c", "import time; time.sleep(600)"])
    def serving_child():   # /proc is the host's: this process's number there, not os.getpid()
        me = int(os.readlink("/proc/self"))
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if ppid == me and b"serve" in f.read():
                        return True
            except (OSError, ValueError, IndexError):
                pass
        return False
    def stop_dead():   # once the check's server has started: a timer raced a check that got faster
        deadline = time.monotonic() + 60
        while not serving_child() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGSTOP)
    threading.Thread(target=stop_dead, daemon=True).start()
    return _export(base_path, version)
"""


def checker_time_limit(work=None, limit: float = 45.0) -> dict:
    """The "checker time limit" section: orphans after `lowtf check`'s limit stops a stalled check."""
    from lowtf.practice.exercises import find_exercises, run_checks_in_a_process

    exercise = find_exercises()["12"]
    token = uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="lowtf-orphans-") as folder:
        learner = Path(folder) / "stalls.py"
        learner.write_text(exercise.solution.read_text() + STALLS_WITH_A_SERVER_UP)
        os.environ[MARK] = token
        try:
            (result,) = run_checks_in_a_process(exercise, learner, include_slow=False, limit=limit)
        finally:
            del os.environ[MARK]
    return {"orphans": left_after(token), "stopped_at_limit": int("did not finish" in result.report)}


# (name, function, slow) for reliability.py's add_section
SECTIONS = (("processes", processes, False), ("checker time limit", checker_time_limit, True))
