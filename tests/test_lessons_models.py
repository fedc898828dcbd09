"""Lessons 07-13 in --fast mode, with the accuracy thresholds they promise; lesson 10 in full is slow."""
import re

import imageio.v3 as iio
import numpy as np
import pytest


from conftest import REPO
from conftest import get, scalars, tensorboard


@pytest.fixture(scope="module")
def lesson07_in_a_terminal(tmp_path_factory):
    """`lowtf lesson 07 --step --fast` as a learner runs it, in an 80 x 50 pseudo-terminal with Enter pressed at
    every prompt: run once for the width test and the lesson's own test (its summary and events are the
    same as a plain --fast run's). Returns (the terminal's record, summary, logdir)."""
    from lowtf.bench.lessons import time_lesson
    from lowtf.lesson import read_summary

    logdir = tmp_path_factory.mktemp("lesson07") / "run"
    run = time_lesson("07", logdir, timeout=300, step=True)
    assert run["exit_code"] == 0 and run["lines"] > 100, run["text"][-2000:]
    return run, read_summary(logdir), logdir


def test_07_fits_an_80_column_terminal_step_by_step(lesson07_in_a_terminal):
    """`lowtf lesson 07 --step --fast` in an 80 x 50 pseudo-terminal, Enter pressed at every prompt: no line
    (nor a progress bar's redraw) is wider than the terminal: explanations, code, values, tables.
    (Lesson 23 too, in its own test in test_lessons_keras.py.)"""
    run, _, _ = lesson07_in_a_terminal
    too_wide = [line for line in run["too_wide"] if len(line.split()) != 1 or "/" not in line]   # a path stays whole
    assert too_wide == [], too_wide[:5]


def test_07_softmax_by_hand(lesson07_in_a_terminal):
    run, summary, logdir = lesson07_in_a_terminal
    assert summary["test_accuracy"] >= 0.90
    # the textbook formula breaks: NaN, which summary.json holds as null, and the console shows as nan
    assert summary["naive_loss_confident_wrong"] is None and "-sum(y_ * log(softmax(z))): nan" in run["text"]
    assert summary["stable_loss_confident_wrong"] == pytest.approx(1000.0)         # the fused op does not
    assert summary["stable_by_hand_loss"] == pytest.approx(1000.0)
    assert summary["gradient_vs_numpy_max_diff"] < 1e-6                          # backprop = the chain rule
    assert summary["hand_step_vs_minimize_max_diff"] < 1e-6                      # minimize = W - rate * grad
    assert summary["sum_over_mean_gradient_ratio"] == pytest.approx(100.0, rel=1e-3)
    assert summary["best_step"] <= summary["steps"]
    # squared error's gradient vanishes on a confident mistake, cross-entropy's does not (a fixed example);
    # the two training comparisons carry verdicts that follow from their numbers
    sizes = summary["gradient_size_on_confident_mistake"]
    assert sizes["squared error"] < 0.01 < 1 < sizes["cross-entropy"]
    assert len(summary["verdicts"]) == 2
    assert list((logdir / "train").glob("events.*")) and list((logdir / "validation").glob("events.*"))
    source = (REPO / "lessons/07_mnist_softmax.py").read_text()
    assert "[train_step, ctx.cross_entropy]," in source and "next_batch(BATCH_SIZE)" in source
    # TensorBoard: train and validation curves on the same tags (not "accuracy_1"), at the same steps
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    runs = {name: EventAccumulator(str(logdir / name), size_guidance={"scalars": 0}).Reload()
            for name in ("train", "validation")}
    for events in runs.values():
        assert set(events.Tags()["scalars"]) == {"loss", "accuracy"}
    assert [e.step for e in runs["train"].Scalars("accuracy")] == [e.step for e in runs["validation"].Scalars("accuracy")]


def test_08_mlp(run_lesson):
    summary, logdir = run_lesson("08")
    assert summary["parameters"] == 443_610
    assert summary["test_accuracy"] >= 0.95
    # the article's loop, written in the lesson: the merged summaries every 20 steps in two runs, a Saver
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    for run in ("train", "validation"):
        events = EventAccumulator(str(logdir / run))
        events.Reload()
        assert [e.step for e in events.Scalars("accuracy")] == list(range(20, 601, 20))
    assert (logdir / "model" / "mlp-600.index").is_file()
    # from zeros the 64 hidden units stay copies of one another (symmetry is never broken); from random
    # weights they differ; the accuracy verdict is the one its numbers give
    assert summary["symmetry"]["zeros"]["different hidden units"] == 1
    assert summary["symmetry"]["random"]["different hidden units"] == 64
    assert len(summary["verdicts"]) == 4
    assert summary["linear_collapse_max_difference"] < 1e-3     # two linear layers are one matrix
    # batch norm with its update ops forgotten trains the same weights: scored on the test set's own
    # statistics it matches the run that updated its averages
    bn = summary["batch_norm"]
    assert bn["batch norm, updates forgotten"]["with the test set's own statistics"] == pytest.approx(
        bn["batch norm"]["with the test set's own statistics"], abs=0.003)
    assert (REPO / "lessons/08_mlp_nested_scopes.py").read_text().count("tf.GraphKeys.UPDATE_OPS") >= 3


