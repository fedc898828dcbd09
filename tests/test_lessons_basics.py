"""Lessons 01-06 in --fast mode: they run and teach what they claim."""
import subprocess

import numpy as np

from conftest import PYTHON, REPO
from lowtf.lesson import parse_summary


def test_01_adds(run_lesson):
    summary, _ = run_lesson("01")
    assert summary["a_plus_b"] == 5.0 and summary["a_times_b"] == 6.0


def test_02_placeholders_and_variables(run_lesson):
    summary, _ = run_lesson("02")
    assert summary["row_sums_of_ones"] == [4.0, 4.0]
    assert "Cannot feed value of shape (2, 3) for Tensor x:0, which has shape (?, 4)" in summary["wrong_feed_error"]
    assert (summary["counter_after_three"], summary["counter_after_assign"]) == (3, 10)


def test_03_only_fetched_branch_runs(run_lesson):
    summary, _ = run_lesson("03")
    assert "branch_b/total" in summary["executed_ops"]
    assert not any(op.startswith("branch_a") for op in summary["executed_ops"])
    assert summary["changes_between_runs"] and summary["same_within_one_run"] and summary["variable_keeps_value"]


def test_04_writes_events(run_lesson):
    summary, logdir = run_lesson("04")
    assert summary["scoped_names"][2] == "model/layer1_1/same_scope_name_again"
    assert list(logdir.glob("events.out.tfevents.*"))
    assert {"random_walk/distance", "pictures/drifting_normal", "pictures/note"} <= set(summary["merge_all_tags"])


def test_05_devices_and_soft_placement(run_lesson):
    summary, _ = run_lesson("05")
    assert summary["devices"] and summary["matmul_gflops"]["all cores"] > 0
    expected = "GPU" if summary["gpu_available"] else "CPU"
    assert expected in summary["soft_placement_device"]


def test_06_restores_saved_values(run_lesson):
    summary, _ = run_lesson("06")
    assert summary["restored_equal"] is True
    np.testing.assert_allclose(summary["restored_bias"], [3.5, 2.5])
    assert "lhs shape= [4,2] rhs shape= [3,2]" in summary["mismatch_error"]


def test_step_mode_explains_waits_and_quits(tmp_path):
    """--step prints each explanation and waits; typing q at the second prompt stops."""
    proc = subprocess.run(
        [PYTHON, str(REPO / "lessons/01_graphs_and_sessions.py"), "--step", "--logdir", str(tmp_path)],
        input="\nq\n", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "In graph mode every TensorFlow call adds an operation" in out
    assert out.count("[Enter: next step, q: quit]") == 2
    assert "Step 2/5" in out and "Step 3/5" not in out and "Stopped at your request." in out
    assert parse_summary(out)["a_plus_b"] == 5.0


def test_cli_lists_and_runs_lessons(tmp_path):
    listing = subprocess.run([PYTHON, "-m", "lowtf", "lessons"], capture_output=True, text=True, timeout=60)
    assert "01  01_graphs_and_sessions.py" in listing.stdout
    run = subprocess.run([PYTHON, "-m", "lowtf", "lesson", "3", "--fast", "--logdir", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert parse_summary(run.stdout)["branch_a_ran"] is False
    assert (tmp_path / "summary.json").exists()
