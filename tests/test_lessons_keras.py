"""Lessons 22-26, the Keras half: each runs eagerly in a process of its own, as a learner runs it."""
import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import PYTHON, REPO, get, scalars, tensorboard

NOISE = ("Traceback", "WARNING", "UserWarning", "DeprecationWarning", "oneDNN custom operations", "cuInit", "absl",
         "E0000", "W0000", "I0000")   # TensorFlow's own lines; a lesson may teach what oneDNN is


def run_keras_lesson(number: str, logdir: Path, timeout: float = 600) -> dict:
    """``lowtf lesson NUMBER --fast`` in a fresh process; its summary.json, after checking a clean console."""
    run = subprocess.run([PYTHON, "-m", "lowtf", "lesson", number, "--fast", "--logdir", str(logdir)],
                         capture_output=True, text=True, timeout=timeout, cwd=REPO)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    console = run.stdout + run.stderr
    assert not [word for word in NOISE if word in console], console[-3000:]
    return json.loads((logdir / "summary.json").read_text())


@pytest.mark.slow   # default suite: lesson 28's test reads image folders and fits; exercise 13 fits from files
def test_22_reads_the_same_files_four_ways(tmp_path):
    s = run_keras_lesson("22", tmp_path)
    assert s["train_files"] == 3000
    assert s["folder_labels_match_csv"] and s["keras_class_order_is_label_order"]
    assert s["pydataset_every_file_once"] and s["pydataset_batches"] == math.ceil(3000 / 128)
    assert s["tfrecord_same_pixels"]
    rates = {"tf.data, files": s["tf_data_files_per_s"], "tf.data, cache": s["tf_data_cache_per_s"],
             "image_dataset_from_directory": s["keras_directory_per_s"], "PyDataset": s["pydataset_per_s"],
             "TFRecord": s["tfrecord_per_s"]}
    assert all(rate > 0 for rate in rates.values())
    assert s["fastest_reader"] == max(rates, key=rates.get)        # the ranking is the means' own
    assert len(s["verdicts"]) == 3
    assert set(s["fit_workers_per_s"]) == {"1", "2"} and all(len(r) == 3 for r in s["fit_workers_per_s"].values())
    assert s["csv_rows"] == 10_000 and s["multi_hot_matches_reader"]
    assert len(list((tmp_path / "jpeg").glob("*.jpg"))) == 500 and s["jpeg_bytes"] > 0
    assert 0 < s["jpeg_mean_error"] < 10 and abs(s["centred_mean"]) < 1e-4   # lossy, but near; centred
    assert (tmp_path / "samples.png").stat().st_size > 10_000
    assert len(list(tmp_path.glob("train-*-of-04.tfrecord"))) == 4


