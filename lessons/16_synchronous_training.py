"""Synchronous training: SyncReplicasOptimizer averages a fixed number of gradients per step; compared with async."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

from lowtf import verdicts
from lowtf.distributed.jobs import run_mnist_job

lesson = Lesson("16", "synchronous training")

TEST_IMAGES = 10_000  # the chief scores MNIST's whole test set
STEPS = {"fast": 100, "full": 1000}  # the global step both jobs stop at
BATCH = {"fast": 200, "full": 100}  # images per local step
# one cluster (1 ps + 2 workers), two jobs on it in turn: NAME:WORKERS[:sync]
JOBS = ["async:2", "sync:2:sync"]


@lesson.step("asynchronous and synchronous runs of the same job")
def compare(ctx):
    """Asynchronous: each worker applies its own gradient as soon as it has it, against
    Variables other workers may have changed meanwhile (stale gradients), and one global
    step is one worker's batch. Synchronous (tf.train.SyncReplicasOptimizer, still in
    TF 2.21's compat.v1): gradients go into a queue on the ps; once replicas_to_aggregate
    of them (here 2, the number of workers) have arrived, from whichever workers pushed
    them, they are averaged and applied once, and gradients computed against older
    weights are dropped. It does not wait for one gradient from each worker: a fast
    worker can fill the quota alone. What paces the workers is a token queue: after each
    update the chief puts one token per worker in it, and a worker takes a token after
    every gradient it pushes (TF's sync_replicas_optimizer.py). So when a worker dies,
    the survivor goes on, pushing both gradients of every step, if the dead worker left
    its token unused; if it had taken its token, the survivor waits for one that never
    comes, until the operation timeout ends the job. Which happens depends on what was
    in flight at the kill; asynchronous training (lesson 15) simply goes on.
    A global step is replicas_to_aggregate batches, so the local steps add up
    to at least twice the global steps (dropped stale gradients make up the
    rest). As in lesson 15, one cluster runs both jobs in turn, each on
    Variables of its own on the ps (tf.container), so the tasks load
    TensorFlow once."""
    steps = STEPS[ctx.mode]
    # --start_together: the chief waits for worker 1 to join, then both
    # start (lesson 15)
    batch = BATCH[ctx.mode]
    found, cluster_s = run_mnist_job(
        ctx.logdir, 2, steps, JOBS, ["--start_together", "--batch", str(batch)]
    )
    async_results, sync_results = found["async"], found["sync"]
    ctx.record(target_global_step=steps, cluster_seconds=round(cluster_s, 1))
    report = {}
    for name, results in (("async", async_results), ("sync", sync_results)):
        chief = results[0]
        seconds = chief["job_seconds"]
        local = sum(r["local_steps"] for r in results.values())
        report[name] = {
            "test accuracy": round(chief["test_accuracy"], 4),
            "global steps": chief["final_global_step"],
            "local steps per worker": {
                k: r["local_steps"] for k, r in results.items()
            },
            "examples seen": local * batch,
            "job seconds": round(seconds, 1),
            "local steps per global step": round(
                local / chief["final_global_step"], 2
            ),
        }
        ctx.record(
            **{
                f"{name}_test_accuracy": round(chief["test_accuracy"], 4),
                f"{name}_global_steps": chief["final_global_step"],
                f"{name}_local_steps": {
                    str(k): r["local_steps"] for k, r in results.items()
                },
                f"{name}_job_seconds": round(seconds, 1),
                f"{name}_local_per_global": round(
                    local / chief["final_global_step"], 3
                ),
            }
        )
    # the same number of global steps: sync averaged 2 batches into each, so
    # it saw about twice the examples. Did that buy accuracy? The chief
    # scored all 10,000 test images: read it with its noise.
    report["sync vs async test accuracy"] = ctx.verdict(
        verdicts.accuracies(
            "test accuracy, sync vs async",
            sync_results[0]["test_accuracy"],
            async_results[0]["test_accuracy"],
            TEST_IMAGES,
            names=("sync", "async"),
        )
    )
    return report


if __name__ == "__main__":
    raise SystemExit(lesson.main())
