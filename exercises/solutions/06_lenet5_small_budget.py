"""Exercise 06 (a solution): LeNet-5 to 0.98 within 300 steps.

Train the Deep MNIST for Experts network (lowtf.models.lenet5) to at least 0.98 test
accuracy in at most 300 steps of lowtf.train.train: choose the initialisation, batch size
and optimizer.

Checked as a learner file would be: lowtf check 06 --file exercises/solutions/06_lenet5_small_budget.py
Re-read: lesson 10, steps "the recipe", "the graph" and "the training loop, written out".
"""
import functools

import tensorflow.compat.v1 as tf

from lowtf.models import lenet5
from lowtf.train import TrainConfig, train

tf.disable_v2_behavior()


def train_lenet5(splits, logdir: str):
    """Train on `splits` (lowtf.data.splits.load_splits) for at most 300 steps; return the History."""
    config = TrainConfig(steps=300, batch_size=128, eval_every=300, seed=0, progress=False)
    model = functools.partial(lenet5, init="he")
    return train(model, splits, lambda step: tf.train.AdamOptimizer(2e-3), config, logdir)