@pytest.mark.slow   # default suite: lesson 28's test fits Keras from files; exercise 15 runs a Keras callback
def test_23_keras_lenet5_callbacks_and_the_graph_by_hand(tmp_path):
    """Run as a learner runs it: `--step` in an 80-column pseudo-terminal, Enter at every prompt. No line
    is wider than the terminal, the console holds no TensorFlow noise, and the numbers hold."""
    from lowtf.bench.lessons import time_lesson
    run = time_lesson("23", tmp_path, timeout=600, step=True)
    assert run["exit_code"] == 0 and run["lines"] > 100, run["text"][-2000:]
    too_wide = [line for line in run["too_wide"] if len(line.split()) != 1 or "/" not in line]   # a path stays whole
    assert too_wide == [], too_wide[:5]
    assert not [word for word in NOISE if word in run["text"]], run["text"][-3000:]
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["keras_parameters"] == s["lowtf_parameters"] == 3_274_634
    assert s["same_outputs"] < 1e-5                                 # three APIs, one function
    # ModelCheckpoint wrote one file per epoch; the TensorBoard callback wrote epoch_loss
    assert s["checkpoints"] == ["lenet5-epoch01.keras", "lenet5-epoch02.keras"]
    assert all((tmp_path / "checkpoints" / name).stat().st_size > 1_000_000 for name in s["checkpoints"])
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for run in ("train", "validation"):
        events = EventAccumulator(str(tmp_path / "keras" / run), size_guidance={"tensors": 0})
        events.Reload()
        assert "epoch_loss" in events.Tags()["tensors"], (run, events.Tags())
    # EarlyStopping stopped `patience` epochs after the best one, and put the best weights back
    assert s["early_stop_epochs_run"] == s["early_stop_best_epoch"] + s["early_stop_patience"] < 30
    assert s["early_stop_restored_val_loss"] == pytest.approx(s["early_stop_best_val_loss"], abs=2e-3)
    # load_model brought back the weights and the optimizer's step count, and training went on from there
    assert s["loaded_max_difference"] < 1e-6
    # computed, as said, from the sizes the lesson recorded
    train_batch, validation_batch = s["batch_sizes"]
    assert s["steps_per_epoch"] == s["images_per_epoch"] // train_batch > 1
    assert s["validation_steps"] == s["validation_images"] // validation_batch > 1
    assert s["keras_steps"] == 2 * s["steps_per_epoch"]
    assert s["optimizer_steps_loaded"] == s["keras_steps"]
    assert s["optimizer_steps_after"] == s["keras_steps"] + s["steps_per_epoch"]
    # a few dozen steps: trained, far above chance (0.1); the by-hand init lags Keras's that early
    assert s["keras_test_accuracy"] > 0.7 and s["by_hand_test_accuracy"] > 0.6 and s["continued_test_accuracy"] > 0.7
    assert [v["claim"] for v in s["verdicts"]] == ["ms per training step, Keras vs by hand",
                                                   "Keras vs by hand, test accuracy"]
    assert s["verdicts"]   # claims: checked by the claims test (conftest)
    assert s["keras_speed_ratio"] == pytest.approx(s["keras_images_per_second"] / s["by_hand_images_per_second"],
                                                   abs=0.02)
    assert (tmp_path / "by_hand" / "train").is_dir()                 # both runs under one TensorBoard logdir
    assert s["eager_after_the_graph"] is True                        # the graph block left Keras's eager mode on
    # In TensorBoard (its HTTP API): the Keras run and the by-hand run on the same tags and step axis,
    # and each test curve ends on the accuracy the lesson printed
    with tensorboard(tmp_path) as base:
        tags = get(base + "/data/plugin/scalars/tags")
        for run in ("keras/train", "by_hand/train", "keras/test", "by_hand/test"):
            assert {"loss", "accuracy"} <= set(tags[run]), (run, tags.get(run))
        assert scalars(base, "keras/train", "accuracy")[-1][1] == s["keras_steps"] == \
            scalars(base, "by_hand/train", "accuracy")[-1][1]
        assert scalars(base, "keras/test", "accuracy")[-1][2] == pytest.approx(s["keras_test_accuracy"], abs=1e-4)
        assert scalars(base, "by_hand/test", "accuracy")[-1][2] == pytest.approx(s["by_hand_test_accuracy"], abs=1e-4)


@pytest.mark.slow
def test_24_two_heads_loss_dict_and_thresholds(tmp_path):
    s = run_keras_lesson("24", tmp_path)
    assert s["output_shapes"] == {"kind": [None, 10], "attributes": [None, 4]}
    assert s["test_kind_accuracy"] > 0.7 and s["test_attributes_auc"] > 0.9
    assert set(s["thresholds"]) == {"top", "footwear", "dark", "large"}
    assert all(0 < t < 1 for t in s["thresholds"].values())
    # each attribute's verdict (chosen threshold vs 0.5 on the test files) follows from its bootstrap SE
    assert [v["claim"] for v in s["verdicts"]] == [f"test F2, {a}: chosen threshold vs 0.5"
                                                   for a in ("top", "footwear", "dark", "large")]
    assert all(v["se"] > 0 for v in s["verdicts"])


