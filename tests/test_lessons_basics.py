"""Lessons 01-06 in --fast mode: they run and teach what they claim."""
import os
import subprocess

import numpy as np
import pytest

from conftest import PYTHON, REPO
from lowtf.lesson import read_summary

TINY = REPO / "tests" / "tiny_lesson.py"   # a two-step lesson for the runner's own tests


NOISE = ("absl::InitializeLog", "cuInit", "cudart_stub", "oneDNN custom operations", "is deprecated",
         "Instructions for updating", "Please report this to the TensorFlow team", "LOWTF_SUMMARY", "np.float")


def test_01_step_by_step_eager_then_graph_mode_a_clean_console_and_q_quits(tmp_path):
    """Lesson 01 starts eager, so it runs in its own process, here as a learner steps through it:
    `lowtf lesson 01 --fast --step`, Enter at seven prompts and q at the eighth. --step prints each
    explanation and the step's code (and the helpers it calls), runs it and waits; q stops there.
    What the learner sees carries no TensorFlow start-up, cuInit, deprecation or machine-readable line,
    and numbers print as numbers. (One process for what were two tests: the plain run's console and
    the step mode's.)"""
    run = subprocess.run([PYTHON, "-m", "lowtf", "lesson", "01", "--fast", "--step", "--logdir", str(tmp_path)],
                         input="\n" * 7 + "q\n", capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    seen, out = run.stdout + run.stderr, run.stdout
    assert not [line for line in seen.splitlines() if any(n in line for n in NOISE)], seen
    assert "sess.run(total): 5.0" in out
    assert "TensorFlow 2 starts in eager mode" in out
    assert "  | eager_sum = tf2.constant(2.0) + tf2.constant(3.0)" in out      # the code being taught
    assert "  | as_graph = tf2.function(many_small_ops)" in out
    assert "(many_small_ops, which this step calls, is defined above the steps:)" in out   # its helper too
    assert out.count("TensorFlow 2 starts in eager mode") == 1               # docstring not repeated as code
    assert out.count("[Enter: next step, q: quit]") == 8
    assert "Step 8/9" in out and "Step 9/9" not in out and "Stopped at your request." in out
    summary = read_summary(tmp_path)
    assert summary["stopped_at_step"] == 8
    assert summary["eager_a_plus_b"] == 5.0 and summary["eager_after_disable"] is False
    assert summary["a_plus_b"] == 5.0 and summary["a_times_b"] == 6.0
    # eager against tf.function: the same result, and a speed verdict read from three rounds each
    assert summary["same_result_both_ways"] and len(summary["verdicts"]) == 1


def test_a_real_error_still_reaches_the_learner(tmp_path):
    script = tmp_path / "wrong_feed.py"
    script.write_text("from lowtf.lesson import Lesson\n"
                      "import tensorflow.compat.v1 as tf\n"
                      "tf.disable_v2_behavior()\n"
                      "x = tf.placeholder(tf.float32, [None, 4])\n"
                      "tf.Session().run(x, {x: [[1.0, 2.0, 3.0]]})\n")
    run = subprocess.run([PYTHON, str(script)], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "ValueError: Cannot feed value of shape (1, 3)" in run.stderr
    assert not [line for line in run.stderr.splitlines() if any(n in line for n in NOISE)]


def test_verbose_shows_what_tensorflow_prints(tmp_path):
    script = tmp_path / "hello.py"
    script.write_text("from lowtf.lesson import Lesson\nimport tensorflow.compat.v1 as tf\n"
                      "tf.disable_v2_behavior()\n")
    env = {**os.environ, "LOWTF_VERBOSE": "1"}
    run = subprocess.run([PYTHON, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert "is deprecated" in run.stderr


def test_02_placeholders_and_variables(run_lesson):
    summary, _ = run_lesson("02")
    assert summary["row_sums_of_ones"] == [4.0, 4.0]
    assert "Cannot feed value of shape (2, 3) for Tensor x:0, which has shape (?, 4)" in summary["wrong_feed_error"]
    assert "Dimension -1 must be >= 0" in summary["placeholder_minus_one_error"]
    assert (summary["counter_after_three"], summary["counter_after_assign"]) == (3, 10)


def test_03_only_fetched_branch_runs(run_lesson):
    summary, _ = run_lesson("03")
    assert "branch_b/total" in summary["executed_ops"]
    assert not any(op.startswith("branch_a") for op in summary["executed_ops"])
    assert summary["changes_between_runs"] and summary["same_within_one_run"] and summary["variable_keeps_value"]
    growth = summary["ops_per_pass"]
    assert all(b > a for a, b in zip(growth, growth[1:])) and "finalized" in summary["finalize_error"]
    # two graphs: the same name in each, the default graph untouched, no op across graphs
    assert summary["op_names"] == ["x", "x"] and summary["default_graph_untouched"]
    assert summary["mixed_graphs_error"]


def test_05_devices_and_soft_placement(run_lesson):
    summary, _ = run_lesson("05")
    assert summary["devices"] and all(len(r) == 3 and min(r) > 0 for r in summary["matmul_gflops"].values())
    assert len(summary["verdicts"]) == 1
    assert 0 < summary["executed_op_count"] < summary["graph_op_count"]   # the optimiser pruned and folded
    expected = "GPU" if summary["gpu_available"] else "CPU"
    assert expected in summary["soft_placement_device"]


def test_06_restores_saved_values(run_lesson):
    summary, _ = run_lesson("06")
    assert summary["restored_equal"] is True
    np.testing.assert_allclose(summary["restored_bias"], [3.5, 2.5])
    assert "lhs shape= [4,2] rhs shape= [3,2]" in summary["mismatch_error"]


def test_cli_lists_and_runs_lessons(tmp_path, capsys):
    """`lowtf lessons` as a command; `lowtf lesson 3` through the command line's main in this process
    (test_01 runs `python -m lowtf lesson` as a process of its own, and reads its console)."""
    from lowtf.catalog import find_lessons, load_lesson
    from lowtf.cli import main
    listing = subprocess.run([PYTHON, "-m", "lowtf", "lessons"], capture_output=True, text=True, timeout=60)
    assert "  01  Graphs and sessions:" in listing.stdout
    assert main(["lesson", "3", "--fast", "--logdir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert read_summary(tmp_path)["branch_a_ran"] is False
    # a plain run shows each step's words, and ends in what it found, not a dump of the summary
    said = " ".join(out.split())
    assert all(" ".join(s.explanation.split()[:12]) in said for s in load_lesson(find_lessons()["03"]).steps)
    assert "Key numbers" not in out and "Every value it recorded" in out


def test_interrupted_lesson_says_so_writes_valid_json_and_exits_130(tmp_path):
    """SIGINT during a long step (a Session open): the runner reports it, records where it stopped, exits
    130. The lesson is tests/tiny_lesson.py, whose step 2 waits until stopped."""
    import json
    import signal
    import time
    proc = subprocess.Popen([PYTHON, str(TINY), "--logdir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 90
    while time.time() < deadline and not (tmp_path / "train").exists():
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Interrupted (Ctrl-C) during step 2" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["stopped_at_step"] == 2 and summary["wrote_events"]
    assert "steps" not in summary                # the step did not finish: nothing recorded after the stop
    assert "Traceback" not in err


def test_bad_logdir_and_tour_range_are_clear_errors(tmp_path, capsys):
    from lowtf.catalog import find_lessons, load_lesson
    from lowtf.cli import main
    a_file = tmp_path / "file"
    a_file.write_text("")
    for logdir in (a_file, a_file / "under"):
        assert load_lesson(find_lessons()["03"]).main(["--fast", "--logdir", str(logdir)]) == 2
        assert "error: --logdir" in capsys.readouterr().err
    assert main(["tour", "--first", "7", "--last", "3"]) == 2
    assert "no lessons between" in capsys.readouterr().err
    assert main(["lesson", "03", "--fast", "--logdir", str(a_file)]) == 2       # the command line's path to it
    assert "error: --logdir" in capsys.readouterr().err


def test_a_second_run_moves_the_first_aside_instead_of_mixing_events(tmp_path):
    from lowtf.catalog import find_lessons, load_lesson
    from lowtf.lesson import LogdirError
    logdir = tmp_path / "99"
    lines = []
    for _ in range(2):      # tests/tiny_lesson.py: one event file and a summary, as a lesson writes them
        load_lesson(TINY).run(fast=True, logdir=logdir, out=lines.append)
    assert (tmp_path / "99.1" / "summary.json").exists() and (logdir / "summary.json").exists()
    assert len(list((tmp_path / "99.1").glob("events.out.tfevents.*"))) == 1
    assert len(list(logdir.glob("events.out.tfevents.*"))) == 1
    assert any("is now in" in line and "99.1" in line for line in lines)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(LogdirError, match="not empty and holds no earlier lesson run"):
        load_lesson(find_lessons()["03"]).run(fast=True, logdir=foreign, out=lines.append)
    assert (foreign / "notes.txt").read_text() == "keep me"


@pytest.mark.slow
def test_flagship_killed_midway_resumes_from_its_checkpoint(tmp_path):
    """SIGKILL lesson 10 after its first checkpoint; --resume finishes the run from there."""
    import signal
    import time
    logdir = tmp_path / "10"
    proc = subprocess.Popen([PYTHON, "-m", "lowtf", "lesson", "10", "--fast", "--logdir", str(logdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while not (logdir / "checkpoints" / "checkpoint").exists():
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    run = subprocess.run([PYTHON, "-m", "lowtf", "lesson", "10", "--fast", "--logdir", str(logdir), "--resume"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    summary = read_summary(logdir)
    assert 0 < summary["resumed_from_step"] < summary["steps"] and summary["test_accuracy"] >= 0.95
    assert "resuming at step" in run.stdout


def test_a_users_folder_with_train_in_it_is_refused_and_checkpoint_litter_is_cleaned(tmp_path):
    """A folder of the user's that holds train/ and test/ is not an earlier run: refused, not renamed.
    A killed Saver's temporary files in a run's checkpoints/ are removed when the run goes on."""
    from lowtf.catalog import find_lessons, load_lesson
    from lowtf.lesson import LogdirError

    lesson = load_lesson(find_lessons()["03"])
    mine = tmp_path / "photos"
    (mine / "train").mkdir(parents=True)
    (mine / "test").mkdir()
    (mine / "train" / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(LogdirError, match="holds no earlier lesson run"):
        lesson.run(logdir=mine, out=lambda s: None)
    assert (mine / "train" / "cat.jpg").exists() and not (tmp_path / "photos.1").exists()

    run = tmp_path / "run"
    (run / "checkpoints" / "model-40_temp").mkdir(parents=True)
    (run / "checkpoints" / "model-40.data-00000-of-00001.tempstate123").write_bytes(b"x" * 1000)
    (run / "checkpoints" / "model-20.index").write_bytes(b"kept")
    said = []
    lesson.run(logdir=run, out=said.append, resume=True)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["model-20.index"]
    assert any("left by a killed run" in line for line in said)
