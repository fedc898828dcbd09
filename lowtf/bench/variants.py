"""One function per way of training LeNet-5, each returning images per second.

Every variant trains the same architecture (TF's Deep MNIST for Experts network, called LeNet-5 in the course: conv 5x5x32, pool,
conv 5x5x64, pool, fc 1024 + dropout 0.5, 10) with Adam 1e-3 on the same random data,
warms up, then times ``steps`` training steps. Keras and PyTorch run in their own
process (``python -m lowtf.bench.variants keras|torch STEPS BATCH``), since Keras 3 does
not mix with v1 Sessions and each framework should have the cores to itself.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np

WARMUP = 5


def random_data(batch: int, batches: int = 8, seed: int = 0):
    rng = np.random.RandomState(seed)
    return rng.rand(batch * batches, 28, 28, 1).astype(np.float32), rng.randint(0, 10, batch * batches)


def _timed(run_step, steps: int, batch: int) -> float:
    for _ in range(WARMUP):
        run_step()
    t0 = time.perf_counter()
    for _ in range(steps):
        run_step()
    return steps * batch / (time.perf_counter() - t0)


def raw_graph(steps: int, batch: int, input_mode: str) -> float:
    """The classic graph: placeholders fed per step ("feed_dict"), or a tf.data iterator ("tf.data")."""
    import tensorflow.compat.v1 as tf

    from lowtf.models import lenet5
    from lowtf.nn import training_flag

    x_all, y_all = random_data(batch)
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        training = training_flag()
        if input_mode == "tf.data":
            ds = tf.data.Dataset.from_tensor_slices((x_all, y_all.astype(np.int64))).repeat().batch(batch).prefetch(2)
            images, labels = tf.data.make_one_shot_iterator(ds).get_next()
        else:
            images = tf.placeholder(tf.float32, [None, 28, 28, 1])
            labels = tf.placeholder(tf.int64, [None])
        logits, _ = lenet5(images, training)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            if input_mode == "tf.data":
                return _timed(lambda: sess.run(train_op, {training: True}), steps, batch)
            batches = [(x_all[i:i + batch], y_all[i:i + batch]) for i in range(0, len(x_all), batch)]
            state = {"i": 0}

            def step():
                bx, by = batches[state["i"] % len(batches)]
                state["i"] += 1
                sess.run(train_op, {images: bx, labels: by, training: True})
            return _timed(step, steps, batch)


def lowtf_trainer(steps: int, batch: int, precision: str = "float32") -> float:
    """The lowtf trainer with its defaults (summaries, hooks, checkpoints), evaluation only at the end,
    computing in ``precision``; its images/s leave out the first step, which also optimises the graph."""
    import tempfile

    import tensorflow.compat.v1 as tf

    from lowtf.data.splits import Split, Splits
    from lowtf.models import lenet5
    from lowtf.train import TrainConfig, train

    x, y = random_data(batch, batches=64)
    images = np.round(x * 255).astype(np.uint8)
    splits = Splits(Split(images, y.astype(np.int64)), None, Split(images[:batch], y[:batch].astype(np.int64)))
    with tempfile.TemporaryDirectory() as logdir:
        config = TrainConfig(steps=steps + WARMUP, batch_size=batch, eval_every=10 ** 9, checkpoint_seconds=10 ** 9,
                             histogram_every=10 ** 9, summary_every=10 ** 9, trace_step=None, progress=False,
                             precision=precision)
        h = train(lenet5, splits, lambda step: tf.train.AdamOptimizer(1e-3), config, logdir)
    return h.images_per_second


def keras(steps: int, batch: int) -> float:
    import keras as k

    x, y = random_data(batch)
    model = k.Sequential([
        k.Input((28, 28, 1)),
        k.layers.Conv2D(32, 5, padding="same", activation="relu"), k.layers.MaxPooling2D(2, padding="same"),
        k.layers.Conv2D(64, 5, padding="same", activation="relu"), k.layers.MaxPooling2D(2, padding="same"),
        k.layers.Flatten(), k.layers.Dense(1024, activation="relu"), k.layers.Dropout(0.5), k.layers.Dense(10)])
    model.compile(k.optimizers.Adam(1e-3), k.losses.SparseCategoricalCrossentropy(from_logits=True))
    batches = [(x[i:i + batch], y[i:i + batch]) for i in range(0, len(x), batch)]
    state = {"i": 0}

    def step():
        bx, by = batches[state["i"] % len(batches)]
        state["i"] += 1
        model.train_on_batch(bx, by)
    return _timed(step, steps, batch)


def torch_variant(steps: int, batch: int) -> float:
    import torch
    from torch import nn

    torch.manual_seed(0)
    x, y = random_data(batch)
    x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    y = torch.from_numpy(y).long()
    model = nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * 64, 1024), nn.ReLU(), nn.Dropout(0.5), nn.Linear(1024, 10))
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = nn.CrossEntropyLoss()
    state = {"i": 0}

    def step():
        i = (state["i"] % 8) * batch
        state["i"] += 1
        optimizer.zero_grad()
        loss_fn(model(x[i:i + batch]), y[i:i + batch]).backward()
        optimizer.step()
    return _timed(step, steps, batch)


if __name__ == "__main__":
    # Out-of-process variants print one JSON line: {"images_per_second": ...}
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    name, steps, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rate = {"keras": keras, "torch": torch_variant}[name](steps, batch)
    print(json.dumps({"images_per_second": rate}))
