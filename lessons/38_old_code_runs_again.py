"""Old code runs again: a TF 1.x script with edited imports, unedited under `lowtf run`, and tf_upgrade_v2's report on it."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import contextlib
import difflib
import importlib.util
import io
import os
import subprocess
import sys
import tempfile
import time

import tensorflow.compat.v1 as tf
from tensorflow.tools.compatibility import ast_edits, tf_upgrade_v2

from lowtf.data import mnist

lesson = Lesson("38", "old code runs again")

# --- knobs -------------------------------------------------------------------
STEPS = {"fast": 200, "full": 1000}  # training steps of the old script
# The script, as a 2017 tutorial wrote it: the tutorials' MNIST package,
# tf.contrib, tf.layers, a Session and feed_dict.
OLD_SCRIPT = '''\
"""MNIST in the TF 1.x style of 2017."""
import sys

import tensorflow as tf
from tensorflow.examples.tutorials.mnist import input_data

mnist = input_data.read_data_sets(sys.argv[1], one_hot=True, reshape=False)

x = tf.placeholder(tf.float32, [None, 28, 28, 1])
y_ = tf.placeholder(tf.float32, [None, 10])
flat = tf.contrib.layers.flatten(x)
hidden = tf.layers.dense(flat, 100, activation=tf.nn.relu)
logits = tf.layers.dense(hidden, 10)
loss = tf.reduce_mean(
    tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=logits))
train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
correct = tf.equal(tf.argmax(logits, 1), tf.argmax(y_, 1))
accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(int(sys.argv[2])):
        xs, ys = mnist.train.next_batch(100)
        sess.run(train, feed_dict={x: xs, y_: ys})
    print("test accuracy %.4f" % sess.run(
        accuracy, feed_dict={x: mnist.test.images, y_: mnist.test.labels}))
'''
# The README's import edits: lowtf's MNIST first (lowtf sets TensorFlow's
# fast CPU kernels before TensorFlow loads), then the v1 API, v2 behaviour off.
IMPORT_EDITS = {
    "import tensorflow as tf\n": (
        "from lowtf.tutorials.mnist import input_data\n"
        "import tensorflow.compat.v1 as tf\n"
        "tf.disable_v2_behavior()\n"
    ),
    "from tensorflow.examples.tutorials.mnist import input_data\n": "",
}


def run_script(command, label):
    """Run an old script in a process of its own: (exit status, stdout,
    stderr). The environment is a learner's shell's: no TensorFlow log
    level set. A line every 2.5 s while it loads TensorFlow and trains."""
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    print(f"   $ {label}", flush=True)
    with (
        tempfile.TemporaryFile("w+") as out,
        tempfile.TemporaryFile("w+") as err,
    ):
        process = subprocess.Popen(
            command, stdout=out, stderr=err, text=True, env=env
        )
        started = time.monotonic()
        try:
            while process.poll() is None:
                try:
                    process.wait(timeout=2.5)
                except subprocess.TimeoutExpired:
                    waited = time.monotonic() - started
                    print(f"   ... {waited:.0f} s, running", flush=True)
                    if waited > 300:
                        process.kill()
        finally:  # interrupted (Ctrl-C, SIGTERM): it stops too
            if process.poll() is None:
                process.kill()
                process.wait()
        out.seek(0)
        err.seek(0)
        return process.returncode, out.read(), err.read()


def last_line(text):
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


@lesson.step("an old script, and what TensorFlow 2 no longer has")
def old_script(ctx):
    """Code from TF 1.x tutorials is everywhere: books, blogs, courses,
    answers. This one uses four things TensorFlow 2 changed: `import
    tensorflow` now gives eager TF 2 (no placeholders, no Sessions); the
    tutorials' MNIST package (tensorflow.examples.tutorials) is gone;
    tf.contrib left in 2.0; and tf.layers, the TF 1.4+ layers, came from
    Keras 2, which Keras 3 replaced. Each is checked here, in this lesson's
    own process (TensorFlow 2.21, Keras 3)."""
    ctx.old = ctx.logdir / "old_mnist.py"
    ctx.old.write_text(OLD_SCRIPT)
    ctx.data = str(mnist.folder())
    mnist.fetch(log=lambda message: None)
    try:
        layers = tf.layers.dense.__name__
    except AttributeError as e:
        layers = str(e)
    return {
        "the script": str(ctx.old),
        "tensorflow.examples": importlib.util.find_spec("tensorflow.examples"),
        "tf.compat.v1 has contrib": hasattr(tf, "contrib"),
        "tf.compat.v1.layers.dense": layers,
    }


@lesson.step("way 1: edit the imports, run it with python")
def edited(ctx):
    """The README's edits make raw-op code run: the v1 API, v2 behaviour off,
    and lowtf's verified MNIST for the tutorials' reader (no download). This
    script gets past its imports and placeholders, then stops at tf.contrib:
    import edits cannot bring back what left TensorFlow. Count the lines
    TensorFlow printed on standard error too: that is what a run looks like
    without a filter."""
    text = OLD_SCRIPT
    for old, new in IMPORT_EDITS.items():
        text = text.replace(old, new)
    ctx.edited = ctx.logdir / "old_mnist_edited.py"
    ctx.edited.write_text(text)
    diff = difflib.unified_diff(
        OLD_SCRIPT.splitlines(), text.splitlines(), lineterm="", n=0
    )
    code, _, err = run_script(
        [sys.executable, str(ctx.edited), ctx.data, str(STEPS[ctx.mode])],
        f"python {ctx.edited.name} DATA {STEPS[ctx.mode]}",
    )
    noise = err.split("Traceback")[0].splitlines()  # before the error
    ctx.record(edited_exit=code, edited_error=last_line(err))
    ctx.record(edited_tensorflow_lines=len(noise))
    return {
        "the edits": [line for line in diff if line[:3] not in ("---", "+++")],
        "exit status": code,
        "how it ended": last_line(err),
        "TensorFlow's lines before it": len(noise),
        "the first": noise[0][:70] if noise else None,
    }


@lesson.step("way 2: lowtf run, the script unedited")
def unedited(ctx):
    """`lowtf run SCRIPT` runs the file as it is, in a process of its own:
    `import tensorflow` gives the v1 API with v2 behaviour off; the tutorials'
    MNIST package is lowtf's; tf.layers comes from tf-keras (TF 1.x's own layer
    code, its variable names), chosen with TF_USE_LEGACY_KERAS=1 while that
    process loads TensorFlow and removed after, so no other process gets Keras
    2; the tf.contrib pieces with a drop-in successor map to it (the rest stop
    with a message naming what replaced them). TensorFlow's start-up and
    deprecation lines are hidden and counted; --verbose shows them."""
    code, out, err = run_script(
        [
            sys.executable,
            "-m",
            "lowtf",
            "run",
            str(ctx.old),
            ctx.data,
            str(STEPS[ctx.mode]),
        ],
        f"lowtf run {ctx.old.name} DATA {STEPS[ctx.mode]}",
    )
    accuracy = float(last_line(out).split()[-1]) if code == 0 else None
    ctx.record(unedited_exit=code, test_accuracy=accuracy)
    ctx.record(unedited_stderr=err.strip().splitlines())
    return {
        "exit status": code,
        "the script printed": out.strip(),
        "standard error": err.strip(),
    }


@lesson.step("tf_upgrade_v2's report on the same file")
def upgrade(ctx):
    """TensorFlow ships a converter, tf_upgrade_v2 (`tf_upgrade_v2 --infile OLD
    --outfile NEW`): it rewrites names to tf.compat.v1.* and marks what it
    cannot convert. Run here in-process on the unedited script, it renames
    the placeholders, wraps the labels in tf.stop_gradient, and reports
    tf.contrib as an ERROR for a person to fix; tf.layers.dense it leaves as
    it is, a name TensorFlow 2 does not have. Converting is the way to keep
    code alive for years; `lowtf run` is the way to run it today, as it was."""
    upgrader = ast_edits.ASTCodeUpgrader(tf_upgrade_v2.TFAPIChangeSpec())
    upgraded = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()):  # it prints each line
        _, report, errors = upgrader.process_opened_file(
            ctx.old.name, io.StringIO(OLD_SCRIPT), "new.py", upgraded
        )
    (ctx.logdir / "old_mnist_upgraded.py").write_text(upgraded.getvalue())
    findings = [
        line
        for line in report.splitlines()
        if ": INFO: " in line or ": WARNING: " in line or ": ERROR: " in line
    ]
    changed = [
        (a, b)
        for a, b in zip(
            OLD_SCRIPT.splitlines(), upgraded.getvalue().splitlines()
        )
        if a != b
    ]
    ctx.record(upgrade_findings=len(findings), upgrade_errors=len(errors))
    ctx.record(upgrade_changed_lines=len(changed))
    ctx.record(
        upgrade_leaves_layers=any(
            "tf.layers.dense" in line
            for line in upgraded.getvalue().splitlines()
        )
    )
    return {
        "its report": "\n".join(f.replace(": ", " ", 2) for f in findings),
        "lines it changed": len(changed),
        "errors left for a person": len(errors),
        "written to": str(ctx.logdir / "old_mnist_upgraded.py"),
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
