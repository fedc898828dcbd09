"""Lessons 07-13 in --fast mode, with the accuracy thresholds they promise; lesson 10 in full is slow."""
import imageio.v2 as imageio
import pytest


def test_07_softmax(run_lesson):
    summary, logdir = run_lesson("07")
    assert summary["test_accuracy"] >= 0.90
    assert list((logdir / "train").glob("events.*")) and list((logdir / "test").glob("events.*"))


def test_08_mlp(run_lesson):
    summary, _ = run_lesson("08")
    assert summary["parameters"] == 443_610
    assert summary["test_accuracy"] >= 0.95


def test_09_convolution_sizes(run_lesson):
    summary, logdir = run_lesson("09")
    h, w = summary["size_input"]
    assert summary["size_SAME"] == [h, w]
    assert summary["size_VALID"] == [h - 6, w - 6]
    assert summary["size_SAME_stride_2"] == [(h + 1) // 2, (w + 1) // 2]
    assert summary["size_2x2_max_pool"] == [(h + 1) // 2, (w + 1) // 2]
    assert (logdir / "feature_maps.png").stat().st_size > 10_000


def test_10_lenet5_fast(run_lesson):
    summary, logdir = run_lesson("10")
    assert summary["parameters"] == 3_274_634
    assert summary["test_accuracy"] >= 0.97
    assert len(imageio.mimread(summary["gif"])) == summary["gif_frames"] > 10
    assert (logdir / "checkpoints" / "checkpoint").exists()
    # predictions restored from the checkpoint agree with the trainer's own test accuracy
    assert abs(summary["errors"] - round((1 - summary["test_accuracy"]) * 10000)) <= 1
    assert (logdir / "confusion.png").exists() and (logdir / "mistakes.png").exists()


@pytest.mark.slow
def test_10_lenet5_full_reaches_0992(run_lesson):
    summary, _ = run_lesson("10", fast=False)
    assert summary["test_accuracy"] >= 0.992


def test_11_dropout_narrows_the_overfitting_gap(run_lesson):
    s, logdir = run_lesson("11")
    gap_without = s["no_dropout_train_accuracy"] - s["no_dropout_test_accuracy"]
    gap_with = s["dropout_train_accuracy"] - s["dropout_test_accuracy"]
    assert s["no_dropout_train_accuracy"] > 0.95 and gap_without > 0.05
    assert gap_with < gap_without
    assert (logdir / "no_dropout" / "train").is_dir() and (logdir / "dropout" / "test").is_dir()


def test_12_filter_gifs(run_lesson):
    summary, _ = run_lesson("12")
    assert set(summary["gifs"]) == {"lenet5_conv1", "lenet5_conv2", "convnet_conv1_1", "convnet_conv2_1"}
    for path in summary["gifs"].values():
        assert len(imageio.mimread(path)) == summary["frames"]


def test_13_momentum_and_adam_beat_plain_gradient_descent(run_lesson):
    s, logdir = run_lesson("13")
    assert s["gradient_descent_final_loss"] > max(s["momentum_final_loss"], s["adam_final_loss"])
    assert {p.name for p in logdir.iterdir() if p.is_dir()} == {"gradient_descent", "momentum", "adam"}
