"""One task of between-graph replicated MNIST training (ps + workers), asynchronous or (--sync) synchronous.

Run under ``TF_CONFIG`` (``lowtf cluster local`` sets it)::

    lowtf cluster local --ps 1 --workers 2 -- python -m lowtf.distributed.mnist_task --logdir runs/15

- ps tasks start a ``tf.train.Server`` and ``join()``: they hold the Variables and serve them.
- every worker builds its own copy of the graph ("between-graph replication") under
  ``replica_device_setter``, which puts Variables on the ps and everything else on the
  worker; each applies its gradients to the shared Variables whenever it has them
  (asynchronous training).
- worker 0, the chief, initialises (or restores from ``--logdir``), writes checkpoints and
  summaries through ``MonitoredTrainingSession``; all stop at the shared ``global_step``.
- every gRPC call has a deadline, so a lost ps is an error message, not a hang.
- ``--phase NAME:WORKERS[:sync][:delay=SECONDS]`` (repeatable) runs several jobs in turn on the same
  processes, each on Variables of its own on the ps (``tf.container(NAME)``), with its checkpoints and
  summaries in ``--logdir/NAME``; workers numbered WORKERS and above sit that job out. A lesson then pays
  for loading TensorFlow once per task, not once per task per job.
Each worker ends each job by printing one ``RESULT {json}`` line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from dataclasses import dataclass

from lowtf import console

if __name__ == "__main__":   # a line at once: the import below takes seconds, more with several tasks starting
    print(f"{os.environ.get('LOWTF_TASK_NAME', 'task')} loading TensorFlow ...", flush=True)
console.load_tensorflow(keras_eagerly=False)   # quietly, fast kernels on; no task uses Keras

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf

from lowtf.data.splits import load_splits
from lowtf.distributed.cluster import ClusterError, from_tf_config
from lowtf.folders import FolderError, make_folder
from lowtf.models import MODELS

tf.disable_v2_behavior()


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--logdir", required=True, help="the chief's checkpoints and summaries")
    p.add_argument("--model", default="softmax", choices=["softmax", "mlp"])
    p.add_argument("--steps", type=int, default=1000, help="stop when the shared global_step reaches this")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--learning_rate", type=float, default=0.5)
    p.add_argument("--checkpoint_steps", type=int, default=100)
    p.add_argument("--print_every", type=int, default=100, help="a progress line every so many local steps")
    p.add_argument("--step_delay", type=float, default=0.0, help="seconds to sleep per step (fault demos)")
    p.add_argument("--timeout_ms", type=int, default=30000, help="deadline for every remote operation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start_together", action="store_true",
                   help="the chief waits (up to --join_wait_s) for every other worker to join before its first step")
    p.add_argument("--join_wait_s", type=float, default=60.0)
    p.add_argument("--sync", action="store_true",
                   help="synchronous: SyncReplicasOptimizer averages as many gradients as there are workers per step")
    p.add_argument("--phase", action="append", default=[], metavar="NAME:WORKERS[:sync][:delay=SECONDS]",
                   help="run this job, then the next --phase, on the same tasks (Variables of their own on the ps, "
                        "files in LOGDIR/NAME); only workers 0..WORKERS-1 take part. Default: one job, every "
                        "worker, --sync and --step_delay as given, files in LOGDIR")
    return p.parse_args(argv)


@dataclass(frozen=True)
class Phase:
    """One job of a run: its name ("" for a plain run: files in --logdir, the ps's default container), how
    many workers take part, synchronous or not, and a sleep per step."""
    name: str
    workers: int
    sync: bool = False
    step_delay: float = 0.0


def parse_phase(text: str, cluster_workers: int) -> Phase:
    """``NAME:WORKERS[:sync][:delay=SECONDS]`` -> Phase; a ValueError names what is wrong."""
    name, _, rest = text.partition(":")
    fields = rest.split(":") if rest else []
    if not name.isidentifier() or not fields or not fields[0].isdigit():
        raise ValueError(f"--phase {text!r}: expected NAME:WORKERS[:sync][:delay=SECONDS], e.g. two_workers:2")
    workers, sync, delay = int(fields[0]), False, 0.0
    if not 1 <= workers <= cluster_workers:
        raise ValueError(f"--phase {text!r}: WORKERS must be 1..{cluster_workers} (the cluster's workers)")
    for option in fields[1:]:
        if option == "sync":
            sync = True
        elif option.startswith("delay="):
            delay = float(option[len("delay="):])
        else:
            raise ValueError(f"--phase {text!r}: unknown option {option!r} (sync, delay=SECONDS)")
    if sync and workers != cluster_workers:
        raise ValueError(f"--phase {text!r}: a synchronous job needs every worker ({cluster_workers})")
    return Phase(name, workers, sync, delay)


def phases_of(args, cluster_workers: int) -> list[Phase]:
    if not args.phase:
        return [Phase("", cluster_workers, args.sync, args.step_delay)]
    phases = [parse_phase(text, cluster_workers) for text in args.phase]
    names = [ph.name for ph in phases]
    if len(set(names)) != len(names):
        raise ValueError(f"--phase names must differ: {names}")
    return phases


def build(task, args):
    """The worker's graph: Variables on the ps, compute on this
    worker."""
    device = tf.train.replica_device_setter(
        worker_device=f"/job:worker/task:{task.index}",
        cluster=task.cluster_spec(),
    )
    with tf.device(device):
        global_step = tf.train.get_or_create_global_step()
        images = tf.placeholder(
            tf.float32, [None, 28, 28, 1], name="images"
        )
        labels = tf.placeholder(tf.int64, [None], name="labels")
        logits, _ = MODELS[args.model](images, tf.constant(False))
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=logits
            )
        )
        accuracy = tf.reduce_mean(
            tf.cast(tf.equal(tf.argmax(logits, 1), labels), tf.float32)
        )
        optimizer = tf.train.GradientDescentOptimizer(args.learning_rate)
        if args.sync:
            # Each step waits for `workers` fresh gradients (from
            # whichever workers push them), averages them and applies
            # once; stale ones are dropped.
            workers = len(task.cluster["worker"])
            optimizer = tf.train.SyncReplicasOptimizer(
                optimizer,
                replicas_to_aggregate=workers,
                total_num_replicas=workers,
            )
        train_op = optimizer.minimize(loss, global_step=global_step)
        tf.summary.scalar("loss", loss)
        tf.summary.scalar("accuracy", accuracy)
        # Which workers have joined this run, a flag each (on the ps; the
        # chief zeroes them when it starts; its own flag is its "go")
        joined = tf.Variable(
            tf.zeros([len(task.cluster["worker"])], tf.int32),
            trainable=False, name="workers_joined",
        )
    return (
        images, labels, global_step, loss, accuracy, train_op, optimizer,
        joined,
    )


class _PromptWorkerSessionCreator(tf.train.WorkerSessionCreator):
    """A non-chief waits for the chief to initialise the Variables. TensorFlow's default
    checks every 30 s; checking every 0.2 s (one small request to the ps each time) lets a
    worker join as soon as it can: the chief of a --start_together job waits for it."""

    def _get_session_manager(self):
        if not self._session_manager:
            from tensorflow.python.training import session_manager

            self._session_manager = session_manager.SessionManager(
                local_init_op=self._scaffold.local_init_op, ready_op=self._scaffold.ready_op,
                ready_for_local_init_op=self._scaffold.ready_for_local_init_op,
                graph=tf.get_default_graph(), recovery_wait_secs=0.2)
        return self._session_manager


def training_session(server, task, args, config, hooks, joined=None):
    """The chief: MonitoredTrainingSession (restore or init,
    checkpoints, summaries). Other workers: a MonitoredSession that
    waits for the chief's Variables."""
    if task.is_chief:
        # After restoring, the chief zeroes the join flags: a
        # checkpoint's are an old run's. A worker that raised its flag
        # just before raises it again (start_together).
        scaffold = (
            None
            if joined is None
            else tf.train.Scaffold(
                local_init_op=tf.group(
                    tf.train.Scaffold.default_local_init_op(),
                    joined.initializer,
                )
            )
        )
        return tf.train.MonitoredTrainingSession(
            master=server.target,
            is_chief=True,
            checkpoint_dir=args.logdir,
            hooks=hooks,
            scaffold=scaffold,
            save_checkpoint_steps=args.checkpoint_steps,
            save_summaries_steps=50,
            config=config,
            stop_grace_period_secs=1,
        )
    creator = _PromptWorkerSessionCreator(
        master=server.target, config=config, max_wait_secs=300
    )
    return tf.train.MonitoredSession(
        session_creator=creator, hooks=hooks, stop_grace_period_secs=1
    )


def _quiet_cancelled_queue_runner(args) -> None:
    """threading.excepthook: drop the CancelledError of a queue-runner thread, report anything else.

    At the end of a synchronous job the chief's token queue runner is still waiting for
    gradients that will never come (the other workers have stopped). Closing the session
    cancels that wait, and TensorFlow reports it as an uncaught CancelledError in the
    runner's thread: the expected end of SyncReplicasOptimizer's queue, not an error."""
    if issubclass(args.exc_type, tf.errors.CancelledError) and "QueueRunnerThread" in getattr(args.thread, "name", ""):
        return
    threading.__excepthook__(args)


class Watchdog:
    """Exit the process with a clear message if no training step finishes for ``seconds``.

    MonitoredSession treats a lost ps (UnavailableError, AbortedError) as recoverable and
    keeps trying to recreate its session, which against a dead ps can wait forever; the
    per-operation deadline never reaches us. A watchdog on progress bounds the wait."""

    def __init__(self, seconds: float, message: str):
        self.seconds, self.message = seconds, message
        self.last = time.monotonic()
        self._stop = threading.Event()
        threading.Thread(target=self._watch, daemon=True).start()

    def beat(self) -> None:
        self.last = time.monotonic()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            if time.monotonic() - self.last > self.seconds:
                print(self.message.format(seconds=self.seconds), file=sys.stderr, flush=True)
                os._exit(3)


def rate_se(step_seconds: np.ndarray, batch: int) -> float:
    """The standard error of images/s = batch / mean step time, from the steps' spread (delta method):
    batch * SE(mean) / mean². 0.0 with fewer than two steps."""
    if len(step_seconds) < 2:
        return 0.0
    mean = float(np.mean(step_seconds))
    return round(batch * float(np.std(step_seconds, ddof=1)) / np.sqrt(len(step_seconds)) / mean ** 2, 1)


def run_step(sess, fetches, feed: dict, task_index: int):
    """``sess.run(fetches, feed)``, or None when the step was cancelled because gRPC delivered one of its
    requests twice: a retry under load that TensorFlow's worker refuses ("The same RunGraph request was
    received twice"). The step is lost, not the job: a synchronous job may stall without one of its workers."""
    try:
        return sess.run(fetches, feed)
    except (tf.errors.CancelledError, tf.errors.AbortedError) as e:
        if "request was received twice" not in str(e.message):
            raise
        print(f"note: worker {task_index} lost a step: gRPC sent one of its requests twice (a retry under "
              "load) and TensorFlow refused the copy; going on", flush=True)
        return None


def start_together(sess, task, join, joined, wait_s: float, workers: int) -> int:
    """A worker raises its flag and waits for the chief's go; the chief waits until the flags of all the others
    of the job's ``workers`` are up, then says go (its own flag). Each waits at most ``wait_s``. So a comparison
    of one worker with several measures them working side by side, not one alone. A worker raises its flag
    again at every look (it is idempotent): one raised between the chief's initialisation and its zeroing of
    the flags (its local_init_op) would otherwise be lost, and the chief would wait ``wait_s`` for nothing.
    Returns how many other workers had joined when this one started (the chief's count; -1 for the others)."""
    others, deadline = workers - 1, time.monotonic() + wait_s
    if not task.is_chief:
        while time.monotonic() < deadline:
            sess.run(join)
            if sess.run(joined)[0]:                                        # the chief's go
                break
            time.sleep(0.01)
        return -1
    while int(sess.run(joined)[1:workers].sum()) < others and time.monotonic() < deadline:
        time.sleep(0.01)
    count = int(sess.run(joined)[1:workers].sum())
    if count < others:
        print(f"note: worker 0 starts without waiting longer: {count} of {others} other workers joined "
              f"within {wait_s:.0f} s", flush=True)
    sess.run(join)                                                          # go
    return count


def run_worker(server, task, args) -> list[dict]:
    """Every job (``--phase``) this worker takes part in, in turn; one RESULT line for each."""
    splits = load_splits(validation_size=0)
    results = []
    for phase in phases_of(args, len(task.cluster["worker"])):
        if task.index >= phase.workers:
            continue   # sits this job out: the next one's session waits for the chief's Variables
        # The job's own settings where build() and training_session() read them
        job_args = argparse.Namespace(**{**vars(args), "sync": phase.sync, "step_delay": phase.step_delay,
                                         "logdir": os.path.join(args.logdir, phase.name) if phase.name else args.logdir})
        # A graph of its own, and Variables of its own on the ps: a job starts from fresh weights and step 0
        # (a container's name takes letters, digits, '.', '-', '/': no '_')
        with tf.Graph().as_default(), tf.container(phase.name.replace("_", "-")):
            result = run_phase(server, task, job_args, splits, phase)
        print("RESULT " + json.dumps(result), flush=True)
        results.append(result)
    return results


def run_phase(server, task, args, splits, phase: Phase) -> dict:
    began = time.perf_counter()
    # uint8 kept as it is; each batch is scaled when it is drawn (scaling all 60,000 images up front took
    # ~0.9 s of CPU in every worker of every job, on cores the other processes of the cluster share)
    train_x, train_y = splits.train.images, splits.train.labels
    rng = np.random.RandomState(args.seed + task.index)  # each worker sees its own order
    images, labels, global_step, loss, accuracy, train_op, optimizer, joined = build(task, args)
    join = tf.scatter_update(joined, [task.index], [1])   # this worker's flag; built before the graph is final
    config = tf.ConfigProto(device_filters=["/job:ps", f"/job:worker/task:{task.index}"],
                            operation_timeout_in_ms=args.timeout_ms)
    hooks = [tf.train.StopAtStepHook(last_step=args.steps)]
    if args.sync:
        hooks.append(optimizer.make_session_run_hook(task.is_chief))
        threading.excepthook = _quiet_cancelled_queue_runner
    local_steps, step = 0, 0
    # Waiting for the chief and starting up can take a while; after that a step is milliseconds.
    watchdog = Watchdog(max(120.0, 3 * args.timeout_ms / 1000),
                        f"error: worker {task.index} made no progress for {{seconds:.0f}} s: the cluster is lost "
                        f"(is every ps task running?). Restart the cluster: the chief resumes from the last "
                        f"checkpoint in {args.logdir}")
    with training_session(server, task, args, config, hooks, joined if args.start_together else None) as sess:
        first_step = None
        if args.start_together:
            # A plain Session on the same target: a run through `sess` would fire the chief's summary
            # hook, which needs a batch fed
            with tf.Session(server.target, config=config) as plain:
                joined_at_start = start_together(plain, task, join, joined, args.join_wait_s,
                                                 phase.workers)
        watchdog.seconds = 3 * args.timeout_ms / 1000
        started = time.perf_counter()       # the rate counts training, not waiting for the chief or the others
        ended = [started]                   # when each local step ended: the steps' own times, for their spread
        while not sess.should_stop():
            idx = rng.randint(0, len(train_y), args.batch)
            batch = train_x[idx].astype(np.float32) / 255.0
            ran = run_step(sess, [train_op, global_step], {images: batch, labels: train_y[idx]}, task.index)
            watchdog.beat()
            if ran is None:
                continue
            _, step = ran
            first_step = int(step) if first_step is None else first_step
            local_steps += 1
            if local_steps % args.print_every == 0:
                job = f" ({phase.name})" if phase.name else ""
                print(f"worker {task.index}{job}: {local_steps} local steps, global step {step}", flush=True)
            if args.step_delay:
                time.sleep(args.step_delay)
            ended.append(time.perf_counter())
    watchdog.stop()
    seconds = time.perf_counter() - started
    # The rate leaves out a session's first step: it also registers the graph's pieces with every task
    timed = np.diff(ended)[1:] if local_steps > 2 else np.diff(ended)
    result = {"worker": task.index, **({"phase": phase.name} if phase.name else {}), "chief": task.is_chief,
              "local_steps": local_steps, "first_global_step": first_step,
              "last_global_step": int(step), "seconds": round(seconds, 2),
              "images_per_second": round(len(timed) * args.batch / max(float(timed.sum()), 1e-9), 1),
              "images_per_second_se": rate_se(timed, args.batch)}
    if args.start_together and task.is_chief:
        result["others_joined_at_start"] = joined_at_start
    if args.sync and first_step is not None and int(step) > first_step:
        # Each global step averaged `workers` gradients; how many of them were this worker's own?
        needed = (int(step) - first_step) * phase.workers
        result["own_gradient_share"] = round(min(1.0, local_steps / needed), 3)
        if phase.workers > 1 and result["own_gradient_share"] > 0.9:
            print(f"note: worker {task.index} supplied {result['own_gradient_share']:.0%} of the gradients "
                  "averaged in its steps: the other workers contributed little or nothing (lost?), so each "
                  "step averaged this worker's own gradients", flush=True)
    if task.is_chief:
        # The Variables live on the ps: a plain Session on this worker's target reads them.
        with tf.Session(server.target, config=config) as s:
            result["test_accuracy"] = float(s.run(accuracy, {images: splits.test.images / 255.0,
                                                              labels: splits.test.labels}))
            result["final_global_step"] = int(s.run(global_step))
    result["job_seconds"] = round(time.perf_counter() - began, 2)   # setting up and scoring included
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        task = from_tf_config()
        make_folder(args.logdir, "--logdir")
        phases_of(args, len(task.cluster.get("worker", [])) or 1)
    except (ClusterError, FolderError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    server = tf.train.Server(task.cluster_spec(), job_name=task.job, task_index=task.index,
                             config=tf.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=2))
    if task.job == "ps":
        print(f"ps {task.index} serving Variables at {task.address}", flush=True)
        server.join()  # forever: the launcher stops it when the workers are done
        return 0
    try:
        run_worker(server, task, args)
    except (tf.errors.DeadlineExceededError, tf.errors.UnavailableError, tf.errors.AbortedError) as e:
        reason = f"{type(e).__name__}: {e.message.splitlines()[0][:200]}"
        if args.sync and isinstance(e, tf.errors.DeadlineExceededError):
            why = (f"a synchronous step waited over {args.timeout_ms / 1000:.0f} s for gradients: each step needs "
                   f"{len(task.cluster['worker'])} of them, so a lost worker (or ps) can stall the job")
        else:
            why = "is every ps task running?"
        print(f"error: worker {task.index} lost the cluster ({reason}); {why}. Restart the cluster: the chief "
              f"resumes from the last checkpoint in {args.logdir}", file=sys.stderr, flush=True)
        return 3
    return 0


if __name__ == "__main__":
    code = main()
    # Everything is saved and closed by now (MonitoredTrainingSession wrote its checkpoint and
    # summaries, the RESULT line is out). Python's own exit would then tear the gRPC server and
    # TensorFlow's threads down one by one: ~0.8 s measured here, paid by every job a lesson runs.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
