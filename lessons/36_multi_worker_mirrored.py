"""MultiWorkerMirroredStrategy: TensorFlow 2's synchronous training across processes, TF_CONFIG, all-reduce, faults, real clusters."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import json
import time

from lowtf import verdicts
from lowtf.distributed import deploy, mirrored_task
from lowtf.distributed.launcher import local_cluster
from lowtf.distributed.strategy_jobs import python_task, run_job
from lowtf.lesson.presentation import source

# eager, in a process of its own, as the Keras lessons: tf.distribute's strategies are TensorFlow 2
lesson = Lesson("36", "multi worker mirrored", keras=True)

STEPS = {"fast": 40, "full": 300}
GLOBAL_BATCH = 200  # images per step over all workers
TIMEOUT = 10  # seconds a collective waits for a missing worker
BLOCK = 5  # steps per round of the speed comparison


def task_args(logdir, steps, *extra):
    """The worker program's arguments
    (lowtf/distributed/mirrored_task.py)."""
    return ["--logdir", str(logdir), "--steps", str(steps),
            "--global_batch", str(GLOBAL_BATCH), "--timeout", str(TIMEOUT),
            "--print_every", str(steps // 3), *extra]


@lesson.step("TF_CONFIG: the cluster, and this task's place in it")
def tf_config(ctx):
    """Lessons 14-16 gave every task a ClusterSpec and a job name in code.
    TensorFlow 2 reads both from one environment variable, TF_CONFIG: the
    whole cluster, and which task this process is. The same script then
    runs as every task, and on a laptop or a real cluster alike: only
    TF_CONFIG changes. Here two workers on 127.0.0.1, started by the
    course's launcher inside a private network namespace (their servers
    run any op for whoever connects, as lesson 14 showed).
    The map from TensorFlow 1's pieces: ClusterSpec -> TF_CONFIG's
    cluster; replica_device_setter (variables on a ps) -> mirrored
    variables (a copy on every worker); SyncReplicasOptimizer (a ps
    collects the gradients) -> an all-reduce among the workers;
    MonitoredTrainingSession's chief -> worker 0, which saves checkpoints."""
    ctx.cluster = local_cluster(ps=0, workers=2)
    return {
        "worker 0's TF_CONFIG": json.loads(
            deploy.tf_configs(ctx.cluster)["worker0"]),
        "worker 1's task": json.loads(
            deploy.tf_configs(ctx.cluster)["worker1"])["task"],
    }


@lesson.step("the worker's program: mirrored variables, a split batch, an all-reduce")
def program(ctx):
    """Every worker runs this (mirrored_task.py; the parts that matter are
    shown). make_strategy reads TF_CONFIG and sets up the all-reduce: a
    RING (each worker passes pieces to the next; the implementation for
    CPUs), with a deadline so a lost worker is an error, not a hang.
    Variables made under strategy.scope() are mirrored. dataset_fn gives
    each worker every other image (shard), in batches of 100: at step k
    the two batches are together exactly the k-th batch of 200 that one
    worker alone would read. In train_step each worker differentiates its
    share of the loss (divided by the GLOBAL batch), all_reduce sums the
    two gradients, and both apply the same sum."""
    return {
        "make_strategy": "\n" + source(mirrored_task.make_strategy),
        "dataset_fn": "\n" + source(mirrored_task.dataset_fn),
        "make_train_step": "\n" + source(mirrored_task.make_train_step),
    }


@lesson.step("one worker with the whole batch of 200: the baseline")
def baseline(ctx):
    """The same program with no TF_CONFIG is a cluster of one worker,
    here in this lesson's own process: batches of 200, the same seed and
    the same first weights."""
    args = mirrored_task.parse_args(
        task_args(ctx.logdir / "one", STEPS[ctx.mode]))
    ctx.one = mirrored_task.train(args)
    return {"steps": len(ctx.one["losses"]),
            "last loss": round(ctx.one["losses"][-1], 4)}


@lesson.step("two workers, 100 images each, as two processes")
def pair(ctx):
    """The launcher starts the program twice, each with its TF_CONFIG.
    Each prints a fingerprint of its variables (a hash of every weight's
    bytes) at some steps, and reports all of them at the end."""
    command = python_task("lowtf.distributed.mirrored_task",
                          *task_args(ctx.logdir / "two", STEPS[ctx.mode]))
    job = run_job(ctx.cluster, command, ["worker0", "worker1"],
                  timeout=180)
    ctx.two = [job.results["worker0"], job.results["worker1"]]
    return {"exit codes": job.exit_codes,
            "seconds": round(job.seconds, 1)}


@lesson.step("the copies stay equal, and match one worker with the whole batch")
def compare(ctx):
    """Every step's fingerprints are compared: mirrored variables are one
    set of numbers, kept twice. The pair's losses are then set against
    the baseline's. The noise here is the batch: the loss jumps from step
    to step with the images drawn, so each curve's last third has a mean
    and a standard error from its spread, judged at Student's t cut for
    that many steps. Equal arithmetic should give a
    difference far inside that noise (it differs at all only because
    float32 sums in another order)."""
    first, second = ctx.two
    same = sum(a == b for a, b in zip(first["fingerprints"],
                                      second["fingerprints"]))
    k = len(first["losses"]) // 3
    pair, one = first["losses"][-k:], ctx.one["losses"][-k:]
    said = ctx.verdict(verdicts.repeated(
        "2 workers x 100 vs 1 worker x 200, mean loss of the last third",
        pair, one, names=("2 x 100", "1 x 200")),
        expects=verdicts.NO_DIFFERENCE)
    largest = max(abs(a - b) for a, b in zip(first["losses"],
                                             ctx.one["losses"]))
    ctx.record(steps_with_equal_weights=same, steps=len(first["losses"]),
               largest_loss_difference=largest)
    return {"steps where both workers' weights were equal":
                f"{same} of {len(first['losses'])}",
            "largest per-step loss difference from 1 x 200": f"{largest:.1e}",
            "loss curves": said}


