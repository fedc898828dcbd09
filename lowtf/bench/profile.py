"""Where a LeNet-5 training step's time goes, op by op: ``lowtf bench --profile DIR``.

The throughput benchmark times whole steps; this records a few with TensorFlow's profiler (which
records Session runs too: lesson 35 step 5 teaches it), each marked as a step, into ``DIR`` for
TensorBoard's PROFILE dashboard (Tools -> trace_viewer: every op on a timeline), and reads the same
file back to total the time by op type.
"""
from __future__ import annotations

from pathlib import Path


def op_times(profile_dir) -> dict[str, float]:
    """Microseconds per TensorFlow op type in the newest profile under
    ``profile_dir``: the XSpace file the profiler wrote holds one event
    per op run, named "name:Type" (MatMul:_MklMatMul), with its length
    in picoseconds."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    files = Path(profile_dir).glob("plugins/profile/*/*.xplane.pb")
    path = max(files, key=lambda p: p.stat().st_mtime)
    space = xplane_pb2.XSpace.FromString(path.read_bytes())
    totals: dict[str, float] = {}
    for plane in space.planes:
        names = {k: m.name for k, m in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                name = names.get(event.metadata_id, "")
                if ":" in name and "::" not in name:   # not Executor::
                    kind = name.split(":")[1]
                    ps = event.duration_ps
                    totals[kind] = totals.get(kind, 0) + ps
    return {k: v / 1e6 for k, v in totals.items()}


def profile_lenet5(logdir: Path, steps: int = 20, batch: int = 128, warmup: int = 5) -> dict[str, float]:
    """Train the benchmark's LeNet-5 graph (random data, Adam 1e-3, fed per step) for ``warmup`` steps,
    then profile ``steps`` more into ``logdir``; return {op type: share of the recorded op time}."""
    import tensorflow as tf2
    import tensorflow.compat.v1 as tf

    from lowtf.bench.variants import random_data
    from lowtf.models import lenet5
    from lowtf.nn import training_flag

    x_all, y_all = random_data(batch)
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        training = training_flag()
        images = tf.placeholder(tf.float32, [None, 28, 28, 1])
        labels = tf.placeholder(tf.int64, [None])
        logits, _ = lenet5(images, training)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
        feed = {images: x_all[:batch], labels: y_all[:batch], training: True}
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(warmup):
                sess.run(train_op, feed)
            tf2.profiler.experimental.start(str(logdir))
            try:
                for step in range(steps):
                    with tf2.profiler.experimental.Trace("train", step_num=step, _r=1):
                        sess.run(train_op, feed)
            finally:
                tf2.profiler.experimental.stop()
    totals = op_times(logdir)
    whole = sum(totals.values()) or 1.0
    return {k: v / whole for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


def print_profile(shares: dict[str, float], logdir: Path, top: int = 8) -> None:
    print("time by op type over the profiled steps (of all op time recorded):")
    for kind, share in list(shares.items())[:top]:
        print(f"  {share:5.1%}  {kind}")
    print(f"the timeline: tensorboard --logdir {logdir} --host 127.0.0.1, then PROFILE, Tools -> trace_viewer")
