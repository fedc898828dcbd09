"""What bfloat16 costs where TensorFlow cannot give it to oneDNN: the rewritten graph on Eigen's kernels.

On a CPU without AVX-512 (``lowtf.host`` class "fallback") TensorFlow 2.21 still rewrites the
graph into bfloat16 when asked, then finds oneDNN cannot run it there and runs those ops on its
Eigen kernels instead, after an ``E0000 ... oneDNN supports DT_BFLOAT16 only on platforms with
AVX-512`` line. Measured on 2 cores of an AVX2 AMD EPYC: 85-107 images/s against float32's
975-1,344. Under ``ONEDNN_MAX_CPU_ISA=AVX2`` on an AVX-512 CPU (the course's proxy for an AVX2
host) TensorFlow does not fall back: it hands the ops to the capped oneDNN, which fails.

So ``timed_rounds`` measures the fallback the same way on both: this process (oneDNN on) asks
Grappler for the bfloat16 rewrite of a LeNet-5 training step without running it, and a helper
process with oneDNN off (``TF_ENABLE_ONEDNN_OPTS=0``: every op on Eigen, and no such line)
imports that rewritten graph and runs it; this process runs the same step in float32 on
oneDNN, as training here would. The two take turns, one round each, so a busy moment of the
machine hits both. ``python -m lowtf.train.eigen_fallback GRAPH`` is the helper.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HELPER_START_TIMEOUT_S = 120.0      # import TensorFlow + the first run, on a busy 2-core machine
ROUND_TIMEOUT_S = 300.0
FLOAT32_STEPS_PER = 5               # float32 steps per Eigen step in a round: ~10x faster, so ~half the time


def training_step(batch: int, seed: int = 0):
    """A LeNet-5 training step (Adam) on a fixed random batch, in the default graph: (train_op, init)."""
    import tensorflow.compat.v1 as tf

    from lowtf.models import lenet5

    tf.set_random_seed(seed)
    images = tf.random_uniform([batch, 28, 28, 1], seed=seed)
    labels = tf.random_uniform([batch], 0, 10, tf.int64, seed=seed)
    logits, _ = lenet5(images, tf.constant(True), init="he")
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss, name="train_step")
    return train_op, tf.global_variables_initializer()


class Helper:
    """The helper process, oneDNN off, running ``graph_file``'s ``train_step``; a context manager."""

    def __init__(self, graph_file: Path, log: Path, init: str = "init", step: str = "train_step"):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "0"}
        self._log = open(log, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "lowtf.train.eigen_fallback", str(graph_file), init, step],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                     text=True, env=env)
        self.log = log

    def ask(self, line: str, timeout: float) -> str:
        """Send ``line``; the helper's answer (one line). Raises RuntimeError if it died or hung."""
        import select

        if line:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        answer = self.proc.stdout.readline() if ready else ""
        if not answer:
            self.close()
            raise RuntimeError(f"the Eigen helper process gave no answer in {timeout:.0f} s; its log: "
                               + self.log.read_text()[-800:])
        return answer.strip()

    def wait_ready(self, timeout: float, say=lambda line: None, every: float = 3.0) -> None:
        """Wait for the helper's first answer ("ready"), saying every ``every`` s that it is still
        starting. Raises RuntimeError as ``ask`` does if it dies or gives nothing in ``timeout`` s."""
        import select

        waited = 0.0
        while waited < timeout and not select.select([self.proc.stdout], [], [], every)[0]:
            waited += every
            say(f"{waited:.0f} s: the helper is still starting")
        if waited >= timeout:
            self.close()
            raise RuntimeError(f"the Eigen helper process was not ready in {timeout:.0f} s; its log: "
                               + self.log.read_text()[-800:])
        self.ask("", 1.0)      # its line is there (or it ended: ask says so, with its log)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()           # the helper ends at end of input
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def timed_rounds(rounds: int = 4, steps: int = 2, batch: int = 32, say=lambda line: None) -> dict:
    """Images/s of a LeNet-5 training step, float32 on oneDNN here and its bfloat16 rewrite on Eigen
    in the helper, taking turns for ``rounds``: {"float32": [...], "bfloat16 on Eigen": [...],
    "bfloat16 ops": {op type: count}}. Each round runs ``steps`` on Eigen and ``FLOAT32_STEPS_PER``
    times as many in float32, so both last long enough for a busy machine's bursts to average out.
    ~1 s a round plus the helper's start (~4 s) on 2 AVX2 cores. ``say`` is given a line as each
    part starts and as each round ends, so the wait is never silent."""
    import tensorflow.compat.v1 as tf

    from lowtf.train.precision import bfloat16_ops, rewritten_graph, session_config

    rates = {"float32": [], "bfloat16 on Eigen": []}
    with tempfile.TemporaryDirectory(prefix="lowtf-eigen-") as scratch, tf.Graph().as_default() as graph:
        train_op, init = training_step(batch)
        graph_file = Path(scratch) / "bfloat16_step.pb"
        optimized = rewritten_graph(graph, [train_op, init])
        graph_file.write_bytes(optimized.SerializeToString())
        say("starting the helper (oneDNN off): it loads TensorFlow and runs a first step")
        with Helper(graph_file, Path(scratch) / "helper.log", init.name, train_op.name) as helper, \
                tf.Session(config=session_config("float32")) as sess:
            sess.run(init)
            sess.run(train_op)                      # the first run optimises the graph and picks kernels
            helper.wait_ready(HELPER_START_TIMEOUT_S, say)  # "ready": imported, initialised, one step run
            for r in range(rounds):
                t0 = time.perf_counter()
                for _ in range(steps * FLOAT32_STEPS_PER):
                    sess.run(train_op)
                rates["float32"].append(round(steps * FLOAT32_STEPS_PER * batch / (time.perf_counter() - t0), 1))
                rates["bfloat16 on Eigen"].append(float(helper.ask(str(steps), ROUND_TIMEOUT_S)) * batch)
                say(f"round {r + 1}/{rounds}: float32 {rates['float32'][-1]:,.0f} img/s, "
                    f"bfloat16 on Eigen {rates['bfloat16 on Eigen'][-1]:,.0f} img/s")
    rates["bfloat16 on Eigen"] = [round(r, 1) for r in rates["bfloat16 on Eigen"]]
    return {**rates, "bfloat16 ops": bfloat16_ops(optimized)}


def _serve(graph_file: str, init: str, step: str) -> int:
    """The helper: import the rewritten graph, run its init and one step, say "ready"; then for each line
    N on standard input run N steps and answer with steps per second; end at end of input."""
    from lowtf.console import load_tensorflow

    load_tensorflow()
    import tensorflow.compat.v1 as tf

    graph_def = tf.GraphDef()
    graph_def.ParseFromString(Path(graph_file).read_bytes())
    with tf.Graph().as_default():
        tf.import_graph_def(graph_def, name="")
        with tf.Session() as sess:
            sess.run(init)
            sess.run(step)
            print("ready", flush=True)
            for line in sys.stdin:
                steps = int(line)
                t0 = time.perf_counter()
                for _ in range(steps):
                    sess.run(step)
                print(steps / (time.perf_counter() - t0), flush=True)
    return 0


if __name__ == "__main__":
    if os.environ.get("TF_ENABLE_ONEDNN_OPTS") != "0":
        sys.exit("lowtf.train.eigen_fallback: run with TF_ENABLE_ONEDNN_OPTS=0 (timed_rounds does)")
    code = _serve(*sys.argv[1:4])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)      # nothing left to save: skip tearing TensorFlow down (seconds of CPU the lesson waits for)
