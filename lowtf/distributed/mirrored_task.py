"""One worker of a MultiWorkerMirroredStrategy job, TensorFlow 2's way (lesson 36).

Run under ``TF_CONFIG`` (``lowtf cluster local --ps 0 --workers 2`` sets it), or with no ``TF_CONFIG``
as a single worker::

    lowtf cluster local --ps 0 --workers 2 -- python -m lowtf.distributed.mirrored_task --logdir runs/36

- Every worker builds the same model under ``strategy.scope()``: its Variables are *mirrored*, one
  copy per worker, kept equal by applying the same update everywhere.
- The global batch is split: each worker reads its own shard of the data (``shard(n, i)``) in batches
  of ``global / n``, so at step k the workers' batches together are exactly the k-th batch a single
  worker of the whole global batch would read.
- Each step every worker computes the gradient of its share of the loss, an all-reduce (a RING of
  collective ops over gRPC, with a deadline) sums the gradients across workers, and every worker
  applies the same sum: the copies stay equal, step by step, which each worker shows by printing a
  fingerprint of its variables.
- With ``--checkpoint_every`` a ``tf.train.CheckpointManager`` saves the variables and the step every
  so many steps, and a restarted job resumes from the last save (worker 0 writes; the others write to
  a scratch folder, as TensorFlow's multi-worker guide says every worker must save).
Each worker ends by printing one ``RESULT {json}`` line.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

from lowtf import console

if __name__ == "__main__":   # a line at once: the import below takes seconds, more with several tasks starting
    print(f"{os.environ.get('LOWTF_TASK_NAME', 'task')} loading TensorFlow ...", flush=True)
console.load_tensorflow(keras_eagerly=False)   # quietly, fast kernels on; no task uses Keras

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from lowtf.data.splits import load_splits  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--logdir", required=True, help="where checkpoints and the RESULT file go")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--global_batch", type=int, default=200, help="images per step, over all workers")
    p.add_argument("--rate", type=float, default=0.1, help="plain gradient descent's learning rate")
    p.add_argument("--seed", type=int, default=36)
    p.add_argument("--timeout", type=float, default=15.0,
                   help="seconds a collective waits for the other workers before it fails")
    p.add_argument("--checkpoint_every", type=int, default=0, help="0: no checkpoints")
    p.add_argument("--print_every", type=int, default=1, help="print a step line every so many steps")
    p.add_argument("--step_seconds", type=float, default=0.0,
                   help="sleep this long after each step (for the fault demonstration: time to kill a worker)")
    return p.parse_args(argv)


def make_strategy(timeout: float):
    """MultiWorkerMirroredStrategy from TF_CONFIG. Its all-reduce is a
    RING (the implementation for CPUs); every collective waits at most
    ``timeout`` seconds, so a lost worker is an error, not a hang."""
    ring = tf.distribute.experimental.CommunicationImplementation.RING
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=ring, timeout_seconds=timeout)
    return tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=options)


class MLP(tf.Module):
    """784 -> 64 -> 10, ReLU: images [batch, 784] -> logits [batch, 10]. Seeded initial values, so every
    worker (and the single-worker baseline) starts from the same weights."""

    def __init__(self, seed: int):
        super().__init__()
        rng = np.random.RandomState(seed)
        self.w1 = tf.Variable(rng.normal(0, np.sqrt(2 / 784), (784, 64)).astype(np.float32), name="w1")
        self.b1 = tf.Variable(np.zeros(64, np.float32), name="b1")
        self.w2 = tf.Variable(rng.normal(0, np.sqrt(2 / 64), (64, 10)).astype(np.float32), name="w2")
        self.b2 = tf.Variable(np.zeros(10, np.float32), name="b2")

    def __call__(self, x):
        return tf.nn.relu(x @ self.w1 + self.b1) @ self.w2 + self.b2


def dataset_fn(images, labels, global_batch: int):
    """The input function each worker calls with its InputContext:
    its shard of the images, in batches of its share of the global
    batch. images [N, 784] float32, labels [N] int64."""
    def fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        per_worker = context.get_per_replica_batch_size(global_batch)
        data = tf.data.Dataset.from_tensor_slices((images, labels))
        data = data.shard(context.num_input_pipelines,
                          context.input_pipeline_id)
        return data.batch(per_worker, drop_remainder=True).repeat()
    return fn


def make_train_step(strategy, model, rate: float, global_batch: int):
    """One synchronous step: on each worker, the loss and gradient of its
    batch; an all-reduce sums the gradients across workers; every worker
    applies the same sum. Returns the global batch's mean loss."""
    @tf.function
    def train_step(iterator):
        def step_fn(x, y):
            with tf.GradientTape() as tape:
                xent = tf.nn.sparse_softmax_cross_entropy_with_logits
                per_image = xent(y, model(x))
                # over the GLOBAL batch: the workers' losses sum to the
                # mean over all of it
                loss = tf.nn.compute_average_loss(
                    per_image, global_batch_size=global_batch)
            grads = tape.gradient(loss, model.trainable_variables)
            replica = tf.distribute.get_replica_context()
            grads = replica.all_reduce(tf.distribute.ReduceOp.SUM, grads)
            for v, g in zip(model.trainable_variables, grads):
                v.assign_sub(rate * g)
            return loss

        losses = strategy.run(step_fn, args=next(iterator))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses,
                               axis=None)
    return train_step