@pytest.mark.slow   # default suite: exercise 25's check trains a new head on a bitwise-frozen base
def test_25_transfer_helps_with_few_labels(tmp_path):
    s = run_keras_lesson("25", tmp_path)
    table = s["transfer"]
    assert list(table) == ["25", "2000"]
    assert all(set(row) == {"scratch", "frozen", "fine-tuned"} and all(0 < v <= 1 for v in row.values())
               for row in table.values())
    gain = {n: max(row["frozen"], row["fine-tuned"]) - row["scratch"] for n, row in table.items()}
    assert s["gain_with_few_labels"] == pytest.approx(gain["25"], abs=1e-4)
    assert s["gain_with_many_labels"] == pytest.approx(gain["2000"], abs=1e-4)
    # the lesson's verdicts are computed from its numbers and their standard errors (which way they go
    # depends on the seed: the test checks the reading, not the direction)
    assert len(s["verdicts"]) == 2
    assert s["transfer_helped_with_few"] == s["verdicts"][0]["verdict"].startswith("transfer ahead")
    assert (tmp_path / "transfer.png").stat().st_size > 10_000 and (tmp_path / "base.keras").exists()


def _servers_started_from(folder: Path) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "lowtf serve" in text.replace("-m lowtf serve", "lowtf serve") and str(folder) in text:
            found.append(text)
    return found


@pytest.mark.slow   # the default suite serves a Keras export to both articles' requests and TF Serving's gRPC
                   # client in test_serve.py, and runs saved_model_cli in lesson 21's test
def test_26_keras_exports_served_to_both_articles_clients(tmp_path):
    s = run_keras_lesson("26", tmp_path)
    assert s["classifier_test_accuracy"] > 0.6
    # saved_model_cli, REST with a batch axis, REST with named inputs and outputs, and gRPC: Keras's numbers
    for key in ("cli_max_difference", "flowers_client_max_difference", "satellite_client_max_difference",
                "grpc_max_difference"):
        assert s[key] < 1e-5, key
    for name in ("classifier", "garments"):
        assert (tmp_path / "models" / name / "1" / "saved_model.pb").exists()
    assert not _servers_started_from(tmp_path), "the lesson left its server running"


def test_image_folder_is_verified_and_rebuilt_when_a_file_changes(tmp_path, monkeypatch):
    from lowtf.data import image_folder
    from lowtf.data.store import DataError

    monkeypatch.setattr(image_folder, "TRAIN_PER_CLASS", 3)
    monkeypatch.setattr(image_folder, "TEST_PER_CLASS", 1)
    log = []
    folder = image_folder.ensure_image_folder(tmp_path / "png", log=log.append)
    train = image_folder.read_labels(folder, "train")
    assert len(train) == 30 and len(image_folder.read_labels(folder, "test")) == 10
    assert sorted(np.unique(train.labels)) == list(range(10)) and train.attributes.shape == (30, 4)
    assert image_folder.problem(folder.root) is None
    assert not list(tmp_path.glob(".png.*"))                          # no temporary folder left behind
    victim = Path(train.paths[0])
    victim.write_bytes(victim.read_bytes()[:-5])                      # a truncated file
    log.clear()
    image_folder.ensure_image_folder(tmp_path / "png", log=log.append)
    assert any("has changed" in line for line in log) and image_folder.problem(folder.root) is None
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(DataError, match="is a file"):
        image_folder.ensure_image_folder(tmp_path / "a_file")


def test_keras_lessons_refuse_graph_mode_with_a_clear_message(run_lesson):
    """The suite's own process is in graph mode: a Keras lesson loaded here says to run it on its own."""
    from lowtf.errors import CourseError
    with pytest.raises(CourseError, match=r"uses Keras.*run it in a process of its own \(lowtf lesson 24\)"):
        run_lesson("24")


