"""Export and serve: a SavedModel in versioned folders, saved_model_cli, and `lowtf serve` answering HTTP."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import requests
import tensorflow.compat.v1 as tf

from lowtf import verdicts
from lowtf.child import start
from lowtf.data.splits import load_splits
from lowtf.models import lenet5
from lowtf.ports import free_ports
from lowtf.serve.export import export_saved_model
from lowtf.serve.process import launch_server
from lowtf.train import TrainConfig, train

tf.disable_v2_behavior()

lesson = Lesson("21", "export and serve")

PER_REQUEST = 10  # images per request when the served images are sent batched
BATCHED = 20  # requests of PER_REQUEST images, at least (enough to judge by)


@lesson.step("train LeNet-5 (briefly) with the usual trainer")
def fit(ctx):
    """Training writes checkpoints; a checkpoint holds values, not a servable graph.
    lowtf.train.train runs lesson 10's loop and returns where its last checkpoint is."""
    ctx.splits = load_splits(
        validation_size=0, test_size=1000 if ctx.fast else None
    )
    ctx.train_dir = ctx.logdir / "training"
    ctx.steps = 50 if ctx.fast else 1000
    config = TrainConfig(
        steps=ctx.steps,
        batch_size=64 if ctx.fast else 128,
        eval_every=ctx.steps,
        histogram_every=ctx.steps,  # weights at the start and the end
        trace_step=None,  # no step traced for TensorBoard: not used here
        seed=0,
        name="lenet5",
    )
    h = train(
        lenet5,
        ctx.splits,
        lambda step: tf.train.AdamOptimizer(1e-3),
        config,
        ctx.train_dir,
    )
    ctx.latest = h.checkpoint
    ctx.record(test_accuracy=round(h.final_test_accuracy, 4))
    return {"test accuracy": h.final_test_accuracy, "checkpoint": h.checkpoint}


def export(ctx, version: int, checkpoint: str) -> Path:
    """A serving graph: a placeholder in, probabilities and classes out;
    weights from the checkpoint."""
    with tf.Graph().as_default():
        images = tf.placeholder(
            tf.float32, [None, 28, 28, 1], name="images"
        )
        logits, params = lenet5(images, tf.constant(False))
        probabilities = tf.nn.softmax(logits, name="probabilities")
        classes = tf.argmax(logits, 1, name="classes")
        with tf.Session() as sess:
            # Restore only the model's Variables: serving needs no slots.
            tf.train.Saver(var_list=params).restore(sess, checkpoint)
            return export_saved_model(
                sess,
                ctx.model_dir,
                version,
                {
                    "serving_default": (
                        {"images": images},
                        {
                            "probabilities": probabilities,
                            "classes": classes,
                        },
                    )
                },
            )


def saved_model_cli(*args):
    """`saved_model_cli ARGS` (it comes with TensorFlow) in a process of
    its own, its output to a file: started, not waited for."""
    tool = str(Path(sys.executable).with_name("saved_model_cli"))
    return start([tool, *args])


@lesson.step(
    "export a SavedModel with a named serving signature: models/lenet5/1"
)
def export_v1(ctx):
    """A SavedModel is the graph plus the variables plus signatures: named entry points
    mapping input and output names to tensors. TF Serving's layout puts each version in
    a numbered folder under the model's base path. The server of step 5 and the
    saved_model_cli of step 4 are started here, on the export: each loads TensorFlow,
    seconds, while step 3 runs."""
    ctx.model_dir = ctx.logdir / "models" / "lenet5"
    path = export(ctx, 1, ctx.latest)
    port = free_ports(1)[0]
    # launch_server runs `lowtf serve FLAGS` as a child process and returns
    # at once; step 5 waits until the model answers.
    ctx.server = launch_server(
        [
            f"--model_base_path={ctx.model_dir}",
            "--model_name=lenet5",
            f"--rest_api_port={port}",
        ],
        port,
    )
    ctx.on_exit(ctx.server.stop)
    # saved_model_cli loads TensorFlow too: started now, read in step 4
    ctx.show = saved_model_cli("show", "--dir", str(path), "--all")
    ctx.on_exit(ctx.show.stop)
    return {
        "exported": str(path),
        "files": sorted(p.name for p in path.iterdir()),
        "lowtf serve, starting": ctx.server.url("lenet5"),
    }