def fingerprint(model: MLP) -> str:
    """12 hex digits of a hash of every variable's bytes: equal on two workers only if every weight is."""
    digest = hashlib.sha256()
    for v in model.trainable_variables:
        digest.update(v.numpy().tobytes())
    return digest.hexdigest()[:12]


def is_chief(resolver) -> bool:
    return resolver.task_type in (None, "chief") or (resolver.task_type == "worker" and resolver.task_id == 0)


def train(args) -> dict:
    strategy = make_strategy(args.timeout)
    resolver = strategy.cluster_resolver
    workers = strategy.num_replicas_in_sync
    # Only the images the run reads (steps x global batch, at most the training set), scaled once: all
    # 55,000 in float64 then float32 cost ~1 s of CPU in every process, on cores the workers share
    splits = load_splits("mnist", train_size=args.steps * args.global_batch)
    images = splits.train.images.reshape(-1, 784).astype(np.float32) / np.float32(255)
    labels = splits.train.labels
    with strategy.scope():
        model = MLP(args.seed)
        step = tf.Variable(0, dtype=tf.int64, name="step")
    checkpoint = tf.train.Checkpoint(model=model, step=step)
    folder = os.path.join(args.logdir, "checkpoints" if is_chief(resolver) else f"scratch_{resolver.task_id}")
    manager = tf.train.CheckpointManager(checkpoint, folder, max_to_keep=2)
    # every worker restores the chief's last save, so all resume from the same step
    latest = tf.train.latest_checkpoint(os.path.join(args.logdir, "checkpoints"))
    if latest:
        checkpoint.restore(latest)
    start = int(step.numpy())
    iterator = iter(strategy.distribute_datasets_from_function(dataset_fn(images, labels, args.global_batch)))
    for _ in range(start):   # the data stream resumes where the saved step left it
        next(iterator)
    train_step = make_train_step(strategy, model, args.rate, args.global_batch)
    losses, prints, seconds = [], [], []
    print(f"worker {resolver.task_id}: {workers} worker(s), starting at step {start}", flush=True)
    for i in range(start, args.steps):
        began = time.perf_counter()
        loss = float(train_step(iterator))
        seconds.append(time.perf_counter() - began)
        step.assign(i + 1)
        losses.append(loss)
        prints.append(fingerprint(model))
        if (i + 1) % args.print_every == 0 or i + 1 == args.steps:
            print(f"step {i + 1} loss {loss:.6f} weights {prints[-1]}", flush=True)
        if args.checkpoint_every and (i + 1) % args.checkpoint_every == 0:
            manager.save(checkpoint_number=i + 1)
            print(f"saved step {i + 1}", flush=True)
        if args.step_seconds:
            time.sleep(args.step_seconds)
    return {"worker": resolver.task_id or 0, "workers": workers, "start": start, "losses": losses,
            "fingerprints": prints, "step_seconds": seconds, "global_batch": args.global_batch}


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        result = train(args)
    except (tf.errors.DeadlineExceededError, tf.errors.UnavailableError, tf.errors.CancelledError,
            tf.errors.InternalError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"error: a collective failed ({type(e).__name__}: {first[:200]}): another worker is gone; "
              "restart the job to resume from the last checkpoint", flush=True)
        return 3
    print("RESULT " + json.dumps(result), flush=True)
    if result["workers"] > 1:
        leave_together(result["worker"])
    return 0


def leave_together(task_id: int) -> None:
    """Wait until every worker is done (a barrier of TensorFlow's coordination service, which
    MultiWorkerMirroredStrategy runs on worker 0): past it, no worker still needs data from another,
    so each can exit at once. A barrier that fails (a worker gone) changes nothing: all is reported."""
    from tensorflow.python.eager import context

    try:
        context.context().wait_at_barrier("lowtf_mirrored_done", 60_000)
    except Exception:   # noqa: BLE001 - leaving anyway
        return
    if task_id == 0:
        time.sleep(0.3)   # worker 0 hosts the barrier: time for its answer to reach the others


if __name__ == "__main__":
    code = main()
    # Everything is reported by now. Python's own exit would then tear TensorFlow's collective and
    # coordination threads down one by one: ~3.5 s measured here, per worker, while the lesson waits.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
