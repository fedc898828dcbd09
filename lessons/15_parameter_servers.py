"""Parameter servers and workers: asynchronous between-graph training of MNIST, one OS process per task."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import inspect
import math

from lowtf import verdicts
from lowtf.distributed import mnist_task
from lowtf.distributed.jobs import run_mnist_job

lesson = Lesson("15", "parameter servers")

# --- knobs -----------------------------------------------------------------------------
# the shared global_step every job stops at
# (100 steps of 200 images would cost less, but the pair's job would then be
# over before the chief's first step, which also writes the first summary and
# checkpoint, is done: the pair would be worker 1 alone)
STEPS = {"fast": 200, "full": 2000}
BATCH = {"fast": 100, "full": 100}  # images per local step
PRINT_EVERY = {"fast": 50, "full": 100}  # a progress line per so many local steps
# one cluster (1 ps + 2 workers), three jobs on it in turn: NAME:WORKERS[:...]
JOBS = ["one_worker:1", "two_workers:2", "worker_killed:2:delay=0.002"]


def kill_mark(mode):
    """Worker 1's progress line in the last job; then it is killed."""
    return f"[worker1] worker 1 (worker_killed): {PRINT_EVERY[mode]} local"


@lesson.step("the task program: ps tasks serve Variables, workers compute")
def program(ctx):
    """replica_device_setter puts every Variable on a ps task (round-robin over
    several) and every other op on the worker. Each worker runs the whole
    training loop on its own graph and pushes its updates to the shared
    Variables: between-graph replication."""
    return {
        "build": "\n" + inspect.getsource(mnist_task.build),
        "sessions": "\n" + inspect.getsource(mnist_task.training_session),
    }


@lesson.step("one cluster, three jobs: one worker, two, two with one killed")
def jobs(ctx):
    """One ps and two workers, each an OS process that loads TensorFlow once
    (seconds on two cores), then run three jobs in turn. Each job builds a
    fresh graph whose Variables live in a container of its own on the ps
    (tf.container(name)): it starts from new weights at global step 0, and
    writes its checkpoints and summaries to a folder of its own.
    one_worker: worker 1 sits it out (it waits for the next job's
    Variables). two_workers: both. worker_killed: both, and worker 1 is
    killed with SIGKILL part-way, like a machine failure (printed below as
    it happens). The workers share one global_step and stop when it
    reaches the target. Each local step adds exactly one to it, but a
    worker reads it while the other is still stepping, so asynchronous
    training stops at the target or a few steps past it (both happen).
    With --start_together the chief waits for the job's other workers to
    join (a counter on the ps) and then gives the word, so they start side
    by side; the local steps show how they shared the work (on a busy
    machine, unevenly)."""
    steps = STEPS[ctx.mode]
    ctx.results, seconds = run_mnist_job(
        ctx.logdir, 2, steps, JOBS,
        ["--start_together", "--batch", str(BATCH[ctx.mode]),
         "--print_every", str(PRINT_EVERY[ctx.mode])],
        kill_worker_after=kill_mark(ctx.mode),
    )
    ctx.record(cluster_seconds=round(seconds, 1))
    return {
        job: {
            "local steps": {k: r["local_steps"] for k, r in found.items()},
            "global step": found[0]["final_global_step"],
            "test accuracy": round(found[0]["test_accuracy"], 4),
            "job seconds": found[0]["job_seconds"],
        }
        for job, found in ctx.results.items()
    }


@lesson.step("one worker against two: who did how many steps, and how fast")
def compare(ctx):
    """On one machine two workers share its cores: the pair gains only if one
    worker left cores idle (each task here runs an op on one thread; the ps
    serves both workers). The verdict compares the pair's images/s with the
    one worker's, each with a standard error from its steps' spread (one job
    of each: a slow moment of the machine during one whole job is not in
    that noise). On two machines each worker brings its own cores."""
    one = ctx.results["one_worker"]
    two = ctx.results["two_workers"]
    pair = sum(r["images_per_second"] for r in two.values())
    pair_se = math.sqrt(
        sum(r["images_per_second_se"] ** 2 for r in two.values())
    )
    ctx.record(
        target_global_step=STEPS[ctx.mode],
        one_worker_test_accuracy=round(one[0]["test_accuracy"], 4),
        two_workers_test_accuracy=round(two[0]["test_accuracy"], 4),
        two_workers_local_steps={
            str(k): v["local_steps"] for k, v in two.items()
        },
        two_workers_joined_before_the_chief_started=two[0][
            "others_joined_at_start"
        ],
        two_workers_final_global_step=two[0]["final_global_step"],
        one_worker_images_per_second=one[0]["images_per_second"],
        two_workers_images_per_second=round(pair, 1),
        two_over_one_worker_images_per_second=round(
            pair / one[0]["images_per_second"], 2
        ),
        one_worker_job_seconds=one[0]["job_seconds"],
        two_workers_job_seconds=two[0]["job_seconds"],
    )
    verdict = ctx.verdict(
        verdicts.with_se(
            "images/s, 2 workers vs 1",
            pair,
            one[0]["images_per_second"],
            math.hypot(pair_se, one[0]["images_per_second_se"]),
            names=("2 workers", "1 worker"),
            digits=0,
        )
    )
    return {
        "1 worker": one,
        "2 workers": two,
        "images/s, the pair vs one": verdict,
        "tensorboard (global_step, loss)": ctx.tensorboard(),
    }


@lesson.step("a worker died mid-training: the chief carried on")
def worker_fault(ctx):
    """Asynchronous training needs no worker but the chief: when worker 1 was
    killed in the last job, worker 0 kept applying updates and the job still
    reached its step target. A synchronous job (lesson 16) has no such
    promise: each of its steps waits for a number of fresh gradients, and
    whether the survivors can still supply them depends on what was in
    flight when the worker died."""
    steps = STEPS[ctx.mode]
    results = ctx.results["worker_killed"]
    chief = results[0]
    ctx.record(
        after_kill_target_global_step=steps,
        after_kill_final_global_step=chief["final_global_step"],
        after_kill_workers_reporting=sorted(results),
        after_kill_test_accuracy=round(chief["test_accuracy"], 4),
    )
    return {
        "worker 1": f"SIGKILL after {PRINT_EVERY[ctx.mode]} local steps",
        "chief": chief,
        "worker 1 reported": 1 in results,
        "the chief reached": (
            f"global step {chief['final_global_step']} of {steps}"
        ),
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
