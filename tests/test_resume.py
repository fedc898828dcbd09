"""--resume with whatever the checkpoint folder holds: a damaged newest checkpoint (truncated data,
missing index) is skipped for the one before, with a line saying why; none usable is a clear error;
lesson 10 resumed at its last step finishes (it divided by zero timing no step)."""
import os
import subprocess

import pytest
import tensorflow.compat.v1 as tf

from conftest import PYTHON
from lowtf.data.splits import load_splits
from lowtf.models import mlp
from lowtf.train import TrainConfig, train
from lowtf.train.resume import CheckpointDamaged


@pytest.fixture(scope="module")
def small():
    return load_splits(validation_size=500, train_size=2000, test_size=1000)


def adam(step):
    return tf.train.AdamOptimizer(1e-3)


def config(**kw):
    base = dict(steps=20, batch_size=32, eval_every=10, summary_every=5, histogram_every=20,
                checkpoint_every=10, progress=False, seed=3, max_to_keep=5)
    base.update(kw)
    return TrainConfig(**base)


def two_checkpoints(small, logdir):
    train(mlp, small, adam, config(), logdir)
    ckpts = logdir / "checkpoints"
    assert (ckpts / "model-10.index").is_file() and (ckpts / "model-20.index").is_file()
    return ckpts


def truncate(path):
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


@pytest.mark.parametrize("damage", ["truncated data", "missing index"])
def test_a_damaged_newest_checkpoint_is_skipped_for_the_one_before(small, tmp_path, capsys, damage):
    ckpts = two_checkpoints(small, tmp_path)
    if damage == "truncated data":
        truncate(next(ckpts.glob("model-20.data-*")))
    else:
        (ckpts / "model-20.index").unlink()
    resumed = train(mlp, small, adam, config(steps=30, resume=True), tmp_path)
    assert resumed.start_step == 10 and resumed.final_step == 30
    said = capsys.readouterr().out
    assert "skipping checkpoint model-20" in said
    assert ("damaged" if damage == "truncated data" else "index file model-20.index is missing") in said


def test_no_usable_checkpoint_is_a_clear_error(small, tmp_path):
    ckpts = two_checkpoints(small, tmp_path)
    for data in ckpts.glob("model-*.data-*"):
        truncate(data)
    with pytest.raises(CheckpointDamaged, match=r"model-20: its data is damaged.*model-10.*Leave out --resume"):
        train(mlp, small, adam, config(steps=30, resume=True), tmp_path)


def test_a_garbled_checkpoint_list_still_finds_the_checkpoints(small, tmp_path):
    ckpts = two_checkpoints(small, tmp_path)
    (ckpts / "checkpoint").write_text("model_checkpoint_path: \"model-20\nall_model_che")
    resumed = train(mlp, small, adam, config(steps=30, resume=True), tmp_path)
    assert resumed.start_step == 20


def at_step(checkpoint: str, step: int, out_dir) -> None:
    """Rewrite ``checkpoint`` as if it had been saved at global step ``step``, the newest in its folder."""
    reader = tf.train.load_checkpoint(checkpoint)
    with tf.Graph().as_default():
        variables = [tf.Variable(reader.get_tensor(name), name=name)
                     for name in reader.get_variable_to_shape_map()]
        step_var = next(v for v in variables if v.op.name == "global_step")
        saver = tf.train.Saver(variables)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(step_var.assign(step))
            saver.save(sess, str(out_dir / "model"), global_step=step)


@pytest.mark.slow     # lesson 10 --fast twice: make test-all
def test_lesson_10_resumed_at_its_last_step_finishes(tmp_path):
    logdir = tmp_path / "run"
    first = subprocess.run([PYTHON, "-m", "lowtf", "lesson", "10", "--fast", "--quiet", "--logdir", str(logdir)],
                           capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    latest = tf.train.latest_checkpoint(str(logdir / "checkpoints"))
    steps = int(latest.rsplit("-", 1)[1])
    at_step(latest, steps - 1, logdir / "checkpoints")
    for old in (logdir / "checkpoints").glob(f"model-{steps}.*"):
        old.unlink()
    again = subprocess.run([PYTHON, "-m", "lowtf", "lesson", "10", "--fast", "--quiet", "--resume", "--logdir",
                            str(logdir)], capture_output=True, text=True, timeout=600)
    text = again.stdout + again.stderr
    assert again.returncode == 0, text[-3000:]
    assert "Traceback" not in text and f"resuming at step {steps - 1}" in text
