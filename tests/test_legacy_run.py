"""`lowtf run`: TF 1.x scripts in the tutorials' styles (tests/legacy_scripts/) run unedited, to their
authors' accuracies, with nothing from TensorFlow on the console unless asked; their files and exit
status are their own; tf.contrib pieces map to successors or stop with a message naming them."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO
from lowtf.data import mnist

LOWTF = str(Path(sys.executable).parent / "lowtf")
SCRIPTS = REPO / "tests" / "legacy_scripts"
SUMMARY = re.compile(r"^lowtf run: \d+ lines? of TensorFlow start-up and deprecation notices hidden")
# What TensorFlow prints when nothing filters it: C++ log lines, its Python logger, deprecation notices.
TF_NOISE = re.compile(r"^([IWE]\d{4} |WARNING: All log messages|WARNING:tensorflow:|Instructions for updating"
                      r"|.*(is deprecated|oneDNN|cuda|cuInit))")


def data_dir() -> str:
    mnist.fetch(log=lambda m: None)
    return str(mnist.folder())


def lowtf_run(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "LOWTF_VERBOSE")}
    return subprocess.run([LOWTF, "run", *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout)


def accuracy(stdout: str) -> float:
    return float(re.findall(r"accuracy ([0-9.]+)", stdout)[-1])


def tensorflow_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if TF_NOISE.match(line)]


def assert_quiet(result: subprocess.CompletedProcess, own: tuple = ()) -> None:
    """Standard error holds only the script's own lines (``own`` patterns) and lowtf's one summary line."""
    lines = result.stderr.splitlines()
    assert lines and SUMMARY.match(lines[-1]), result.stderr[-2000:]
    others = [line for line in lines[:-1] if not any(re.search(p, line) for p in own)]
    assert others == [], result.stderr[-2000:]


@pytest.mark.slow
def test_raw_ops_with_argparse_handed_to_tf_app_run_reaches_the_tutorials_accuracy(tmp_path):
    """mnist_softmax.py's style: raw ops, InteractiveSession, the v1 softmax loss, tf.app.run(argv=...); the
    tutorial's 1,000 steps, ~0.92. (The default suite runs raw ops under tf.app.run in flags_app.py.)"""
    result = lowtf_run(str(SCRIPTS / "mnist_softmax.py"), "--data_dir", data_dir(), cwd=tmp_path)
    assert result.returncode == 0 and accuracy(result.stdout) >= 0.91, result.stdout
    assert_quiet(result)


