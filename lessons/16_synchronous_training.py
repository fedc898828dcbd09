"""Synchronous training: SyncReplicasOptimizer averages every worker's gradient per step; compared with async."""
from lowtf.lesson import Lesson

from lowtf.distributed.jobs import run_mnist_job

lesson = Lesson("16", "synchronous training")


@lesson.step("asynchronous and synchronous runs of the same job")
def compare(ctx):
    """Asynchronous: each worker applies its own gradient as soon as it has it, against
    Variables other workers may have changed meanwhile (stale gradients), and one global
    step is one worker's batch. Synchronous (tf.train.SyncReplicasOptimizer, still in
    TF 2.21's compat.v1): gradients are collected in a queue on the ps until one has come
    from every worker, averaged, and applied once, so one global step is a batch from
    every worker and no gradient is stale. The price: every step waits for the slowest
    worker, and a lost worker stalls the job."""
    steps = 300 if ctx.fast else 1000
    async_results, async_s = run_mnist_job(ctx.logdir / "async", 2, steps)
    sync_results, sync_s = run_mnist_job(ctx.logdir / "sync", 2, steps, ["--sync"])
    report = {}
    for name, results, seconds in (("async", async_results, async_s), ("sync", sync_results, sync_s)):
        chief = results[0]
        examples = sum(r["local_steps"] for r in results.values()) * 100
        report[name] = {"test accuracy": round(chief["test_accuracy"], 4), "global steps": chief["final_global_step"],
                        "local steps per worker": {k: r["local_steps"] for k, r in results.items()},
                        "examples seen": examples, "job seconds": round(seconds, 1)}
        ctx.record(**{f"{name}_test_accuracy": round(chief["test_accuracy"], 4),
                      f"{name}_global_steps": chief["final_global_step"],
                      f"{name}_local_steps": {str(k): r["local_steps"] for k, r in results.items()},
                      f"{name}_job_seconds": round(seconds, 1)})
    return report


if __name__ == "__main__":
    raise SystemExit(lesson.main())
