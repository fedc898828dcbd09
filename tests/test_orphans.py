"""No process outlives what started it: cluster tasks behind `timeout` or `setsid`, `lowtf serve` behind a
killed lesson or check, and the learner's own child processes behind a check that ran out of time.

Each test starts the real command, kills it the way a user or a scheduler would, then counts the
processes left that carry the test's marker (in their command line or environment): 0."""
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest

# A cluster task with no TensorFlow in it (fast): the ps serves until killed; the worker, once the ps is up
# (a file named for the test's token says so: on a loaded machine the worker could end before the ps had
# started), stays SECONDS and ends.
TASK = textwrap.dedent("""
    import json, os, sys, tempfile, time
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    ps_up = os.path.join(tempfile.gettempdir(), f"lowtf-orphan-test-{sys.argv[2]}.ps-up")
    print("up", task["type"], flush=True)
    if task["type"] == "ps":
        open(ps_up, "w").close()
        while True:
            time.sleep(1)
    deadline = time.monotonic() + 60
    while not os.path.exists(ps_up) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(float(sys.argv[1]))
""")


def marked(token: str) -> list[int]:
    """PIDs of live processes (zombies aside) whose command line or environment holds ``token``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            text = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if token.encode() in text:
            found.append(int(entry.name))
    return found


def settle(token: str, seconds: float = 10.0) -> list[int]:
    """The marked processes still alive after up to ``seconds`` (the kernel's kills take a moment)."""
    deadline = time.monotonic() + seconds
    while marked(token) and time.monotonic() < deadline:
        time.sleep(0.1)
    return marked(token)


def cleanup(token: str) -> None:
    for pid in marked(token):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    Path(tempfile.gettempdir(), f"lowtf-orphan-test-{token}.ps-up").unlink(missing_ok=True)


def launch(token: str, wrapper: list[str], worker_seconds: float, may_end_at_once: bool = False) -> subprocess.Popen:
    """`lowtf cluster local --ps 1 --workers 1 -- WRAPPER python -c TASK SECONDS TOKEN`, both tasks up
    (``may_end_at_once``: or the launcher already ended, as behind `setsid -f`, whose wrapper exits at once:
    on a loaded machine the launcher can stop the cluster before a task has printed that it is up)."""
    proc = subprocess.Popen([sys.executable, "-m", "lowtf", "cluster", "local", "--ps", "1", "--workers", "1", "--",
                             *wrapper, sys.executable, "-c", TASK, str(worker_seconds), token],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "ORPHAN_TEST": token})
    seen, deadline = [], time.monotonic() + 60
    while sum(line.startswith(("[ps0] up", "[worker0] up")) for line in seen) < 2:
        if may_end_at_once and proc.poll() is not None:
            break
        assert time.monotonic() < deadline and proc.poll() is None, seen
        seen.append(proc.stdout.readline())
    return proc


WRAPPERS = {"timeout": ["timeout", "600"], "setsid": ["setsid"], "setsid -f": ["setsid", "-f"],
            "sh &": ["sh", "-c", '"$@" & wait', "sh"]}


@pytest.mark.parametrize("wrapper", WRAPPERS, ids=list(WRAPPERS))
def test_tasks_behind_a_wrapper_end_with_a_normal_end(wrapper):
    """The worker ends by itself; the launcher stops the ps: nothing of either is left, whatever wraps them."""
    token = uuid.uuid4().hex
    try:
        proc = launch(token, WRAPPERS[wrapper], worker_seconds=0.5, may_end_at_once=wrapper == "setsid -f")
        out, _ = proc.communicate(timeout=60)
        # `setsid -f` forks the task off and exits at once: to the launcher, the ps has ended (status 1)
        assert proc.returncode == (1 if wrapper == "setsid -f" else 0), out
        assert settle(token) == []
    finally:
        cleanup(token)


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_tasks_behind_timeout_die_with_a_killed_launcher(signum):
    token = uuid.uuid4().hex
    try:
        proc = launch(token, WRAPPERS["timeout"], worker_seconds=600)
        assert len(marked(token)) >= 5   # launcher, holder, 2 x (supervisor, timeout, python)
        proc.send_signal(signum)
        proc.wait(timeout=30)
        assert settle(token) == []
    finally:
        cleanup(token)


def test_pid_namespaces_are_available_here():
    """The guarantees above rest on a PID namespace per cluster; say so if this system has none."""
    from lowtf.distributed.sandbox import pid_namespaces_available

    assert pid_namespaces_available()


