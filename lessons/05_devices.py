"""Devices: where ops run, how many threads they use, and soft placement."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on
from lowtf.error_text import tf_error_line
from lowtf.run_metadata import ops_by_device as placement

import time

import tensorflow.compat.v1 as tf

from lowtf import verdicts

tf.disable_v2_behavior()

lesson = Lesson("05", "devices")

ROUNDS = 3  # each thread setting timed this many times, interleaved


@lesson.step("the devices this Session can use")
def devices(ctx):
    """A Session lists its devices by full name: /job:localhost/replica:0/task:0/device:CPU:0.
    On a machine with a CUDA GPU and a GPU build of TensorFlow, GPU:0 appears too, and
    TensorFlow then places every op that has a GPU kernel on it without being asked. A
    value that moves between devices is copied (host memory to GPU memory over PCIe),
    so splitting a graph across devices costs those copies: place ops that pass large
    tensors to each other on the same device. (This machine has no GPU, so the course
    cannot measure that copy here.)"""
    with tf.Session() as sess:
        names = [d.name for d in sess.list_devices()]
    ctx.gpu = any("GPU" in n for n in names)
    ctx.record(devices=names, gpu_available=ctx.gpu)
    return {"devices": names}


@lesson.step("tf.device pins ops; the run's metadata shows where each op ran")
def pinning(ctx):
    """Ops created inside `with tf.device(...)` are placed there. The classic way to see
    placement, ConfigProto(log_device_placement=True), prints a line per op of the graph
    with its device ("product: (MatMul): .../device:CPU:0") when it first runs. A traced
    run's metadata is not the same list: it holds the ops that actually executed, after
    TensorFlow's graph optimiser has folded constants and pruned what the fetch does not
    need, so it is shorter."""
    target = "/gpu:0" if ctx.gpu else "/cpu:0"
    with tf.device("/cpu:0"):
        a = tf.random_normal([512, 512], seed=1, name="a")
    with tf.device(target):
        ctx.product = tf.matmul(a, a, name="product")
    options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
    metadata = tf.RunMetadata()
    with tf.Session(config=tf.ConfigProto(log_device_placement=True)) as sess:
        sess.run(ctx.product, options=options, run_metadata=metadata)
    where = placement(metadata)
    graph_ops = [op.name for op in tf.get_default_graph().get_operations()]
    ctx.record(
        product_device=next(d for d, ops in where.items() if "product" in ops),
        graph_op_count=len(graph_ops),
        executed_op_count=sum(len(ops) for ops in where.values()),
    )
    return {
        "ops in the graph": graph_ops,
        "ops that ran, by device (metadata)": where,
    }


@lesson.step(
    "thread settings: intra-op threads split one op, inter-op threads run ops side by side"
)
def threads(ctx):
    """intra_op_parallelism_threads is how many threads one big op (a matmul) may use;
    inter_op_parallelism_threads how many independent ops run at once. 0 means
    'one per core'. Whether more threads pay depends on the op's size and on how many
    cores are free: a big matmul on idle cores gains, a small one on a busy 2-core
    machine may gain nothing or lose to the threads' overhead. Time it, as here,
    rather than assume: ROUNDS rounds of each, interleaved, and the verdict read from
    their spread."""
    n = 512 if ctx.fast else 1024
    with tf.device("/cpu:0"):
        m = tf.Variable(tf.random_normal([n, n], seed=2))
        product = tf.reduce_sum(tf.matmul(m, m))
    sessions = {
        name: tf.Session(
            config=tf.ConfigProto(
                intra_op_parallelism_threads=intra,
                inter_op_parallelism_threads=1,
            )
        )
        for name, intra in (("1 thread", 1), ("all cores", 0))
    }
    for sess in sessions.values():
        ctx.on_exit(sess.close)
        sess.run(m.initializer)
        sess.run(product)  # warm-up
    repeats = 5 if ctx.fast else 20
    rounds = {name: [] for name in sessions}
    for _ in range(ROUNDS):  # interleaved: a busy moment hits both settings
        for name, sess in sessions.items():
            start = time.perf_counter()
            for _ in range(repeats):
                sess.run(product)
            seconds = (time.perf_counter() - start) / repeats
            rounds[name].append(round(2 * n**3 / seconds / 1e9, 1))
    verdict = ctx.verdict(
        verdicts.speeds(
            f"{n}x{n} matmul GFLOP/s, all cores vs 1 thread",
            rounds["all cores"],
            rounds["1 thread"],
            names=("all cores", "1 thread"),
        )
    )
    ctx.record(matmul_gflops=rounds)
    return {
        f"{n}x{n} matmul GFLOP/s, {ROUNDS} rounds": rounds,
        "measured": verdict,
    }


@lesson.step("soft placement: asking for a GPU that is not there")
def soft_placement(ctx):
    """Without soft placement, pinning an op to a missing device is an error at run time.
    allow_soft_placement=True lets TensorFlow fall back to a device that exists, so the
    same script runs on a laptop and on a GPU server."""
    with tf.device("/gpu:0"):
        c = tf.add(tf.ones([2]), 1.0, name="wants_gpu")
    try:
        with tf.Session(
            config=tf.ConfigProto(allow_soft_placement=False)
        ) as sess:
            sess.run(c)
        strict = "ran on the GPU" if ctx.gpu else "ran (unexpected)"
    except tf.errors.InvalidArgumentError as e:
        strict = tf_error_line(e, "cannot assign a device")
    options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
    metadata = tf.RunMetadata()
    with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:
        value = sess.run(c, options=options, run_metadata=metadata)
    soft_device = next(
        d for d, ops in placement(metadata).items() if "wants_gpu" in ops
    )
    ctx.record(soft_placement_device=soft_device)
    return {
        "strict placement": strict,
        "soft placement ran it on": soft_device,
        "value": value,
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
