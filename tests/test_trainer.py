"""The training loop: resume equals an uninterrupted run, early stopping, Ctrl-C, determinism."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from lowtf.data.splits import load_splits
from lowtf.models import mlp
from lowtf.train import Hook, TrainConfig, train


@pytest.fixture(scope="module")
def small():
    return load_splits(validation_size=500, train_size=2000, test_size=1000)


def adam(step, per_epoch):
    return tf.train.AdamOptimizer(1e-3)


def config(**kw):
    base = dict(steps=40, batch_size=32, eval_every=20, summary_every=1, histogram_every=20,
                checkpoint_every=20, progress=False, seed=3)
    base.update(kw)
    return TrainConfig(**base)


def weights(logdir):
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(logdir / "checkpoints")))
    return {name: reader.get_tensor(name) for name in ("mlp/hidden1/weights", "mlp/logits/biases", "global_step")}


def test_resume_continues_the_global_step_and_matches_an_uninterrupted_run(small, tmp_path):
    whole = train(mlp, small, adam, config(), tmp_path / "whole")
    first = train(mlp, small, adam, config(steps=20), tmp_path / "split")
    second = train(mlp, small, adam, config(), tmp_path / "split")
    assert (first.final_step, second.start_step, second.final_step) == (20, 20, 40)
    assert second.steps[0] == 21
    np.testing.assert_allclose(second.loss, whole.loss[20:], rtol=1e-4)
    a, b = weights(tmp_path / "whole"), weights(tmp_path / "split")
    assert a["global_step"] == b["global_step"] == 40
    np.testing.assert_allclose(a["mlp/hidden1/weights"], b["mlp/hidden1/weights"], rtol=1e-4, atol=1e-6)


def test_same_seed_same_numbers_other_seed_other_numbers(small, tmp_path):
    a = train(mlp, small, adam, config(steps=10, seed=1), tmp_path / "a")
    b = train(mlp, small, adam, config(steps=10, seed=1), tmp_path / "b")
    c = train(mlp, small, adam, config(steps=10, seed=2), tmp_path / "c")
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-5)
    assert not np.allclose(a.loss, c.loss)


def test_early_stopping_when_validation_stops_improving(small, tmp_path):
    frozen = lambda step, per_epoch: tf.train.GradientDescentOptimizer(0.0)  # noqa: E731
    h = train(mlp, small, frozen, config(steps=200, eval_every=10, patience=2), tmp_path)
    assert h.stopped_early and h.final_step == 30
    assert h.eval_steps == [10, 20, 30] and len(set(h.validation_accuracy)) == 1


def test_no_early_stop_while_improving(small, tmp_path):
    h = train(mlp, small, adam, config(steps=60, eval_every=20, patience=3), tmp_path)
    assert not h.stopped_early and h.final_step == 60


def test_ctrl_c_saves_a_checkpoint_and_closes_writers(small, tmp_path):
    def interrupt(sess, step, params):
        if step == 15:
            raise KeyboardInterrupt
    h = train(mlp, small, adam, config(steps=100), tmp_path, hooks=[Hook(every=15, fn=interrupt)])
    assert h.interrupted and h.final_step == 15
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("model-15")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(tmp_path / "train"), size_guidance={"scalars": 0}).Reload()
    assert [e.step for e in events.Scalars("loss")] == list(range(1, 16))  # flushed and closed
    resumed = train(mlp, small, adam, config(steps=20), tmp_path)
    assert resumed.start_step == 15 and resumed.final_step == 20


def test_history_and_summaries(small, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    h = train(mlp, small, adam, config(steps=40), tmp_path)
    assert h.steps == list(range(1, 41)) and h.eval_steps == [20, 40]
    assert 0 < h.final_test_accuracy <= 1 and h.images_per_second > 0
    assert (tmp_path / "history.json").exists()
    train_events = EventAccumulator(str(tmp_path / "train"), size_guidance={"scalars": 0}).Reload()
    test_events = EventAccumulator(str(tmp_path / "test"), size_guidance={"scalars": 0}).Reload()
    assert {"loss", "accuracy"} <= set(train_events.Tags()["scalars"])
    assert "params/mlp/hidden1/weights" in train_events.Tags()["histograms"]
    assert [e.step for e in test_events.Scalars("accuracy")] == [20, 40]
    assert test_events.Scalars("accuracy")[-1].value == pytest.approx(h.final_test_accuracy, abs=1e-6)


def test_stops_once_the_target_accuracy_is_reached(small, tmp_path):
    h = train(mlp, small, adam, config(steps=400, eval_every=20, target_accuracy=0.5), tmp_path)
    assert h.reached_target and h.final_step < 400
    assert h.test_accuracy[-1] >= 0.5 and all(a < 0.5 for a in h.test_accuracy[:-1])