def test_a_killed_task_takes_what_it_started_with_it():
    """launcher.kill (a machine failure in the fault-injection tests) ends the task behind `timeout` too,
    while the cluster goes on."""
    from lowtf.distributed import launcher

    token = uuid.uuid4().hex
    out = launcher.Collector()
    tasks = launcher.start(launcher.local_cluster(ps=1, workers=1),
                           ["timeout", "600", sys.executable, "-c", TASK, "600", token], out=out)
    try:
        assert out.wait_for("[worker0] up", 60) and out.wait_for("[ps0] up", 60)
        worker = next(t for t in tasks if t.job == "worker")
        assert len(launcher.descendants(worker.process.pid)) == 2     # timeout, python
        launcher.kill(worker)
        deadline = time.monotonic() + 10
        while len(marked(token)) > 3 and time.monotonic() < deadline:   # the ps: supervisor, timeout, python
            time.sleep(0.1)
        assert len(marked(token)) == 3
    finally:
        launcher.stop(tasks)
        assert settle(token) == []
        cleanup(token)


def serving(token: str) -> list[int]:
    """The `lowtf serve` processes carrying ``token``."""
    found = []
    for pid in marked(token):
        try:
            if b"lowtf\0serve" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


def answers(pid: int, model: str) -> bool:
    """Whether the `lowtf serve` process ``pid`` answers for ``model`` on its --rest_api_port."""
    import urllib.request
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        port = next(a.split("=", 1)[1] for a in args if a.startswith("--rest_api_port="))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models/{model}", timeout=1) as reply:
            return reply.status == 200
    except (OSError, StopIteration):
        return False


KILLS = pytest.mark.parametrize("signum, when", [(signal.SIGKILL, "serving"), (signal.SIGTERM, "starting")],
                                ids=["SIGKILL while serving", "SIGTERM while the server starts"])

# What lessons 21 and 26 do, on a toy model: a lesson's signal handling, then start_server. The runner's
# signals module is loaded from its file alone: `import lowtf.lesson` would load TensorFlow, which this
# stand-in for a lesson never uses (its server loads its own).
LESSON_LIKE = textwrap.dedent("""
    import importlib.util, sys
    from pathlib import Path
    import lowtf
    from lowtf.serve.process import start_server
    spec = importlib.util.spec_from_file_location("signals", Path(lowtf.__file__).parent / "lesson" / "signals.py")
    signals = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(signals)
    signals.stop_on_termination()
    server = start_server([f"--model_base_path={sys.argv[1]}", "--model_name=affine",
                           f"--rest_api_port={sys.argv[2]}"], int(sys.argv[2]), ready_model="affine")
    print("ready", flush=True)
    try:
        server.process.wait()
    finally:
        server.stop()
""")


@KILLS
def test_a_lessons_server_dies_with_the_lesson(tmp_path, signum, when):
    """kill -9 of a lesson serving, or SIGTERM while its server starts (before the lesson can register
    the server's stop): no `lowtf serve` left."""
    from conftest import export_affine
    from lowtf.ports import free_ports

    export_affine(tmp_path / "affine", 1, 2.0)
    token = uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-c", LESSON_LIKE, str(tmp_path / "affine"), str(free_ports(1)[0])],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "ORPHAN_TEST": token})
    try:
        deadline = time.monotonic() + 60
        while not serving(token):
            assert proc.poll() is None and time.monotonic() < deadline, "lowtf serve never started"
            time.sleep(0.02)
        if when == "serving":
            assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signum)
        proc.wait(timeout=60)
        assert settle(token) == []
    finally:
        proc.kill()
        proc.wait()
        cleanup(token)


@pytest.mark.slow    # lesson 21 trains and exports first: minutes on a busy 2-core host
@KILLS
def test_lesson_21s_server_dies_with_the_lesson(tmp_path, signum, when):
    token = uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-m", "lowtf", "lesson", "21", "--fast", "--quiet", "--logdir",
                             str(tmp_path / "run")], stdin=subprocess.DEVNULL,
                            stdout=(tmp_path / "out.txt").open("wb"), stderr=subprocess.STDOUT,
                            env={**os.environ, "ORPHAN_TEST": token})
    try:
        deadline = time.monotonic() + 600
        while not serving(token):
            assert proc.poll() is None and time.monotonic() < deadline, "lesson 21 never started lowtf serve"
            time.sleep(0.05)
        if when == "serving":     # up and answering the lesson (it starts the server in step 2 and goes on)
            while not any(answers(pid, "lenet5") for pid in serving(token)):
                assert proc.poll() is None and time.monotonic() < deadline, "lesson 21's server never answered"
                time.sleep(0.1)
        proc.send_signal(signum)
        proc.wait(timeout=60)
        assert settle(token) == []
    finally:
        proc.kill()
        proc.wait()
        cleanup(token)


@pytest.mark.slow    # the reliability tally's processes sections, as `python -m lowtf.bench.reliability` runs them
def test_the_tallys_processes_sections_count_no_orphans():
    from lowtf.bench import reliability_processes

    counts = reliability_processes.processes()
    assert counts["cases"] == 8 and counts["orphans"] == 0, counts
    limit = reliability_processes.checker_time_limit()
    assert limit == {"orphans": 0, "stopped_at_limit": 1}
