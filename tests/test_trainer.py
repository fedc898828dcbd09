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


def adam(step):
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
    second = train(mlp, small, adam, config(resume=True), tmp_path / "split")
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
    frozen = lambda step: tf.train.GradientDescentOptimizer(0.0)  # noqa: E731
    h = train(mlp, small, frozen, config(steps=200, eval_every=10, patience=2), tmp_path)
    assert h.stopped_early and h.final_step == 30
    assert h.eval_steps == [0, 10, 20, 30] and len(set(h.validation_accuracy)) == 1


def test_early_stopping_needs_a_validation_split_never_the_test_set(small, tmp_path):
    from lowtf.data.splits import Splits
    no_validation = Splits(small.train, None, small.test)
    with pytest.raises(ValueError, match="watches the validation split"):
        train(mlp, no_validation, adam, config(patience=2), tmp_path)


def test_a_fresh_run_does_not_resume_unless_asked(small, tmp_path):
    train(mlp, small, adam, config(steps=20), tmp_path)
    again = train(mlp, small, adam, config(steps=20), tmp_path / "other")
    assert again.start_step == 0
    fresh = train(mlp, small, adam, config(steps=20), tmp_path)
    assert fresh.start_step == 0 and fresh.final_step == 20


def test_no_early_stop_while_improving(small, tmp_path):
    h = train(mlp, small, adam, config(steps=60, eval_every=20, patience=3), tmp_path)
    assert not h.stopped_early and h.final_step == 60


def test_ctrl_c_saves_a_checkpoint_closes_writers_and_is_not_reported_as_success(small, tmp_path):
    def interrupt(sess, step, params):
        if step == 15:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        train(mlp, small, adam, config(steps=100), tmp_path, hooks=[Hook(every=15, fn=interrupt)])
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("model-15")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(tmp_path / "train"), size_guidance={"scalars": 0}).Reload()
    assert [e.step for e in events.Scalars("loss")] == list(range(0, 16))  # flushed and closed
    resumed = train(mlp, small, adam, config(steps=20, resume=True), tmp_path)
    assert resumed.start_step == 15 and resumed.final_step == 20


def test_resume_keeps_max_to_keep_across_restarts(small, tmp_path):
    for steps in (20, 40, 60, 80, 100):
        train(mlp, small, adam, config(steps=steps, resume=True, max_to_keep=2), tmp_path)
    kept = sorted(p.name for p in (tmp_path / "checkpoints").glob("model-*.index"))
    assert kept == ["model-100.index", "model-80.index"]