def test_09_convolution_sizes(run_lesson):
    summary, logdir = run_lesson("09")
    h, w = summary["size_input"]
    assert summary["size_SAME"] == [h, w]
    assert summary["size_VALID"] == [h - 6, w - 6]
    assert summary["size_SAME_stride_2"] == [(h + 1) // 2, (w + 1) // 2]
    assert summary["size_2x2_max_pool"] == [(h + 1) // 2, (w + 1) // 2]
    assert (logdir / "feature_maps.png").stat().st_size > 10_000


def test_10_lenet5_fast_loop_by_hand_equals_the_packaged_trainer(lesson10_fast):
    summary, logdir = lesson10_fast
    assert summary["parameters"] == 3_274_634
    assert summary["test_accuracy"] >= 0.95      # 80 steps of 64: 0.954-0.960 (seeds 0, 1; AVX2 cap or not)
    # lowtf.train.train is the lesson's loop packaged: the same seed gives the same first losses
    np.testing.assert_allclose(summary["packaged_first_losses"], summary["by_hand_first_losses"], rtol=1e-4)
    source = (REPO / "lessons/10_lenet5.py").read_text()
    assert re.search(r"sess\.run\(\s*fetches, feed", source) and "ctx.train_op = " in source and "tf.train.Saver(" in source
    gif = iio.imread(summary["gif"], index=None)
    assert len(gif) == summary["gif_frames"] > 10
    assert iio.immeta(summary["gif"], index=0)["duration"] > 0
    assert set(summary["relative_change"]) == {"conv1", "conv2"}
    assert "mean change of a filter, conv1 vs conv2" in [v["claim"] for v in summary["verdicts"]]
    assert summary["verdicts"]   # claims: checked by the claims test (conftest)
    assert (logdir / "checkpoints" / "checkpoint").exists()
    # predictions restored from the checkpoint (a float32 Session) agree with the loop's own test accuracy:
    # to one image in float32; a bfloat16 loop scored its forward pass in bfloat16, near ties flip
    n = summary["test_images"]
    assert n == 2000      # --fast: every fifth test digit, from both halves of MNIST's test set
    assert summary["float32_test_accuracy"] == pytest.approx(1 - summary["errors"] / n)
    off = abs(summary["errors"] - round((1 - summary["test_accuracy"]) * n))
    assert off <= (1 if summary["precision"] == "float32" else 15)
    # the precision the loop trained in is said, with why; bfloat16 shows in the optimized graph
    assert summary["precision"] in ("float32", "bfloat16") and summary["precision_reason"]
    assert (summary["bfloat16_ops"] > 0) == (summary["precision"] == "bfloat16")
    for picture in ("confusion.png", "mistakes.png", "curves.png"):
        image = iio.imread(logdir / picture)
        assert image.shape[0] > 300 and image.std() > 10     # drawn, not blank
    # TensorBoard: the last test point is the printed accuracy; the learning rate and a traced step are there
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    test = EventAccumulator(str(logdir / "test"), size_guidance={"scalars": 0}).Reload()
    train = EventAccumulator(str(logdir / "train"), size_guidance={"scalars": 0}).Reload()
    points = test.Scalars("accuracy")
    assert points[0].step == 0 and len(points) == summary["test_points"] >= 7
    assert points[-1].value == pytest.approx(summary["curve_test_accuracy"], abs=1e-4)
    assert test.Scalars("full_test/accuracy")[-1].value == pytest.approx(summary["test_accuracy"], abs=1e-4)
    assert "train/learning_rate" in train.Tags()["scalars"] and train.Scalars("loss")[0].step == 0
    assert "step2" in train.Tags()["run_metadata"] and train.Graph() is not None
    rates = [e.value for e in train.Scalars("train/learning_rate")]
    assert max(rates) > rates[-1]                  # the one-cycle schedule, falling at the end
    assert points[-1].step == summary["steps"] == test.Scalars("full_test/accuracy")[-1].step
    # only train and test runs in the lesson's logdir (the packaged comparison run is written elsewhere)
    runs = {p.parent.relative_to(logdir).as_posix() for p in logdir.rglob("events.out.tfevents.*")}
    assert runs == {"train", "test"}, runs
    # before the long loop, how long the rest will take: from this run's own rates, with every
    # evaluation still to come counted (the loop's points, its last one and the whole test set)
    f = summary["forecast"]
    assert f["steps_left"] == summary["steps"] - 10 and f["batch_size"] == 64     # --fast's batches
    assert f["train_rate"] > 0 and f["eval_rate"] > 0 and f["took"] > 0
    assert f["images_left"] == (summary["test_points"] - 1) * summary["curve_images"] + summary["test_images"]
    assert f["seconds"] == pytest.approx(f["steps_left"] * 64 / f["train_rate"] + f["images_left"] / f["eval_rate"])


def test_10_the_forecast_line_says_its_numbers():
    """What lesson 10 prints before its long loop (the flagship's "about N on this host")."""
    import sys

    from lowtf.catalog import find_lessons, load_lesson

    forecast = sys.modules[load_lesson(find_lessons()["10"]).steps[0].fn.__module__].forecast
    seconds, line = forecast(1161, 128, 1200.0, 58000, 6000.0)
    assert seconds == pytest.approx(1161 * 128 / 1200 + 58000 / 6000)
    assert "about 2.2 min more on this host" in line and "1,161 steps at 1,200 img/s" in line
    assert "58,000 test images at 6,000 img/s" in line and max(map(len, line.splitlines())) <= 79
    seconds, line = forecast(70, 128, 1000.0, 17000, None)     # resumed: no evaluation timed yet
    assert seconds == pytest.approx(8.96) and "about 9 s" in line and "training only" in line


def test_resuming_a_finished_run_says_so(tmp_path, lesson10_fast):
    """--resume on a run that already reached its last step: a clear error (it divided by zero)."""
    # In this file, beside the other readers of lesson 10's run, so one test worker runs the lesson once.
    import shutil

    from lowtf.catalog import find_lessons, load_lesson
    from lowtf.lesson import LogdirError

    _, finished = lesson10_fast
    shutil.copytree(finished, tmp_path / "run")
    with pytest.raises(LogdirError, match="already finished"):
        load_lesson(find_lessons()["10"]).run(fast=True, logdir=tmp_path / "run", out=lambda s: None, resume=True)


@pytest.mark.slow   # default suite: test_10_lenet5_fast reads the same events (last point, full_test tag, runs,
                   # schedule, traced step); test_tensorboard.py reads a lesson's run over TensorBoard's HTTP API
def test_10_the_last_test_point_is_the_printed_accuracy(lesson10_fast):
    """Read through TensorBoard's own HTTP API: the test curve ends on the value the lesson printed for it,
    on the same images as every other point (no jump to another test set), and the full test set's
    score is its own tag, equal to the printed result. Only train and test runs: the packaged comparison
    run is not in the lesson's logdir."""
    summary, logdir = lesson10_fast
    with tensorboard(logdir) as base:
        tags = get(base + "/data/plugin/scalars/tags")
        assert set(tags) == {"train", "test"}
        test_points = scalars(base, "test", "accuracy")
        assert len(test_points) == summary["test_points"] and test_points[0][1] == 0
        assert test_points[-1][1] == summary["steps"]
        assert test_points[-1][2] == pytest.approx(summary["curve_test_accuracy"], abs=1e-4)
        (full,) = scalars(base, "test", "full_test/accuracy")
        assert full[1] == summary["steps"] and full[2] == pytest.approx(summary["test_accuracy"], abs=1e-4)
        rates = scalars(base, "train", "train/learning_rate")
        assert max(r[2] for r in rates) > rates[-1][2]       # the one-cycle schedule, falling at the end
        assert scalars(base, "train", "loss")[0][1] == 0
        info = get(base + "/data/plugin/graphs/info")
        assert info["train"]["run_graph"] is True and "step2" in info["train"]["tags"]


@pytest.mark.slow
def test_10_lenet5_full_reaches_0992(run_lesson):
    summary, _ = run_lesson("10", fast=False)
    assert summary["test_accuracy"] >= 0.992 and summary["float32_test_accuracy"] >= 0.992


@pytest.mark.slow   # default suite: exercise 22 checks dropout by hand; lessons 07, 08, 33, 34 compare models
def test_11_overfitting_shows_and_every_verdict_follows_from_its_numbers(run_lesson):
    s, logdir = run_lesson("11")
    # sized so that --fast overfits beyond its noise: that is the lesson's demonstration
    assert s["no_dropout_train_accuracy"] > 0.95
    claims = {v["claim"]: v for v in s["verdicts"]}
    assert claims["train vs test accuracy, no_dropout"]["verdict"].startswith("train ahead of test")
    # the rest (does dropout narrow the gap, raise test accuracy?) may go either way with a seed
    rises = sorted(c for c in claims if c.startswith("test loss, final vs at the lowest validation loss"))
    assert set(claims) - set(rises) == {"train vs test accuracy, no_dropout", "train vs test accuracy, dropout",
                                        "train-test gap, dropout vs no dropout", "test accuracy, dropout vs no dropout"}
    assert len(rises) <= 2      # none where the validation loss was lowest at the last point
    for name in ("no_dropout", "dropout"):
        # both models scored with dropout off on the same images: the training accuracy is that of all
        # the training digits, and the test accuracy recomputed from the final weights is the trainer's
        assert claims[f"train vs test accuracy, {name}"]["a"] == pytest.approx(s[f"{name}_train_accuracy"], abs=1e-4)
        assert claims[f"train vs test accuracy, {name}"]["b"] == pytest.approx(s[f"{name}_test_accuracy"], abs=1e-4)
        # the rise: the final test loss against the test loss where the VALIDATION loss was lowest
        rise = s[f"{name}_test_loss"] - s[f"{name}_test_loss_there"]
        assert s["test_loss_rise"][name] == pytest.approx(rise, abs=2e-3)
        for c in rises:
            if c.endswith(f", {name}"):
                assert f"(step {s[f'{name}_lowest_validation_step']})" in c
                assert claims[c]["a"] == pytest.approx(s[f"{name}_test_loss"], abs=2e-3)
                assert claims[c]["b"] == pytest.approx(s[f"{name}_test_loss_there"], abs=2e-3)
    test = claims["test accuracy, dropout vs no dropout"]
    assert (test["a"], test["b"]) == pytest.approx((s["dropout_test_accuracy"], s["no_dropout_test_accuracy"]), abs=1e-4)
    gap = claims["train-test gap, dropout vs no dropout"]
    assert gap["a"] == pytest.approx(s["dropout_train_accuracy"] - s["dropout_test_accuracy"], abs=2e-4)
    assert gap["se"] > 0
    with tensorboard(logdir) as base:     # what a learner opens: the result under its own tag
        for name in ("no_dropout", "dropout"):
            assert len(scalars(base, f"{name}/test", "accuracy")) >= 6        # the curve: step 0 and 5 more
            (full,) = scalars(base, f"{name}/test", "full_test/accuracy")
            assert full[2] == pytest.approx(s[f"{name}_test_accuracy"], abs=1e-4)
    assert s["dropout_keep_prob_0_2_kept"] == pytest.approx(0.2, abs=0.01)   # v1: the probability to keep
    assert s["dropout_rate_0_2_kept"] == pytest.approx(0.8, abs=0.01)        # rate: the probability to drop
    assert (logdir / "no_dropout" / "train").is_dir() and (logdir / "dropout" / "test").is_dir()


@pytest.mark.slow   # make test-all; lesson 10's test checks its filter GIFs
def test_12_filter_gifs_and_how_far_each_layer_moved(run_lesson):
    summary, _ = run_lesson("12")
    assert set(summary["gifs"]) == {"lenet5_conv1", "lenet5_conv2", "convnet_conv1_1", "convnet_conv2_1"}
    for path in summary["gifs"].values():
        frames = iio.imread(path, index=None)
        assert len(frames) == summary["frames"]
        assert np.abs(frames[-1].astype(int) - frames[0]).mean() > 0.5    # the picture changes
    assert all(0 < v < 5 for v in summary["relative_change"].values())
    # the GIFs are of networks that learned in the --fast budget (chance is 0.10)
    assert summary["lenet5_test_accuracy"] > 0.5 and summary["convnet_test_accuracy"] > 0.5
    # which layer moved more is a verdict from the filters' spread, and follows from its numbers
    assert len(summary["verdicts"]) == 2


@pytest.mark.slow
def test_13_optimizers_compared_with_verdicts_that_follow_from_their_numbers(run_lesson):
    s, logdir = run_lesson("13")
    assert [v["claim"] for v in s["verdicts"]] == ["test accuracy, momentum vs gradient descent",
                                                   "test accuracy, adam vs gradient descent"]
    assert s["verdicts"]   # claims: checked by the claims test (conftest)
    assert s["verdicts"][1]["a"] == s["adam_test_accuracy"] and s["verdicts"][1]["b"] == s["gradient_descent_test_accuracy"]
    with tensorboard(logdir) as base:
        for name in ("gradient_descent", "momentum", "adam"):
            (full,) = scalars(base, f"{name}/test", "full_test/accuracy")
            assert scalars(base, f"{name}/test", "accuracy")[-1][2] == pytest.approx(full[2], abs=1e-6)
            assert full[2] == pytest.approx(s[f"{name}_test_accuracy"], abs=1e-4)
    assert {p.name for p in logdir.iterdir() if p.is_dir()} == {"gradient_descent", "momentum", "adam"}
