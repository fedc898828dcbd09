"""One task of a ParameterServerStrategy job, TensorFlow 2's asynchronous training (lesson 37).

Run as every task of a cluster with a chief, ps tasks and workers (``TF_CONFIG`` names the role)::

    chief  the coordinator: builds the model under the strategy (its Variables live on the ps tasks),
           makes a dataset on every worker, and *schedules* training steps; each scheduled step runs
           on whichever worker is free and returns a RemoteValue, fetched when it is done.
    ps     a tf.distribute.Server that holds Variables and serves them: it waits until stopped.
    worker a tf.distribute.Server that runs the functions the coordinator sends: it also waits.

A worker lost mid-step is TensorFlow's problem, not the script's: the coordinator puts the step it
was running back in the queue, and another worker (or the same one, restarted) runs it again. A
Variable on the ps counts how many times each step ran, so the re-runs can be counted. The chief
ends by printing one ``RESULT {json}`` line.
"""
from __future__ import annotations

import argparse
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
from lowtf.distributed.mirrored_task import MLP  # noqa: E402

IMAGES = 6000   # the training images the workers' datasets hold (a constant shipped with the dataset function)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch", type=int, default=100, help="images per step, on one worker")
    p.add_argument("--rate", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=37)
    p.add_argument("--step_seconds", type=float, default=0.0,
                   help="each step also sleeps this long on its worker (time to kill one mid-step)")
    return p.parse_args(argv)


def serve(resolver) -> None:
    """A ps or worker task: start this task's server (one thread per op: 2 cores, several tasks) and wait."""
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=2)
    server = tf.distribute.Server(resolver.cluster_spec(), job_name=resolver.task_type,
                                  task_index=resolver.task_id, protocol="grpc", config=config, start=True)
    print(f"{resolver.task_type} {resolver.task_id} serving", flush=True)
    server.join()


def make_coordinator(resolver, workers: int):
    """ParameterServerStrategy (Variables on the ps tasks) and the
    ClusterCoordinator that sends functions to the workers. TensorFlow's
    guide asks for workers + 1 inter-op threads on the coordinator when
    the machine has fewer cores than that."""
    tf.config.threading.set_inter_op_parallelism_threads(workers + 1)
    strategy = tf.distribute.ParameterServerStrategy(resolver)
    coordinator = tf.distribute.coordinator.ClusterCoordinator(strategy)
    return strategy, coordinator


def dataset_fn(images, labels, batch: int, seed: int):
    """What each worker builds for itself, given its InputContext: its
    own shard of the images (uint8 [N, 784]), shuffled and batched,
    forever."""
    def fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        data = tf.data.Dataset.from_tensor_slices((images, labels))
        data = data.shard(context.num_input_pipelines,
                          context.input_pipeline_id)
        data = data.repeat().shuffle(1000, seed=seed).batch(batch)
        return data.map(lambda x, y: (tf.cast(x, tf.float32) / 255, y))
    return fn


def make_step(model: MLP, runs: tf.Variable, rate: float, pause: float):
    """One training step, a tf.function a worker runs: a batch from its
    own iterator, the gradient, the update sent to the ps Variables at
    once (asynchronous: no waiting for the other workers), and a count
    of this step's runs kept on the ps."""
    @tf.function
    def step(iterator, step_id):
        x, y = next(iterator)
        xent = tf.nn.sparse_softmax_cross_entropy_with_logits
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(xent(y, model(x)))
        grads = tape.gradient(loss, model.trainable_variables)
        once = tf.IndexedSlices(tf.ones([1]), tf.reshape(step_id, [1]))
        runs.scatter_add(once)
        if pause:
            tf.py_function(lambda: time.sleep(pause), [], [])
        for v, g in zip(model.trainable_variables, grads):
            v.assign_sub(rate * g)
        return loss
    return step


def coordinate(resolver, args) -> dict:
    """The chief's whole job: build, schedule every step, fetch."""
    workers = len(resolver.cluster_spec().as_dict().get("worker", []))
    strategy, coordinator = make_coordinator(resolver, workers)
    splits = load_splits("mnist", train_size=IMAGES)
    images = splits.train.images.reshape(-1, 784)
    with strategy.scope():
        model = MLP(args.seed)
        runs = tf.Variable(tf.zeros([args.steps]), name="runs_per_step")
    fn = dataset_fn(images, splits.train.labels, args.batch, args.seed)
    datasets = coordinator.create_per_worker_dataset(
        lambda: strategy.distribute_datasets_from_function(fn))
    iterator = iter(datasets)
    step = make_step(model, runs, args.rate, args.step_seconds)
    began = time.perf_counter()
    remote = [coordinator.schedule(step, args=(iterator, tf.constant(i)))
              for i in range(args.steps)]
    print(f"scheduled {len(remote)} steps on {workers} workers",
          flush=True)
    for i, value in enumerate(remote):
        value.fetch()  # waits for that step, on whichever worker ran it
        if (i + 1) % max(1, args.steps // 4) == 0:
            print(f"step {i + 1} done", flush=True)
    coordinator.join()
    seconds = time.perf_counter() - began
    losses = [float(v.fetch()) for v in remote]
    return {"worker": "chief", "workers": workers, "losses": losses,
            "runs_per_step": runs.numpy().astype(int).tolist(),
            "seconds": seconds, "images": args.steps * args.batch}


def main(argv=None) -> int:
    args = parse_args(argv)
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    if resolver.task_type in ("ps", "worker"):
        serve(resolver)
        return 0
    result = coordinate(resolver, args)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    code = main()
    # The RESULT line is out and every step fetched. Python's own exit would then tear down the
    # coordinator's threads and TensorFlow's one by one (seconds on a busy machine), while the
    # launcher waits: the ps and workers are stopped by it in any case.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
