"""Parameter servers and workers: asynchronous between-graph training of MNIST, one OS process per task."""
from lowtf.lesson import Lesson

import inspect
import sys
import time

from lowtf.distributed import launcher, mnist_task

lesson = Lesson("15", "parameter servers")


def cluster_run(ctx, workers: int, steps: int, name: str, kill_worker_after: str = ""):
    """Launch 1 ps + `workers` workers running lowtf.distributed.mnist_task; return their RESULTs."""
    out = launcher.Collector()
    cluster = launcher.local_cluster(ps=1, workers=workers)
    command = [sys.executable, "-m", "lowtf.distributed.mnist_task", "--logdir", str(ctx.logdir / name),
               "--steps", str(steps), "--step_delay", "0.002" if kill_worker_after else "0"]
    tasks = launcher.start(cluster, command, out=out)
    ctx.on_exit(lambda: launcher.stop(tasks))
    started = time.perf_counter()
    try:
        if kill_worker_after:
            if not out.wait_for(kill_worker_after, timeout=180):
                raise RuntimeError(f"never saw {kill_worker_after!r}")
            launcher.kill(next(t for t in tasks if t.name == "worker1"))
        chief = next(t for t in tasks if t.name == "worker0")
        chief.process.wait(timeout=300)
        for t in tasks:
            if t.job == "worker" and t.process.poll() is None:
                t.process.wait(timeout=60)
    finally:
        launcher.stop(tasks)
    return out.results(), time.perf_counter() - started


@lesson.step("the task program: ps tasks serve Variables, workers compute")
def program(ctx):
    """replica_device_setter puts every Variable on a ps task (round-robin over several) and
    every other op on the worker. Each worker runs the whole training loop on its own
    graph and pushes its updates to the shared Variables: between-graph replication."""
    return {"build": inspect.getsource(mnist_task.build),
            "sessions": inspect.getsource(mnist_task.training_session)}


@lesson.step("one worker, then two: who did how many steps, and how fast")
def compare(ctx):
    """The workers share one global_step and stop together when it reaches the target.
    On one 2-core machine two workers compete for the same cores, so the job is not twice
    as fast; on two machines each worker brings its own cores."""
    steps = 600 if ctx.fast else 2000
    one, one_s = cluster_run(ctx, 1, steps, "one_worker")
    two, two_s = cluster_run(ctx, 2, steps, "two_workers")
    ctx.record(one_worker_test_accuracy=round(one[0]["test_accuracy"], 4),
               two_workers_test_accuracy=round(two[0]["test_accuracy"], 4),
               two_workers_local_steps={str(k): v["local_steps"] for k, v in two.items()},
               two_workers_final_global_step=two[0]["final_global_step"],
               one_worker_images_per_second=one[0]["images_per_second"],
               two_workers_images_per_second=round(sum(r["images_per_second"] for r in two.values()), 1),
               one_worker_job_seconds=round(one_s, 1), two_workers_job_seconds=round(two_s, 1))
    return {"1 worker": one, "2 workers": two,
            "tensorboard (global_step, loss)": f"tensorboard --logdir {ctx.logdir}"}


@lesson.step("a worker dies mid-training: the others carry on")
def worker_fault(ctx):
    """Asynchronous training needs no worker but the chief: when worker 1 is killed (SIGKILL,
    like a machine failure), worker 0 keeps applying updates and the job still reaches its
    step target. A synchronous scheme would stall waiting for the lost replica."""
    steps = 600 if ctx.fast else 2000
    results, seconds = cluster_run(ctx, 2, steps, "worker_killed", kill_worker_after="[worker1] worker 1: 200 local")
    chief = results[0]
    ctx.record(after_kill_final_global_step=chief["final_global_step"], after_kill_workers_reporting=sorted(results),
               after_kill_test_accuracy=round(chief["test_accuracy"], 4))
    return {"chief": chief, "worker 1 reported": 1 in results}


if __name__ == "__main__":
    lesson.main()