@pytest.mark.slow
def test_27_number_formats_store_what_the_formats_can_and_verdicts_follow(tmp_path):
    s = run_keras_lesson("27", tmp_path)
    stored = s["stored"]
    # read back through TensorFlow's own casts: float16 overflows at 70,000 (inf, written as null in
    # summary.json) and flushes 1e-8 to zero; bfloat16 keeps both, to 2-3 digits; float32 keeps 1/3 to 7 digits
    assert stored["70,000"]["float16"] is None and stored["1e-8"]["float16"] == 0.0
    assert abs(stored["70,000"]["bfloat16"] - 70000) < 70000 * 2 ** -8
    assert abs(stored["1e-8"]["bfloat16"] - 1e-8) < 1e-8 * 2 ** -8
    assert abs(stored["1/3"]["float32"] - 1 / 3) < 1e-6 < abs(stored["1/3"]["bfloat16"] - 1 / 3)
    g = s["gradients"]
    assert g["float16"] == 0.0 and g["float32"] == pytest.approx(1e-9, rel=1e-6)
    assert g["float16, loss x 2^15"] == pytest.approx(1e-9, rel=0.01) and g["bfloat16"] == pytest.approx(1e-9, rel=0.01)
    assert s["bfloat16_ops"] > 0        # Grappler's rewrite, asked for directly: the same on every CPU
    assert s["verdicts"]   # claims: checked by the claims test (conftest)
    if s["host"]["bfloat16_class"] in ("native", "emulated"):
        # verdicts: speed from the timed training rounds, accuracy paired on the same test images
        assert [v["claim"] for v in s["verdicts"]] == ["training images/s, bfloat16 vs float32",
                                                       "test accuracy, bfloat16 vs float32"]
        rates = s["rates"]
        assert len(rates["float32"]) == len(rates["bfloat16"]) >= 3 and min(rates["float32"]) > 0
        assert s["verdicts"][0]["a"] == pytest.approx(sum(rates["bfloat16"]) / len(rates["bfloat16"]), abs=0.1)
        assert s["verdicts"][1]["kind"] == "paired"
        assert s["verdicts"][1]["a"] == s["bfloat16_accuracy"] and s["verdicts"][1]["b"] == s["float32_accuracy"]
        assert min(s["float32_accuracy"], s["bfloat16_accuracy"]) > 0.8    # both learnt (chance: 0.1)
    else:   # AVX2 (or ONEDNN_MAX_CPU_ISA=AVX2): bfloat16 timed on Eigen's fallback, never trained
        assert [v["claim"] for v in s["verdicts"]] == ["speed of bfloat16 on Eigen as a fraction of float32's"]
        rounds = s["fallback_rounds"]
        assert len(rounds["float32"]) == len(rounds["bfloat16 on Eigen"]) >= 3
        ratios = [e / f for e, f in zip(rounds["bfloat16 on Eigen"], rounds["float32"])]   # round by round
        assert s["verdicts"][0]["a"] == pytest.approx(sum(ratios) / len(ratios), abs=1e-4)
        assert s["verdicts"][0]["b"] == 1.0 and s["verdicts"][0]["df"] == len(ratios) - 1
        assert "bfloat16_accuracy" not in s
    assert s["keras_policy"] == {"conv computes in": "bfloat16", "conv weights stored as": "float32",
                                 "conv output": "bfloat16", "last layer computes in": "float32", "logits": "float32"}


def test_28_tfds_offline_catalogue_builder_load_image_folder_and_fit(tmp_path):
    """TFDS's real API with nothing downloaded: the catalogue and the flowers download read from TFDS's own
    files, a builder of the course's own prepared and read back by tfds.load with its info, lesson 22's PNG
    folders through tfds.ImageFolder, and a model trained from tfds.load's dataset."""
    s = run_keras_lesson("28", tmp_path)
    assert s["builders"] > 100 and s["flowers_download_bytes"] > 10 ** 8
    assert s["num_classes"] == 10 and s["split_sizes"] == {"train": 6000, "test": 1000}
    assert s["example"] == [[28, 28, 1], "uint8"]
    assert s["image_folder_classes"] == 10 and s["image_folder_splits"] == {"train": 10000, "test": 2000}
    assert s["test_accuracy"] > 0.5


@pytest.mark.slow
def test_29_augmentation_verdicts_follow_and_the_picture_is_written(tmp_path):
    """The mirror test on both datasets and the shift experiment: every verdict is the one its numbers
    give (a shift's gain may or may not clear the noise with a seed; the test does not ask which)."""
    s = run_keras_lesson("29", tmp_path)
    assert set(s["mirror"]) == {"fashion_mnist", "mnist"}
    assert [v["claim"] for v in s["verdicts"]] == ["fashion_mnist: test images as they are vs mirrored",
                                                   "mnist: test images as they are vs mirrored",
                                                   "test accuracy, shifted vs plain"]
    assert all(v["se"] > 0 for v in s["verdicts"])
    assert s["shift_train_accuracy"]["plain"] > 0.95          # 300 digits, learnt by heart: the overfitting shown
    assert (tmp_path / "mirrored.png").stat().st_size > 10_000
