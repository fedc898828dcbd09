"""A flag-style TF 1.x cluster script (mnist_replica.py's style) under `lowtf cluster local --tf1-flags`:
every task its own role from flags, ps + workers in the private network, the ps stopped when the workers
finish, nothing left running."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, processes_mentioning
from lowtf.data import mnist
from lowtf.distributed.launcher import TF1_FLAGS, task_command

LOWTF = str(Path(sys.executable).parent / "lowtf")
CLUSTER = {"ps": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2223", "127.0.0.1:2224"]}


def test_each_task_gets_its_own_role_in_its_arguments():
    command = ["lowtf", "run", "replica.py", "--train_dir=/tmp/{job_name}{task_index}", "{literal}", *TF1_FLAGS]
    assert task_command(command, CLUSTER, "worker", 1) == [
        "lowtf", "run", "replica.py", "--train_dir=/tmp/worker1", "{literal}", "--job_name=worker",
        "--task_index=1", "--ps_hosts=127.0.0.1:2222", "--worker_hosts=127.0.0.1:2223,127.0.0.1:2224"]
    assert task_command(["x", "--ps_hosts={ps_hosts}"], {"worker": ["127.0.0.1:1"]}, "worker", 0) == \
        ["x", "--ps_hosts="]


@pytest.mark.slow   # default suite: the per-task arguments are checked without processes in the default suite
def test_mnist_replica_style_script_runs_unedited_as_ps_and_workers(tmp_path):
    mnist.fetch(log=lambda m: None)
    train_dir = tmp_path / "train"
    command = [LOWTF, "cluster", "local", "--ps", "1", "--workers", "2", "--tf1-flags", "--timeout", "300", "--",
               LOWTF, "run", str(REPO / "tests" / "legacy_scripts" / "mnist_replica.py"),
               f"--data_dir={mnist.folder()}", "--train_steps=400", f"--train_dir={train_dir}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=400)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "[ps0] job name = ps" in out and "[worker1] job name = worker" in out
    finals = re.findall(r"\[worker(\d)\] After 400 training step\(s\), validation cross entropy = \S+, "
                        r"accuracy = ([0-9.]+)", out)
    assert sorted(w for w, _ in finals) == ["0", "1"], out[-3000:]
    assert all(float(acc) >= 0.90 for _, acc in finals), finals   # 400 shared Adam steps of a 100-unit MLP
    steps = {w: int(n) for w, n in re.findall(r"\[worker(\d)\] Worker \d: local steps (\d+)", out)}
    assert steps["0"] > 0 and steps["1"] > 0          # both trained the shared model
    assert "[launcher] worker0 exited with code 0" in out and "[launcher] worker1 exited with code 0" in out
    assert list(train_dir.glob("model.ckpt-*.index")), "the chief's Supervisor wrote its checkpoint"
    noise = [line for line in out.splitlines()
             if re.search(r"\] ([IWE]\d{4} |WARNING:tensorflow|WARNING: All log messages)", line)]
    assert noise == [], noise
    assert processes_mentioning(str(train_dir)) == []   # the ps (which never exits by itself) was stopped