@pytest.mark.slow   # default suite: the contrib test below builds and trains tf.layers (names, dropout, logging)
def test_tf_layers_with_tf1_variable_names_and_the_scripts_own_logging(tmp_path):
    """tf.layers (tf-keras in that process): conv2d/kernel:0 ..., dropout with training=; the script's own
    tf.logging.info line is the script's, so it shows."""
    result = lowtf_run(str(SCRIPTS / "layers_cnn.py"), data_dir(), "200", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "variables conv2d/kernel:0 conv2d/bias:0 conv2d_1/kernel:0" in result.stdout
    assert accuracy(result.stdout) >= 0.93      # 200 steps of 50
    assert_quiet(result, own=(r"^INFO:tensorflow:test accuracy [0-9.]+$",))


@pytest.mark.slow
def test_tf_layers_convnet_reaches_its_accuracy(tmp_path):
    result = lowtf_run(str(SCRIPTS / "layers_cnn.py"), data_dir(), "2000", cwd=tmp_path)
    assert result.returncode == 0 and accuracy(result.stdout) >= 0.985, result.stdout


@pytest.mark.slow
def test_contrib_layers_flatten_initializer_and_regularizer_train(tmp_path):
    """(The default suite checks these pieces' values below, and lesson 38 trains through contrib's flatten.)"""
    result = lowtf_run(str(SCRIPTS / "contrib_flatten.py"), data_dir(), "1000", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "flattened shape [None, 784]" in result.stdout
    assert accuracy(result.stdout) >= 0.95
    assert_quiet(result)


def test_fully_connected_feed_with_the_tutorial_mnist_module(tmp_path):
    """The tutorial's own recipe (2,000 steps, 128-32 hidden, rate 0.01), its ~0.90 'Precision @ 1' on the
    test set; variables named as TF 1.x named them; its checkpoint and events in --log_dir; its exit status
    (3 below --fail_below) its own."""
    logs = tmp_path / "logs"
    result = lowtf_run(str(SCRIPTS / "fully_connected_feed.py"), "--input_data_dir", data_dir(), "--log_dir",
                       str(logs), "--fail_below", "0.88", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    precision = float(re.findall(r"Precision @ 1: ([0-9.]+)", result.stdout)[-1])
    assert precision >= 0.88
    assert "hidden1/weights:0 hidden1/biases:0 hidden2/weights:0" in result.stdout
    assert (logs / "checkpoint").is_file() and list(logs.glob("events.out.tfevents.*"))
    assert (logs / "model.ckpt-1999.index").is_file()
    assert_quiet(result)


def test_tf_app_flags_files_and_the_scripts_exit_status(tmp_path):
    """tf.app.flags + tf.app.run(): main's return value is the exit status; Saver and FileWriter files are
    written; the script's own tf.logging warning shows (twice, as under absl's app.run in TF 1.x)."""
    train_dir = tmp_path / "train"
    result = lowtf_run(str(SCRIPTS / "flags_app.py"), f"--data_dir={data_dir()}", f"--train_dir={train_dir}",
                       "--train_steps=200", "--exit_code=5", cwd=tmp_path)
    assert result.returncode == 5, result.stderr[-2000:]
    assert accuracy(result.stdout) >= 0.88
    assert (train_dir / "model.ckpt-200.index").is_file() and list(train_dir.glob("events.out.tfevents.*"))
    assert_quiet(result, own=(r"saved .*model\.ckpt-200$",))


@pytest.mark.slow   # default suite: the quiet default is checked on every script run
def test_verbose_shows_what_tensorflow_prints(tmp_path):
    result = lowtf_run("--verbose", str(SCRIPTS / "mnist_softmax.py"), "--data_dir", data_dir(), "--steps", "5",
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(tensorflow_lines(result.stderr)) >= 3, result.stderr
    assert not any(SUMMARY.match(line) for line in result.stderr.splitlines())


def test_tf_contrib_successors_and_messages_and_legacy_keras_in_that_process_alone(tmp_path):
    """tf_upgrade_v2's renames resolve (contrib.rnn cells, contrib.framework.nest); lowtf's own staples compute
    what contrib computed (flatten's shape, l2_regularizer = scale * sum(w^2) / 2, xavier's Glorot range);
    anything else is an ImportError naming the successor, even through `from ... import`. And
    TF_USE_LEGACY_KERAS=1 picks tf-keras while TensorFlow loads, then leaves the environment: neither the
    script nor anything it starts inherits it, nor the shell that ran `lowtf run`. tf.layers (tf-keras) build
    and train a small ConvNet with dropout's training= in a Session, its variables named as TF 1.x named
    them, and the script's own tf.logging line shows, with nothing of TensorFlow's own."""
    script = tmp_path / "contrib_uses.py"
    script.write_text(textwrap.dedent("""
        import os, subprocess, sys
        import numpy as np
        import tensorflow as tf
        from tensorflow.contrib.layers import flatten
        print("rnn", tf.contrib.rnn.BasicLSTMCell is tf.nn.rnn_cell.BasicLSTMCell)
        print("nest", tf.contrib.framework.nest.flatten([1, [2, 3]]))
        from tensorflow.contrib.learn.python.learn.datasets.mnist import read_data_sets
        print("reader", read_data_sets.__module__)
        w = tf.get_variable("w", [784, 100], initializer=tf.contrib.layers.xavier_initializer(seed=1))
        penalty = tf.contrib.layers.l2_regularizer(0.01)(w)
        flat = flatten(tf.zeros([2, 28, 28, 1]))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            values, got = sess.run([w, penalty])
        print("flat", flat.shape.as_list())
        print("l2", np.isclose(got, 0.01 * (values ** 2).sum() / 2, rtol=1e-4))
        print("xavier", np.abs(values).max() <= np.sqrt(6 / 884), values.std() > 0.04)
        for use in ("tf.contrib.layers.fully_connected", "tf.contrib.layers.maxout", "tf.contrib.slim",
                    "tf.contrib.learn.Estimator"):
            try:
                eval(use)
            except ImportError as e:
                print("gone", use, "|", e)
        try:
            from tensorflow.contrib.layers import layer_norm
        except ImportError as e:
            print("gone layer_norm |", e)
        child = [sys.executable, "-c", "import os; print(os.environ.get('TF_USE_LEGACY_KERAS'))"]
        print("env", os.environ.get("TF_USE_LEGACY_KERAS"))
        print("child", subprocess.run(child, capture_output=True, text=True).stdout.strip())
        print("layers", tf.layers.dense.__module__.split(".")[0])
        # tf.layers as TF 1.4+ scripts used them: a small ConvNet, dropout with training=, trained in a
        # Session on one batch; its variables named as TF 1.x named them; the script's own tf.logging line
        tf.logging.set_verbosity(tf.logging.INFO)
        with tf.Graph().as_default():
            tf.set_random_seed(1)
            images = tf.placeholder(tf.float32, [None, 28, 28, 1])
            labels = tf.placeholder(tf.int64, [None])
            training = tf.placeholder_with_default(False, [])
            net = tf.layers.conv2d(images, 8, 5, padding="same", activation=tf.nn.relu)
            net = tf.layers.max_pooling2d(net, 2, 2)
            net = tf.layers.conv2d(net, 16, 5, padding="same", activation=tf.nn.relu)
            net = tf.layers.dense(tf.reshape(net, [-1, 14 * 14 * 16]), 64, activation=tf.nn.relu)
            dropped = tf.layers.dropout(net, rate=0.4, training=training)
            logits = tf.layers.dense(dropped, 10)
            loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
            train_op = tf.train.AdamOptimizer(1e-2).minimize(loss)
            rng = np.random.RandomState(0)
            feed = {images: rng.rand(32, 28, 28, 1).astype(np.float32), labels: rng.randint(0, 10, 32)}
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                first = sess.run(loss, feed)
                for _ in range(30):
                    sess.run(train_op, {**feed, training: True})
                last = sess.run(loss, feed)
                kept, thinned = sess.run(dropped, feed), sess.run(dropped, {**feed, training: True})
            tf.logging.info("tf.layers loss %.3f then %.3f", first, last)
            print("layer variables", " ".join(v.name for v in tf.trainable_variables()))
            print("learnt", bool(last < first / 2), "dropout", bool((thinned == 0).sum() > (kept == 0).sum()))
        import tensorflow.contrib.slim as slim
    """))
    result = lowtf_run(str(script), cwd=tmp_path)
    out = result.stdout
    assert "rnn True" in out and "nest [1, 2, 3]" in out and "reader lowtf.tutorials.mnist.input_data" in out, \
        result.stderr[-2000:]
    assert "flat [2, 784]" in out and "l2 True" in out and "xavier True True" in out
    gone = {line.split(" |")[0]: line for line in out.splitlines() if line.startswith("gone")}
    assert "tf.compat.v1.layers.dense" in gone["gone tf.contrib.layers.fully_connected"]
    assert "tfa.layers.Maxout" in gone["gone tf.contrib.layers.maxout"]
    assert "tf-slim" in gone["gone tf.contrib.slim"]
    assert "TensorFlow 2.16 removed" in gone["gone tf.contrib.learn.Estimator"]
    assert "layer_norm" in gone["gone layer_norm"] and "tf.keras.layers.LayerNormalization" in out
    assert "env None" in out and "child None" in out and "layers tf_keras" in out
    assert "layer variables conv2d/kernel:0 conv2d/bias:0 conv2d_1/kernel:0 conv2d_1/bias:0 dense/kernel:0" in out
    assert "learnt True dropout True" in out
    # the script's own tf.logging line shows; nothing of TensorFlow's own before the script's traceback
    assert any(re.fullmatch(r"INFO:tensorflow:tf.layers loss [0-9.]+ then [0-9.]+", line)
               for line in result.stderr.splitlines()), result.stderr[-2000:]
    assert tensorflow_lines(result.stderr.split("Traceback")[0]) == [], result.stderr[-2000:]
    assert "TF_USE_LEGACY_KERAS" not in os.environ
    # uncaught: the script's own failure, status 1, the traceback from the script's line on
    assert result.returncode == 1
    assert 'File "' + str(script) in result.stderr and "runpy" not in result.stderr
    assert "ContribRemoved: tf.contrib.slim is gone" in result.stderr


def test_a_missing_script_is_one_line(tmp_path):
    result = lowtf_run(str(tmp_path / "nope.py"), cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and result.stderr.strip().startswith("error: no script")


def readme_snippet() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Old TF 1.x code"):]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)[0]


def warns(code: str, cwd: Path) -> str:
    """Standard error of ``python -c code`` in a fresh shell's environment (no TensorFlow variables)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=300,
                            env=env, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr


def test_the_readmes_import_order_imports_lowtf_before_tensorflow(tmp_path):
    """lowtf warns ('import lowtf first') when TensorFlow is in sys.modules as lowtf is first imported: the
    README's snippet imports lowtf first. The control: a stand-in TensorFlow in sys.modules first warns."""
    snippet = readme_snippet()
    assert snippet.index("lowtf") < snippet.index("import tensorflow")
    assert "import lowtf first" in warns("import sys; sys.modules['tensorflow'] = sys; import lowtf", tmp_path)
    first_line_then_tensorflow = snippet.splitlines()[0] + "\nimport sys\nsys.modules['tensorflow'] = sys\nimport lowtf"
    assert "import lowtf first" not in warns(first_line_then_tensorflow, tmp_path)


@pytest.mark.slow
def test_the_readmes_snippet_runs_without_the_warning(tmp_path):
    said = warns(readme_snippet().replace('"MNIST_data/"', repr(data_dir())), tmp_path)
    assert "import lowtf first" not in said and "RuntimeWarning" not in said