def test_history_and_summaries(small, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    h = train(mlp, small, adam, config(steps=40, summary_every=4), tmp_path)
    assert h.steps == list(range(4, 41, 4)) and h.eval_steps == [0, 20, 40]
    assert 0 < h.final_test_accuracy <= 1 and h.images_per_second > 0
    assert (tmp_path / "history.json").exists()
    train_events = EventAccumulator(str(tmp_path / "train"), size_guidance={"scalars": 0}).Reload()
    test_events = EventAccumulator(str(tmp_path / "test"), size_guidance={"scalars": 0}).Reload()
    assert {"loss", "accuracy"} <= set(train_events.Tags()["scalars"])
    assert [e.step for e in train_events.Scalars("loss")] == [0] + h.steps   # a step-0 point, then means
    assert "params/mlp/hidden1/weights" in train_events.Tags()["histograms"]
    assert "step2" in train_events.Tags()["run_metadata"]
    assert [e.step for e in test_events.Scalars("accuracy")] == [0, 20, 40]
    assert test_events.Scalars("accuracy")[-1].value == pytest.approx(h.final_test_accuracy, abs=1e-6)


def test_train_points_are_means_since_the_last_point(small, tmp_path):
    every = train(mlp, small, adam, config(steps=12, summary_every=1), tmp_path / "a")
    means = train(mlp, small, adam, config(steps=12, summary_every=4), tmp_path / "b")
    np.testing.assert_allclose(means.loss, np.reshape(every.loss, (3, 4)).mean(axis=1), rtol=1e-4)


def test_summaries_the_optimizer_defines_are_written(small, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    def scheduled(step):
        rate = tf.train.exponential_decay(1e-3, step, 10, 0.5)
        tf.summary.scalar("learning_rate", rate)
        return tf.train.AdamOptimizer(rate)
    train(mlp, small, scheduled, config(steps=20, summary_every=5), tmp_path)
    events = EventAccumulator(str(tmp_path / "train"), size_guidance={"scalars": 0}).Reload()
    rates = [e.value for e in events.Scalars("train/learning_rate")]  # made inside the "train" scope
    assert len(rates) == 4 and rates[0] > rates[-1]


def test_stops_once_the_target_accuracy_is_reached(small, tmp_path):
    h = train(mlp, small, adam, config(steps=400, eval_every=20, target_accuracy=0.5), tmp_path)
    assert h.reached_target and h.final_step < 400
    assert h.test_accuracy[-1] >= 0.5 and all(a < 0.5 for a in h.test_accuracy[:-1])


def test_resuming_another_models_checkpoint_is_a_clear_error(small, tmp_path):
    from lowtf.models import softmax_regression
    from lowtf.train.trainer import CheckpointMismatch
    train(mlp, small, adam, config(steps=5), tmp_path)
    with pytest.raises(CheckpointMismatch, match="written by a different model.*new logdir"):
        train(softmax_regression, small, adam, config(steps=10, resume=True), tmp_path)


def test_killed_run_resumes_and_tensorboard_drops_the_lost_points(small, tmp_path):
    """SIGKILL a real training process after its first checkpoint, resume: the steps continue from the
    checkpoint and the train curve has no step twice once TensorBoard has read the restart marker."""
    import signal
    import subprocess
    import sys
    import time
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    script = (
        "import sys, lowtf\n"
        "from lowtf.data.splits import load_splits\n"
        "from lowtf.models import mlp\n"
        "import tensorflow.compat.v1 as tf\n"
        "tf.disable_v2_behavior()\n"
        "from lowtf.train import TrainConfig, train\n"
        "small = load_splits(validation_size=500, train_size=2000, test_size=1000)\n"
        "config = TrainConfig(steps=int(sys.argv[2]), batch_size=32, summary_every=1, checkpoint_every=25,\n"
        "                     progress=False, seed=3, resume=True, eval_every=1000)\n"
        "train(mlp, small, lambda step: tf.train.AdamOptimizer(1e-3), config, sys.argv[1])\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path), "100000"])
    deadline = time.monotonic() + 120
    while tf.train.latest_checkpoint(str(tmp_path / "checkpoints")) is None:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    time.sleep(1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    saved = int(tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).rsplit("-", 1)[1])
    resumed = train(mlp, small, adam, config(steps=saved + 10, resume=True, checkpoint_every=25), tmp_path)
    assert resumed.start_step == saved > 0 and resumed.final_step == saved + 10
    steps = [e.step for e in EventAccumulator(str(tmp_path / "train"), size_guidance={"scalars": 0})
             .Reload().Scalars("loss")]
    assert steps == sorted(set(steps)) and steps[-1] == saved + 10


def test_an_old_two_argument_optimizer_fn_gets_a_clear_error(small, tmp_path):
    with pytest.raises(TypeError, match="one argument, the global step"):
        train(mlp, small, lambda step, per_epoch: tf.train.AdamOptimizer(1e-3), config(steps=2), tmp_path)


def test_a_dataset_owns_its_batch_size(small, tmp_path):
    from lowtf.data.splits import Splits

    def batches(size, drop=True):
        def make():
            x = small.train.images.astype("float32") / 255.0
            return tf.data.Dataset.from_tensor_slices((x, small.train.labels)).repeat().batch(size, drop_remainder=drop)
        return make
    streamed = Splits(None, None, small.test)
    h = train(mlp, streamed, adam, config(steps=3, batch_size=None), tmp_path / "a", train_data=batches(16))
    assert h.batch_size == 16
    with pytest.raises(ValueError, match="batches of 16: leave batch_size out"):
        train(mlp, streamed, adam, config(steps=3, batch_size=32), tmp_path / "b", train_data=batches(16))
    with pytest.raises(ValueError, match="drop_remainder=True"):
        train(mlp, streamed, adam, config(steps=3, batch_size=None), tmp_path / "c", train_data=batches(16, False))


def test_policies_are_tensorflows_session_run_hooks(small, tmp_path):
    """The packaged loop runs TensorFlow's own hooks where they fit, and the course's as SessionRunHooks."""
    from lowtf.train import trainer
    seen = []
    original = trainer._loop

    def spy(sess, train_op, feed, hooks, clock, history):
        seen.extend(hooks)
        return original(sess, train_op, feed, hooks, clock, history)
    trainer._loop = spy
    try:
        train(mlp, small, adam, config(steps=4), tmp_path)
    finally:
        trainer._loop = original
    assert all(isinstance(h, tf.train.SessionRunHook) for h in seen)
    names = {type(h).__name__ for h in seen}
    assert {"StopAtStepHook", "NanTensorHook", "SummarySaverHook", "TrainCurve", "TestPoints", "Checkpoints"} <= names


def test_a_nan_loss_stops_the_run_with_tensorflows_error(small, tmp_path):
    exploding = lambda step: tf.train.GradientDescentOptimizer(1e30)  # noqa: E731
    with pytest.raises(tf.train.NanLossDuringTrainingError):
        train(mlp, small, exploding, config(steps=50, eval_every=1000), tmp_path)
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints"))      # the last good-or-not state is saved
