"""Name scopes and TensorBoard: tidy graphs, and summaries you can watch."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import contextlib
import json
import os
import signal
import sys
import threading
import urllib.request
from pathlib import Path

import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

lesson = Lesson("04", "name scopes and tensorboard")


@lesson.step("nested name scopes prefix op names")
def scopes(ctx):
    """name_scope prefixes every op created inside it, and TensorBoard folds a scope into
    one box. Opening a scope name a second time gets a suffix (_1) rather than mixing."""
    with tf.name_scope("model"):
        with tf.name_scope("layer1"):
            w = tf.Variable(tf.ones([2, 2]), name="weights")
            y = tf.matmul(tf.ones([1, 2]), w, name="y")
        with tf.name_scope("layer1"):
            again = tf.identity(y, name="same_scope_name_again")
    ctx.record(scoped_names=[w.op.name, y.op.name, again.op.name])
    return {
        "weights": w.op.name,
        "y": y.op.name,
        "second layer1": again.op.name,
    }


@lesson.step(
    "a scalar summary of a random walk, one point per step, in a FileWriter"
)
def random_walk(ctx):
    """A summary op turns a tensor into a serialised Summary protobuf; a FileWriter
    appends those to an events file in logdir, with the step number. Passing the
    graph to the FileWriter makes it appear in TensorBoard's Graphs tab.
    Keep one FileWriter per run directory: two writers opened in the same second
    name their files alike (events.out.tfevents.TIME.HOST) and one overwrites the other."""
    steps = 100 if ctx.fast else 1000
    with tf.name_scope("random_walk"):
        position = ctx.position = tf.Variable(0.0, name="position")
        stride = tf.random_uniform(
            [], -1.0, 1.0, seed=4, name="stride"
        )  # a step back or forward
        move = tf.assign_add(position, stride, name="move")
        # Summarise move's output, not `position`: in one run the two would
        # race, since nothing orders a read of the Variable after the assign.
        ctx.walk_summary = tf.summary.scalar("distance", move)
    ctx.writer = tf.summary.FileWriter(str(ctx.logdir), tf.get_default_graph())
    ctx.on_exit(
        ctx.writer.close
    )  # closed however the lesson ends (closing twice is harmless)
    with tf.Session() as sess:
        sess.run(position.initializer)
        for step in range(steps):
            _, summary = sess.run([move, ctx.walk_summary])
            ctx.writer.add_summary(summary, step)
        final = float(sess.run(position))
    ctx.writer.flush()
    ctx.record(
        walk_steps=steps,
        walk_final=round(final, 4),
        walk_tag=ctx.walk_summary.op.name,
    )
    return {
        "steps": steps,
        "final position": final,
        "events in": str(ctx.logdir),
        "in TensorBoard": "Scalars tab, random_walk/distance "
        "(set smoothing to 0 to see each step)",
    }


@lesson.step(
    "histogram, image, text and audio summaries; merge versus merge_all"
)
def other_summaries(ctx):
    """Each summary op registers itself in the SUMMARIES collection. merge_all() merges
    every one of them (the random walk's too); merge([...]) only those you list, so
    you can log cheap summaries often and costly ones rarely."""
    step = tf.placeholder(tf.float32, [], name="step")
    with tf.name_scope("pictures"):
        # A normal distribution whose mean drifts with the step.
        samples = tf.random_normal([1000], mean=step / 10.0, seed=5)
        hist = tf.summary.histogram("drifting_normal", samples)
        # A bright spot moving right with the step: drag the step slider.
        grid = tf.range(28, dtype=tf.float32)
        xs, ys = tf.meshgrid(grid, grid)
        spot = tf.exp(-((xs - 4.0 - 5.0 * step) ** 2 + (ys - 14.0) ** 2) / 8.0)
        image = tf.summary.image(
            "moving_spot", spot[None, :, :, None], max_outputs=1
        )
        note = tf.summary.text("note", tf.strings.format("step {}", step))
        # One second of a 440 Hz tone at 8 kHz, as [batch, frames, channels].
        t = tf.range(8000, dtype=tf.float32) / 8000.0
        tone = tf.summary.audio(
            "a440", tf.sin(2 * np.pi * 440.0 * t)[None, :, None] * 0.5, 8000
        )
    selected = tf.summary.merge([hist, image, note, tone])
    everything = tf.summary.merge_all()
    with tf.Session() as sess:
        # Only what merge_all will read needs a value. A
        # global_variables_initializer() here would add an `init` node wired
        # to every Variable, and TensorBoard would draw the scopes around it.
        sess.run(ctx.position.initializer)
        for i in range(5):
            ctx.writer.add_summary(sess.run(selected, {step: i}), i)
        everything_value = sess.run(everything, {step: 0})
    ctx.writer.add_graph(
        tf.get_default_graph()
    )  # the graph has grown since step 2
    ctx.writer.close()
    merged = tf.Summary.FromString(everything_value)
    tags = sorted({v.tag for v in merged.value})
    ctx.record(merge_all_tags=tags)
    return {
        "merge([...]) summaries": len(selected.op.inputs),
        "merge_all() tags": tags,
        "then run": ctx.tensorboard(),
    }


def stop_started(logdir, running_before: set) -> None:
    """Ask each tensorboard serving ``logdir`` that was not running before
    (by ``manager.get_all()``'s pid) to end, with SIGTERM."""
    from tensorboard import manager

    for info in manager.get_all():
        if info.logdir == str(logdir) and info.pid not in running_before:
            with contextlib.suppress(ProcessLookupError):
                os.kill(info.pid, signal.SIGTERM)


@lesson.step(
    "TensorBoard in a notebook: %load_ext tensorboard, then %tensorboard"
)
def in_a_notebook(ctx):
    """In Jupyter (and Colab) two lines start TensorBoard and show it inside the notebook:
        %load_ext tensorboard
        %tensorboard --logdir runs/04_name_scopes_and_tensorboard --host 127.0.0.1
    The magic hands its command line to tensorboard.notebook.start, which starts a
    tensorboard process (or reuses one already serving that logdir), waits until it
    answers and shows it in a frame; outside a notebook it prints the address instead.
    Here the lesson calls it, asks the server which runs it found in this lesson's folder,
    and stops it when the lesson ends (in a notebook: notebook.list(), then kill PID)."""
    from tensorboard import manager, notebook

    # the tensorboard program beside this Python, as a notebook's PATH finds it
    os.environ.setdefault(
        "TENSORBOARD_BINARY",
        str(Path(sys.executable).with_name("tensorboard")),
    )
    running_before = {i.pid for i in manager.get_all()}
    ctx.on_exit(lambda: stop_started(ctx.logdir, running_before))
    # notebook.start returns once the new process answers, seconds later
    # (it loads TensorFlow too): in a thread, so the lesson can say so
    launch = threading.Thread(
        target=notebook.start,
        args=(f"--logdir {ctx.logdir} --host 127.0.0.1",),
        daemon=True,
    )
    launch.start()
    waited = 0
    while launch.join(2) or launch.is_alive():
        waited += 2
        print(f"   {waited} s: tensorboard is still starting", flush=True)
    info = next(i for i in manager.get_all() if i.logdir == str(ctx.logdir))
    with urllib.request.urlopen(
        f"http://127.0.0.1:{info.port}/data/runs", timeout=30
    ) as reply:
        runs = json.loads(reply.read())
    ctx.record(notebook_tensorboard_runs=runs)
    return {
        "its process": info.pid,
        "its port": info.port,
        "runs it serves": runs,
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