@lesson.step(
    "simple_save: the same export in one call, loaded back and compared"
)
def simple_save(ctx):
    """tf.compat.v1.saved_model.simple_save(sess, path, inputs, outputs) is the satellite
    article's export: the Session's graph and variables under the serve tag, with one
    predict signature, serving_default. export() above uses the Builder that simple_save
    wraps, to name its outputs' signature itself; both load the same way. The serving graph
    is built with training False, so dropout is off in it (what the article's
    set_learning_phase(0) did for Keras)."""
    path = ctx.logdir / "models" / "lenet5_simple_save" / "1"
    with tf.Graph().as_default():
        images = tf.placeholder(tf.float32, [None, 28, 28, 1], name="images")
        logits, params = lenet5(images, tf.constant(False))
        probabilities = tf.nn.softmax(logits, name="probabilities")
        with tf.Session() as sess:
            tf.train.Saver(var_list=params).restore(sess, ctx.latest)
            tf.saved_model.simple_save(
                sess,
                str(path),
                inputs={"images": images},
                outputs={"probabilities": probabilities},
            )
    digit = ctx.splits.test.images[:1].astype(np.float32) / 255.0
    answers = []
    for exported in (ctx.model_dir / "1", path):
        with tf.Graph().as_default(), tf.Session() as sess:
            meta = tf.saved_model.loader.load(
                sess, [tf.saved_model.tag_constants.SERVING], str(exported)
            )
            signature = meta.signature_def["serving_default"]
            answers.append(
                sess.run(
                    signature.outputs["probabilities"].name,
                    {signature.inputs["images"].name: digit},
                )
            )
    difference = float(np.abs(answers[0] - answers[1]).max())
    ctx.record(simple_save_max_difference=difference)
    return {
        "exported": str(path),
        "signatures": list(meta.signature_def),
        "largest difference from the Builder's export, first test digit": (
            difference
        ),
    }


@lesson.step("saved_model_cli show --all, and what saved_model_cli run does")
def cli(ctx):
    """saved_model_cli comes with TensorFlow: `show --all` prints every signature's inputs
    and outputs with dtype, shape and tensor name, what a client must send and may ask
    for. `saved_model_cli run` feeds a signature from a .npy file (its --input_exprs takes
    only Python literals nowadays, not numpy expressions) and prints the outputs: it does
    what step 3 did in this process, load under the serve tag, look the signature up, feed
    and fetch by its tensor names. Each saved_model_cli command loads TensorFlow, seconds,
    so only show runs here (started in step 2); run's command line is below, to try in
    a shell."""
    path = str(ctx.model_dir / "1")
    digit = ctx.logdir / "first_test_digit.npy"
    np.save(digit, ctx.splits.test.images[:1].astype(np.float32) / 255.0)
    print(
        f"   $ saved_model_cli show --all --dir \\\n       {path}", flush=True
    )
    if ctx.show.wait_saying("saved_model_cli show (it loads TensorFlow)"):
        raise RuntimeError(f"saved_model_cli show failed: {ctx.show.output()}")
    said = ctx.show.output(tail=100_000)
    shown = said[said.find("signature_def['serving_default']") :].strip()
    ctx.record(cli_show=shown)
    return {
        "show --all": shown,
        "run, to try in a shell": (
            f"saved_model_cli run --dir {path} --tag_set serve "
            f"--signature_def serving_default --inputs images={digit}"
        ),
    }


