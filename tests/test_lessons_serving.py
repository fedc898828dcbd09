"""Lessons 17-21 in --fast mode: pipelines, TFRecord, two heads, transfer, export and serve."""
import glob

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from lowtf.data.splits import load_splits


def test_17_pipeline_order_semantics(run_lesson):
    s, logdir = run_lesson("17")
    kept = s["order_shuffle_then_repeat"]
    assert sorted(kept[:6]) == sorted(kept[6:]) == list(range(6))  # each epoch complete before the next
    assert kept[:6] != list(range(6))
    mixed = s["order_repeat_then_shuffle"]
    assert sorted(mixed) == sorted(list(range(6)) * 2)
    assert len(set(mixed[:6])) < 6  # with seed 1 an element of epoch 2 arrives before epoch 1 is done
    batches = s["order_batch_then_shuffle"]
    assert sorted(batches) == [[0, 1], [2, 3], [4, 5]] and batches != [[0, 1], [2, 3], [4, 5]]
    assert s["first_elements"]["1"] == [0] and max(s["first_elements"]["10"]) < 10
    # a bigger buffer starts later: 1000 reads of 1 ms come before its first element (start-up, a few
    # hundred ms on a busy host, comes before both)
    delays = s["first_element_ms"]
    assert delays["1000"] >= 1000 and delays["1000"] > 2 * delays["10"]
    # prefetch: the verdict is the one its per-step times give (SE from their spread)
    assert len(s["verdicts"]) == 2
    assert s["prefetch_speedup"] == pytest.approx(s["ms_per_step"]["no prefetch"] / s["ms_per_step"]["prefetch(1)"],
                                                  abs=0.02)
    # the epoch-boundary refill: unfused, every round pauses for at least 100 elements' 1 ms sleeps; fused,
    # the typical round (the median: one busy moment of a shared host may stall any round) has no such pause
    waits = s["longest_waits_ms"]
    assert min(waits["shuffle().repeat(2), fusion off"]) >= 100
    for fused in ("shuffle().repeat(2), as written today", "shuffle_and_repeat(B, 2), TF 1.x"):
        assert sorted(waits[fused])[1] < 50, (fused, waits[fused])
    assert (logdir / "augmented.png").stat().st_size > 10_000


def test_18_tfrecord_files_hold_the_digits_byte_exact(run_lesson):
    s, logdir = run_lesson("18")
    files = sorted(glob.glob(str(logdir / "mnist-train-*-of-00004.tfrecord")))
    assert len(files) == 4 and s["round_trip_exact"] is True
    images, labels = [], []
    for path in files:  # read independently of the lesson's own parser
        for record in tf.io.tf_record_iterator(path):
            example = tf.train.Example.FromString(record)
            feature = example.features.feature
            images.append(np.frombuffer(feature["image_raw"].bytes_list.value[0], np.uint8).reshape(28, 28))
            labels.append(feature["label"].int64_list.value[0])
    train = load_splits(validation_size=0).train
    assert len(images) == s["records"]
    np.testing.assert_array_equal(np.stack(images), train.images[:len(images), :, :, 0])
    np.testing.assert_array_equal(labels, train.labels[:len(labels)])
    assert s["streamed_test_accuracy"] > 0.85


@pytest.mark.slow   # default suite: exercise 10's check trains two heads on two summed losses
def test_19_two_heads_both_losses_decrease(run_lesson):
    s, _ = run_lesson("19")
    assert s["digit_loss_last"] < s["digit_loss_first"] / 4
    assert s["attribute_loss_last"] < s["attribute_loss_first"] / 2
    assert s["digit_test_accuracy"] >= 0.90
    assert all(acc >= 0.85 for acc in s["attribute_test_accuracy"].values())


@pytest.mark.slow   # make test-all; lesson 25's test checks frozen and fine-tuned transfer
def test_20_frozen_layers_are_bitwise_unchanged(run_lesson):
    s, _ = run_lesson("20")
    before = tf.train.load_checkpoint(s["mnist_checkpoint"])
    after = tf.train.load_checkpoint(s["frozen_checkpoint"])
    for name in ("lenet5/conv1/weights", "lenet5/conv1/biases", "lenet5/conv2/weights", "lenet5/conv2/biases"):
        np.testing.assert_array_equal(before.get_tensor(name), after.get_tensor(name))
    # and the head did train: its loss fell
    assert s["frozen_loss_last"] < s["frozen_loss_first"]
    assert s["frozen_test_accuracy"] > 0.7 and s["fine_tuned_test_accuracy"] > 0.7
    # the lesson's verdict is read from its own numbers
    assert s["frozen_share"] < 0.02
    assert s["transfer_gain"] == pytest.approx(s["fine_tuned_test_accuracy"] - s["scratch_test_accuracy"], abs=1e-3)
    (recorded,) = s["verdicts"]                 # fine-tuned vs scratch, with its standard error
    assert recorded["a"] - recorded["b"] == pytest.approx(s["transfer_gain"], abs=2e-4)
    helped = recorded["verdict"].startswith("fine-tuned ahead")
    assert s["verdict"].startswith("transfer helped") == helped


@pytest.mark.slow   # default suite: test_serve*.py serve exports to both articles' clients; exercise 12 exports one
def test_21_export_cli_serve_and_new_version(run_lesson):
    s, logdir = run_lesson("21")
    assert "inputs['images'] tensor_info" in s["cli_show"] and "shape: (-1, 28, 28, 1)" in s["cli_show"]
    assert "outputs['probabilities']" in s["cli_show"] and "name: classes:0" in s["cli_show"]
    assert "cli_run" not in s       # run's command line is shown, not run: step 3 loads and runs the export
    assert s["served_class"] == s["true_label"] == 7
    assert s["served_accuracy"] > 0.8 and s["requests_per_second"] > 0
    assert s["served_version"] == 2
    assert (logdir / "models" / "lenet5" / "1" / "saved_model.pb").exists()
    # simple_save's one call and the Builder's export load to the same function
    assert (logdir / "models" / "lenet5_simple_save" / "1" / "saved_model.pb").exists()
    assert s["simple_save_max_difference"] < 1e-6


@pytest.mark.slow
def test_21_sigterm_stops_the_lesson_and_its_server(tmp_path):
    """SIGTERM (or a closed terminal's SIGHUP) runs the lesson's cleanups: no lowtf serve is left running."""
    import signal
    import subprocess
    import sys
    import time
    from conftest import processes_mentioning
    logdir = tmp_path / "21"
    proc = subprocess.Popen([sys.executable, "-m", "lowtf", "lesson", "21", "--fast", "--logdir", str(logdir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while not [pid for pid in processes_mentioning(str(logdir)) if pid != proc.pid]:
        assert time.time() < deadline and proc.poll() is None, "the lesson never started its server"
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert "Interrupted (SIGTERM)" in out
    time.sleep(0.5)
    assert processes_mentioning(str(logdir)) == []
