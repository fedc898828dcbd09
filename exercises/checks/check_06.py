"""Exercise 06: LeNet-5 to 0.98 within 300 steps (trains for about a minute)."""
import pytest

from lowtf.data.splits import load_splits
from lowtf.practice.checking import accuracy_nudge, check, expect

HINT = "init=\"he\" (functools.partial(lenet5, init=\"he\")), batch_size 128, tf.train.AdamOptimizer(2e-3)"


@pytest.mark.slow
@check(HINT, ("10", "the recipe"))
def test_reaches_0_98_within_300_steps(ex, tmp_path):
    history = ex.train_lenet5(load_splits(validation_size=0), str(tmp_path))
    expect(history.final_step <= 300, "at most 300 steps", history.final_step)
    expect(history.final_test_accuracy >= 0.98, "a test accuracy of at least 0.98",
           f"{history.final_test_accuracy:.4f}", nudge=accuracy_nudge(history.final_test_accuracy))