@lesson.step(
    "lowtf serve: TF Serving's REST API, and a client posting one image"
)
def serve(ctx):
    """The server loads the highest version and answers TF Serving's REST requests, so a
    client written for TF Serving works unchanged: POST {"instances": [...]} to
    /v1/models/lenet5:predict (or /v1/models/lenet5/versions/1:predict for one version)
    and read "predictions".
    lowtf serve is built as TF Serving is (lowtf/serve/): a source watches the base path
    for numbered version folders, a loader turns one into a servable (a Session holding
    the SavedModel and its signatures), and a manager serves the versions the version
    policy picks, keeping a version alive while a request still uses it; REST and gRPC
    both hand their requests to one predictor (lowtf/serve/core/ and predictor.py).
    The server was started in step 2; here the lesson waits until it answers."""
    ctx.server.wait_until_answers("lenet5")
    ctx.base = ctx.server.url("lenet5")
    image = ctx.splits.test.images[:1].astype(np.float32) / 255.0
    reply = requests.post(
        f"{ctx.base}/versions/1:predict", json={"instances": image.tolist()}
    ).json()
    prediction = reply["predictions"][0]
    ctx.record(
        served_class=prediction["classes"],
        true_label=int(ctx.splits.test.labels[0]),
    )
    return {
        "status": requests.get(ctx.base).json(),
        "prediction": prediction["classes"],
        "label": int(ctx.splits.test.labels[0]),
        "probability": round(max(prediction["probabilities"]), 4),
    }


@lesson.step("single-image requests: requests per second and latency")
def measure(ctx):
    """One client, one image per request, a kept-alive connection: what an interactive
    caller sees. Batching several images per request is meant to spread the HTTP and
    JSON work of a request over its images: the same images are then sent again,
    PER_REQUEST to a request, and the two rates compared (each request's images/s, with
    the standard error from their spread)."""
    n = 50 if ctx.fast else 500
    images = ctx.splits.test.images[:n].astype(np.float32) / 255.0
    latencies, correct = [], 0
    with requests.Session() as session:
        started = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            r = session.post(
                ctx.base + ":predict",
                json={"instances": images[i : i + 1].tolist()},
            )
            latencies.append(time.perf_counter() - t0)
            correct += (
                r.json()["predictions"][0]["classes"]
                == ctx.splits.test.labels[i]
            )
        seconds = time.perf_counter() - started
        batched = []  # images/s of each request of PER_REQUEST images
        for k in range(max(BATCHED, n // PER_REQUEST)):
            i = k * PER_REQUEST % n
            t0 = time.perf_counter()
            session.post(
                ctx.base + ":predict",
                json={"instances": images[i : i + PER_REQUEST].tolist()},
            ).raise_for_status()
            batched.append(PER_REQUEST / (time.perf_counter() - t0))
    said = ctx.verdict(
        verdicts.speeds(
            f"images/s, {PER_REQUEST} images per request vs 1",
            batched,
            [1 / s for s in latencies],
            names=(f"{PER_REQUEST} per request", "1 per request"),
        )
    )
    rps, median_ms = n / seconds, statistics.median(latencies) * 1000
    ctx.record(
        requests=n,
        requests_per_second=round(rps, 1),
        median_latency_ms=round(median_ms, 2),
        served_accuracy=correct / n,
    )
    return {
        "requests/s": round(rps, 1),
        "median latency ms": round(median_ms, 2),
        "correct": f"{correct}/{n}",
        "images/s, batched against one at a time": said,
    }


@lesson.step("a new version appears and is served without a restart")
def new_version(ctx):
    """Export version 2 next to version 1; the server checks for new versions every
    second and switches to the highest one."""
    export(ctx, 2, ctx.latest)
    deadline = time.monotonic() + 30
    while (
        requests.get(ctx.base).json()["model_version_status"][0]["version"]
        != "2"
    ):
        if time.monotonic() > deadline:
            raise RuntimeError("version 2 not picked up within 30 s")
        time.sleep(0.2)
    ctx.record(served_version=2)
    return {"now serving": 2}


if __name__ == "__main__":
    raise SystemExit(lesson.main())