def block_rates(run):
    """Images per second of each block of BLOCK steps, the first block
    left out (it includes tracing the step function)."""
    seconds = run["step_seconds"][BLOCK:]
    blocks = [seconds[i:i + BLOCK] for i in range(0, len(seconds), BLOCK)]
    return [run["global_batch"] * len(b) / sum(b) for b in blocks if b]


@lesson.step("images per second: the pair against one worker")
def speed(ctx):
    """What a second worker buys: each step computes half the batch per
    worker, but adds an all-reduce over the network. On one machine of 2
    cores the two workers also share the cores, so a second machine's
    work cannot show here; what this measures is the cost of the
    collective on loopback. Each block of 5 steps is a round."""
    said = ctx.verdict(verdicts.speeds(
        "images/s, 2 workers vs 1 worker", block_rates(ctx.two[0]),
        block_rates(ctx.one), names=("2 workers", "1 worker")))
    return {"speed": said}


@lesson.step("a worker dies: the survivor's error, and a restart that resumes")
def fault(ctx):
    """Synchronous training cannot go on without every worker: the
    survivor's next all-reduce waits for the missing one and fails at its
    deadline (TIMEOUT), with an error, not a hang. The job is then
    restarted whole, as a cluster scheduler would, and resumes from the
    last checkpoint (tf.train.CheckpointManager, every 10 steps, worker 0
    writing): the steps after that save are done again, none is lost.
    The full run (without --fast) kills worker 1 at step 25 and counts;
    --fast leaves this out (two more clusters), and make test-all runs it."""
    if ctx.fast:
        return {"skipped in --fast": "run the lesson without --fast"}
    folder = ctx.logdir / "fault"
    args = task_args(folder, 40, "--checkpoint_every", "10",
                     "--step_seconds", "0.05", "--print_every", "1")
    command = python_task("lowtf.distributed.mirrored_task", *args)
    began = time.perf_counter()
    broken = run_job(ctx.cluster, command, ["worker0"], timeout=120,
                     kill_after=("worker1", "step 25 "))
    failed_after = time.perf_counter() - began
    again = run_job(ctx.cluster, command, ["worker0", "worker1"],
                    timeout=120)
    resumed = again.results["worker0"]["start"]
    ctx.record(fault_resumed_from=resumed)
    return {"worker 0's exit code after the kill":
                broken.exit_codes["worker0"],
            "its message": broken.errors()[:1],
            "seconds from start to failure": round(failed_after, 1),
            "the restart began at step": resumed,
            "steps done again": 25 - resumed,
            "steps done in all": len(again.results["worker0"]["losses"])
            + resumed}


@lesson.step("Keras 3's fit under this strategy")
def keras_fit(ctx):
    """TensorFlow's own tutorial ("Multi-worker training with Keras")
    calls model.fit under MultiWorkerMirroredStrategy. With Keras 3, the
    Keras that TensorFlow 2.16 and later install, that tutorial fails at
    fit (keras-team/keras#20585, open; tensorflow/tensorflow#72388), and
    Keras 3 does not support ParameterServerStrategy at all
    (keras-team/keras#18624). The working path on this TensorFlow is the
    custom loop shown above: strategy.run, all_reduce and reduce over
    tf.Module and tf.Variable. The legacy route is tf-keras (Keras 2, on
    PyPI) with TF_USE_LEGACY_KERAS=1 set before TensorFlow is imported."""
    return {"works": "custom loop (this lesson)",
            "legacy": "tf-keras with TF_USE_LEGACY_KERAS=1",
            "fails on TF 2.21 + Keras 3": "model.fit under multi-worker"}


@lesson.step("to real machines: the same script, other TF_CONFIGs")
def real_cluster(ctx):
    """On real machines nothing in the program changes: each host gets its
    own TF_CONFIG. `lowtf cluster config` writes them for a list of
    addresses, and `lowtf cluster kubernetes` a manifest: a headless
    Service that gives every Pod a stable name, and a Pod per task with
    its TF_CONFIG naming the others by those names. kubectl apply -f reads
    it. Keep such a cluster on a private network: the servers run any op
    for whoever reaches them."""
    hosts = {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]}
    manifest = deploy.kubernetes_manifest(
        {"worker": 2}, image="my-registry/lowtf:latest",
        command=["python", "-m", "lowtf.distributed.mirrored_task",
                 "--logdir", "/tmp/run"])
    path = ctx.logdir / "kubernetes.json"
    path.write_text(deploy.manifest_text(manifest))
    pods = [i["metadata"]["name"] for i in manifest["items"][1:]]
    return {"host 10.0.0.2's TF_CONFIG":
                deploy.tf_configs(hosts)["worker1"],
            "manifest": str(path), "pods": pods}


if __name__ == "__main__":
    raise SystemExit(lesson.main())
