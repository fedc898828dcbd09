"""TensorFlow 2's strategies across real processes (lessons 36 and 37), faults included, and the files that
take the same programs to real machines (TF_CONFIGs, a Kubernetes manifest)."""
from __future__ import annotations

import json
import subprocess

import pytest

from conftest import PYTHON, REPO, processes_mentioning
from test_lessons_keras import run_keras_lesson


def test_36_mirrored_copies_stay_equal_and_match_one_worker(tmp_path):
    s = run_keras_lesson("36", tmp_path)
    assert s["steps"] > 0
    assert s["steps_with_equal_weights"] == s["steps"]          # bitwise: one set of numbers kept twice
    # the same arithmetic as one worker with the whole batch, but summed in another order
    assert s["largest_loss_difference"] < 1e-4
    assert [v["claim"] for v in s["verdicts"]] == ["2 workers x 100 vs 1 worker x 200, mean loss of the last third",
                                                   "images/s, 2 workers vs 1 worker"]
    assert (tmp_path / "kubernetes.json").exists()
    assert processes_mentioning("lowtf.distributed.mirrored_task") == []


def test_37_coordinator_schedules_every_step_through_a_lost_worker(tmp_path):
    s = run_keras_lesson("37", tmp_path)
    assert s["chief_exit"] == 0 and s["worker1_exit"] == -9      # killed with SIGKILL, training finished
    assert s["steps_never_run"] == 0                            # every scheduled step's result came back
    assert all(1 <= step <= s["steps"] for step in s["steps_run_twice"])
    assert len(s["verdicts"]) == 1
    assert processes_mentioning("lowtf.distributed.ps_task") == []


@pytest.mark.slow
def test_mirrored_worker_lost_survivor_fails_at_its_deadline_and_the_restart_resumes(tmp_path):
    """Kill worker 1 at step 25 of 40 (checkpoints every 10): worker 0 fails with the error that says to
    restart; the restarted job begins at step 20, the last save, and ends at 40: 5 steps done twice, none lost."""
    from lowtf.distributed.launcher import local_cluster
    from lowtf.distributed.strategy_jobs import python_task, run_job

    cluster = local_cluster(ps=0, workers=2)
    command = python_task("lowtf.distributed.mirrored_task", "--logdir", str(tmp_path), "--steps", "40",
                          "--checkpoint_every", "10", "--timeout", "10", "--step_seconds", "0.05")
    broken = run_job(cluster, command, ["worker0"], timeout=180, kill_after=("worker1", "step 25 "),
                     show_progress=False)
    assert broken.exit_codes["worker0"] == 3 and broken.exit_codes["worker1"] == -9
    assert any("another worker is gone" in line for line in broken.errors())
    saved = max(int(line.rsplit(" ", 1)[1]) for line in broken.lines if "] saved step " in line)
    assert saved == 20
    again = run_job(cluster, command, ["worker0", "worker1"], timeout=180, show_progress=False)
    first, second = again.results["worker0"], again.results["worker1"]
    assert first["start"] == second["start"] == saved
    assert len(first["losses"]) == 40 - saved and first["fingerprints"] == second["fingerprints"]
    assert processes_mentioning("lowtf.distributed.mirrored_task") == []


def test_tf_configs_for_hosts_and_a_kubernetes_manifest(tmp_path):
    run = subprocess.run([PYTHON, "-m", "lowtf", "cluster", "config", "--worker", "10.0.0.1:2222",
                          "--worker", "10.0.0.2:2222", "--ps", "10.0.0.3:2222", "--out", str(tmp_path / "tf")],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert run.returncode == 0, run.stderr
    configs = {p.name: json.loads(p.read_text()) for p in (tmp_path / "tf").iterdir()}
    assert sorted(configs) == ["ps0.tf_config.json", "worker0.tf_config.json", "worker1.tf_config.json"]
    assert configs["worker1.tf_config.json"]["task"] == {"type": "worker", "index": 1}
    assert configs["ps0.tf_config.json"]["cluster"]["worker"] == ["10.0.0.1:2222", "10.0.0.2:2222"]

    out = tmp_path / "k8s.json"
    run = subprocess.run([PYTHON, "-m", "lowtf", "cluster", "kubernetes", "--workers", "2", "--ps", "1", "--chief",
                          "--image", "registry/lowtf:1", "--out", str(out), "--", "python", "-m", "task"],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert run.returncode == 0, run.stderr
    manifest = json.loads(out.read_text())
    service, *pods = manifest["items"]
    assert service["kind"] == "Service" and service["spec"]["clusterIP"] == "None"
    assert len(pods) == 4
    for pod in pods:
        env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
        config = json.loads(env["TF_CONFIG"])
        task = config["task"]
        # each Pod's TF_CONFIG names itself by the DNS name the headless Service gives it
        me = config["cluster"][task["type"]][task["index"]]
        assert me == f"{pod['spec']['hostname']}.{pod['spec']['subdomain']}:2222"
        assert pod["spec"]["subdomain"] == service["metadata"]["name"]
        assert pod["metadata"]["labels"]["app"] == service["spec"]["selector"]["app"]
        assert pod["spec"]["containers"][0]["command"] == ["python", "-m", "task"]


def test_a_cluster_without_workers_is_refused_with_the_fix():
    run = subprocess.run([PYTHON, "-m", "lowtf", "cluster", "config", "--ps", "10.0.0.3:2222"],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert run.returncode == 2 and "--worker" in run.stderr
