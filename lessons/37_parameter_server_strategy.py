"""ParameterServerStrategy: a coordinator schedules steps on workers, Variables live on ps tasks, a lost worker's step runs again."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import json

from lowtf import verdicts
from lowtf.distributed import deploy, ps_task
from lowtf.distributed.strategy_jobs import python_task, run_job
from lowtf.lesson.presentation import source
from lowtf.ports import free_ports

# eager, in a process of its own, as the Keras lessons: tf.distribute's strategies are TensorFlow 2
lesson = Lesson("37", "parameter server strategy", keras=True)

STEPS = {"fast": 40, "full": 400}
PAUSE = 0.1  # seconds each step also waits on its worker: time to kill one mid-step


@lesson.step("a chief, ps tasks and workers, each told its role by TF_CONFIG")
def roles(ctx):
    """Lesson 15 ran TensorFlow 1's parameter servers: every worker built
    its own copy of the graph and pushed updates to the ps. TensorFlow 2
    keeps the ps (Variables live there, updated without waiting for
    other workers: asynchronous) but puts one program in charge: the
    chief, or coordinator. It builds the model once and sends functions
    to the workers; workers and ps tasks only start a server and wait.
    Here 1 ps and 2 workers, each a process, and the chief a fourth."""
    ports = free_ports(4)
    ctx.cluster = {
        "chief": [f"127.0.0.1:{ports[0]}"],
        "ps": [f"127.0.0.1:{ports[1]}"],
        "worker": [f"127.0.0.1:{p}" for p in ports[2:]],
    }
    chief = json.loads(deploy.tf_configs(ctx.cluster)["chief0"])
    return {"cluster": chief["cluster"], "the chief's task": chief["task"]}


@lesson.step("the coordinator's program: schedule, RemoteValue, per-worker data")
def program(ctx):
    """ps_task.py, as the chief runs it (ps and workers only call serve).
    make_coordinator: ParameterServerStrategy places Variables made in its
    scope on the ps tasks; ClusterCoordinator sends functions to workers.
    dataset_fn runs on every worker (create_per_worker_dataset), so each
    reads its own shard. make_step is what a worker runs: a batch, the
    gradient, the update sent to the ps at once, and a count of this
    step's runs kept on the ps. coordinate schedules every step at once:
    schedule returns a RemoteValue at once, and fetch() waits for it."""
    return {
        "make_coordinator": "\n" + source(ps_task.make_coordinator),
        "dataset_fn": "\n" + source(ps_task.dataset_fn),
        "make_step": "\n" + source(ps_task.make_step),
        "coordinate": "\n" + source(ps_task.coordinate),
    }


@lesson.step("train, and kill a worker in the middle")
def train(ctx):
    """The launcher starts the four tasks in a private network namespace.
    Once the chief says a quarter of the steps are done, worker 1 is
    killed with SIGKILL, as a machine failure would, in the middle of a
    step (each step also waits PAUSE seconds on its worker, so one is
    likely under way). The coordinator sees the worker's calls fail, puts
    the step it was running back in the queue, and worker 0 runs the
    rest."""
    args = ["--steps", str(STEPS[ctx.mode]),
            "--step_seconds", str(PAUSE)]
    job = run_job(ctx.cluster, python_task("lowtf.distributed.ps_task",
                                           *args),
                  ["chief0"], timeout=240,
                  kill_after=("worker1",
                              f"step {STEPS[ctx.mode] // 4} done"))
    ctx.result = job.results["chief0"]
    ctx.record(chief_exit=job.exit_codes["chief0"],
               worker1_exit=job.exit_codes["worker1"])
    return {"exit codes": job.exit_codes,
            "seconds": round(job.seconds, 1)}


@lesson.step("counting each step's runs, and the loss")
def count(ctx):
    """A Variable on the ps counted each step's runs. A step that the
    killed worker had begun counts 2 if it got as far as the count before
    it died (the coordinator cannot know how far it got: it runs the
    whole step again, so its update may be applied twice; asynchronous
    training tolerates that, as it tolerates stale gradients). The loss
    of the first and last 10 steps says whether training went on: each
    mean has a standard error from its steps' spread, judged at Student's
    t cut for 10 steps."""
    runs = ctx.result["runs_per_step"]
    again = [i + 1 for i, n in enumerate(runs) if n > 1]
    losses = ctx.result["losses"]
    first, last = losses[:10], losses[-10:]
    said = ctx.verdict(verdicts.repeated(
        "mean loss, first 10 steps vs last 10 steps", first, last,
        names=("first 10", "last 10")), expects="first 10")
    ctx.record(steps=len(runs), steps_never_run=runs.count(0),
               steps_run_twice=again)
    return {"steps scheduled": len(runs),
            "steps that never ran": runs.count(0),
            "steps run twice": again,
            "loss": said}


@lesson.step("what is asynchronous here, and the TensorFlow 1 map")
def compare(ctx):
    """No worker waits for another: each applies its update as soon as
    it has it, from Variables that may have moved since it read them (the
    stale gradients of lesson 15). So a lost worker costs only its step,
    where synchronous training (lesson 36) stops every worker until the
    job restarts. The map: tf.train.Server + server.join() on the ps ->
    tf.distribute.Server; between-graph replication (every worker builds
    the graph) -> one coordinator program; replica_device_setter ->
    strategy.scope(); MonitoredTrainingSession's loop on each worker ->
    schedule and fetch on the chief. Keras 3 does not support this
    strategy (keras-team/keras#18624): the custom loop above is the way."""
    return {"images in the scheduled steps": ctx.result["images"],
            "steps per second, whole job":
                round(len(ctx.result["losses"]) / ctx.result["seconds"], 1)}


if __name__ == "__main__":
    raise SystemExit(lesson.main())
