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
STEPS = {"fast": 300, "full": 2000}
# the fault job: room for worker 1 to join late, then die
FAULT_STEPS = {"fast": 400, "full": 2000}
KILL_AFTER_LOCAL_STEPS = 100  # worker 1 is killed once it reports this many
KILL_MARK = f"[worker1] worker 1: {KILL_AFTER_LOCAL_STEPS} local"  # its line


@lesson.step("the task program: ps tasks serve Variables, workers compute")
def program(ctx):
    """replica_device_setter puts every Variable on a ps task (round-robin over several) and
    every other op on the worker. Each worker runs the whole training loop on its own
    graph and pushes its updates to the shared Variables: between-graph replication."""
    return {
        "build": "\n" + inspect.getsource(mnist_task.build),
        "sessions": "\n" + inspect.getsource(mnist_task.training_session),
    }


@lesson.step("one worker, then two: who did how many steps, and how fast")
def compare(ctx):
    """The workers share one global_step and stop when it reaches the target. Each local
    step adds exactly one to it, but a worker reads it while the other is still stepping, so
    asynchronous training stops at the target or a few steps past it (both happen).
    Worker 1 loads TensorFlow and waits for the chief's Variables, which can take longer
    than the chief's whole run: with --start_together the chief waits for the other
    workers to join (a counter on the ps) and then gives the word, so the two start side
    by side; the local steps show how they shared the work (on a busy machine, unevenly).
    On one machine two workers share its cores: the pair gains only if one worker left
    cores idle (each task here runs an op on one thread; the ps serves both workers).
    The verdict compares the pair's images/s with the one worker's, each with a standard
    error from its steps' spread (one job of each: a slow moment of the machine during
    one whole job is not in that noise). On two machines each worker brings its own cores."""
    steps = STEPS[ctx.mode]
    one, one_s = run_mnist_job(
        ctx.logdir / "one_worker", 1, steps, ["--start_together"]
    )
    two, two_s = run_mnist_job(
        ctx.logdir / "two_workers", 2, steps, ["--start_together"]
    )
    ctx.record(
        target_global_step=steps,
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
        two_workers_images_per_second=round(
            sum(r["images_per_second"] for r in two.values()), 1
        ),
        two_over_one_worker_images_per_second=round(
            sum(r["images_per_second"] for r in two.values())
            / one[0]["images_per_second"],
            2,
        ),
        one_worker_job_seconds=round(one_s, 1),
        two_workers_job_seconds=round(two_s, 1),
    )
    pair = sum(r["images_per_second"] for r in two.values())
    pair_se = math.sqrt(
        sum(r["images_per_second_se"] ** 2 for r in two.values())
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


@lesson.step("a worker dies mid-training: the others carry on")
def worker_fault(ctx):
    """Asynchronous training needs no worker but the chief: when worker 1 is killed (SIGKILL,
    like a machine failure, printed below as it happens), worker 0 keeps applying updates
    and the job still reaches its step target. A synchronous job (lesson 16) has no such
    promise: each of its steps waits for a number of fresh gradients, and whether the
    survivors can still supply them depends on what was in flight when the worker died."""
    steps = FAULT_STEPS[ctx.mode]
    results, seconds = run_mnist_job(
        ctx.logdir / "worker_killed",
        2,
        steps,
        ["--step_delay", "0.002"],
        kill_worker_after=KILL_MARK,
    )
    chief = results[0]
    ctx.record(
        after_kill_target_global_step=steps,
        after_kill_final_global_step=chief["final_global_step"],
        after_kill_workers_reporting=sorted(results),
        after_kill_test_accuracy=round(chief["test_accuracy"], 4),
    )
    return {
        "worker 1": f"SIGKILL after {KILL_AFTER_LOCAL_STEPS} local steps",
        "chief": chief,
        "worker 1 reported": 1 in results,
        "the chief reached": (
            f"global step {chief['final_global_step']} of {steps}"
        ),
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
