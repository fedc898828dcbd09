"""Export and serve Keras models: model.export, saved_model_cli, and both source articles' clients against lowtf serve."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import sys
from pathlib import Path

import grpc
import keras
import numpy as np
import requests
import tensorflow as tf
from keras import layers
from PIL import Image
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from lowtf.child import start
from lowtf.data.fashion_mnist import CLASSES
from lowtf.data.image_folder import (
    ATTRIBUTES,
    attributes,
    ensure_image_folder,
    read_labels,
)
from lowtf.data.splits import load_splits
from lowtf.ports import free_ports
from lowtf.serve.process import launch_server
from lowtf.train.keras_progress import EpochLine  # one line per epoch

lesson = Lesson(
    "26", "keras export and serve", keras=True
)  # Keras runs eagerly: a process of its own

# --- knobs -----------------------------------------------------------------------------
# Fashion-MNIST training images (None: all 55,000)
TRAIN_IMAGES = {"fast": 4000, "full": None}
# Fashion-MNIST test images scored (None: all 10,000)
TEST_IMAGES = {"fast": 2000, "full": None}
EPOCHS = {"fast": 1, "full": 3}
SEED = 26


def classifier() -> keras.Model:
    """The flowers article's kind of model: image [N, 28, 28, 1] ->
    class probabilities [N, 10]."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1), name="image"),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ],
        name="classifier",
    )


def two_heads() -> keras.Model:
    """The satellite article's kind: input_image -> {"kind": [N, 10]
    softmax, "attributes": [N, 4] sigmoid}.

    A dict of outputs names them in the exported signature (a list would
    be output_0, output_1)."""
    image = keras.Input((28, 28, 1), name="input_image")
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(image)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(
        layers.MaxPooling2D(2)(x)
    )
    x = layers.Flatten()(layers.MaxPooling2D(2)(x))
    return keras.Model(
        image,
        {
            "kind": layers.Dense(10, activation="softmax", name="kind")(x),
            "attributes": layers.Dense(
                len(ATTRIBUTES), activation="sigmoid", name="attributes"
            )(x),
        },
        name="garments",
    )


@lesson.step(
    "two Keras models to serve: a classifier and a model with two named outputs"
)
def train(ctx):
    """Both trained briefly on Fashion-MNIST (lessons 23 and 24 showed the training itself):
    one the shape of the flowers article's model, one the shape of the satellite article's."""
    keras.utils.set_random_seed(SEED)
    splits = load_splits(
        "fashion_mnist",
        train_size=TRAIN_IMAGES[ctx.mode],
        test_size=TEST_IMAGES[ctx.mode],
    )
    x = splits.train.images.astype(np.float32) / 255.0
    attrs = attributes(
        splits.train.images[..., 0],
        splits.train.labels,
        reference=splits.train.images[..., 0],
    )
    ctx.classifier = classifier()
    ctx.classifier.compile(
        "adam", "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    ctx.classifier.fit(
        x,
        splits.train.labels,
        batch_size=64,
        epochs=EPOCHS[ctx.mode],
        callbacks=[EpochLine("classifier")],
        verbose=0,
    )
    ctx.garments = two_heads()
    ctx.garments.compile(
        "adam",
        loss={
            "kind": "sparse_categorical_crossentropy",
            "attributes": "binary_crossentropy",
        },
    )
    ctx.garments.fit(
        x,
        {"kind": splits.train.labels, "attributes": attrs},
        batch_size=64,
        epochs=EPOCHS[ctx.mode],
        callbacks=[EpochLine("two heads")],
        verbose=0,
    )
    test_x = splits.test.images.astype(np.float32) / 255.0
    accuracy = ctx.classifier.evaluate(
        test_x, splits.test.labels, batch_size=500, verbose=0
    )[1]
    ctx.record(classifier_test_accuracy=round(accuracy, 4))
    return {
        "classifier test accuracy": round(accuracy, 4),
        "garments outputs": ctx.garments.output_names,
    }


def start_serving(ctx):
    """`lowtf serve` on both models, from a --model_config_file in TF
    Serving's text format; started, not waited for."""
    ctx.config = config = ctx.logdir / "models.config"
    config.write_text(
        "model_config_list {\n"
        + "".join(
            f'  config {{\n    name: "{n}"\n'
            f'    base_path: "{ctx.models / n}"\n'
            '    model_platform: "tensorflow"\n  }\n'
            for n in ("classifier", "garments")
        )
        + "}\n"
    )
    ctx.rest_port, ctx.grpc_port = free_ports(2)
    flags = [
        f"--model_config_file={config}",
        f"--rest_api_port={ctx.rest_port}",
        f"--port={ctx.grpc_port}",
    ]
    ctx.server = launch_server(flags, ctx.rest_port)
    ctx.on_exit(ctx.server.stop)


@lesson.step("model.export(): a versioned SavedModel with a serving signature")
def export(ctx):
    """model.export(path) writes a SavedModel for serving: the forward pass traced into a
    graph (tf.function), the weights, and a serving_default signature named after the
    model's inputs and outputs. It is inference only: dropout off, no optimizer (the .keras
    file of lesson 23 is for going on training). Each version goes in a numbered folder
    under the model's base path, as TF Serving expects; lesson 21 did the same by hand.
    The server of step 4 is started here, on both models: it loads TensorFlow, seconds,
    while step 3 runs."""
    ctx.models = ctx.logdir / "models"
    for model, name in (
        (ctx.classifier, "classifier"),
        (ctx.garments, "garments"),
    ):
        model.export(str(ctx.models / name / "1"), verbose=False)
    start_serving(ctx)
    loaded = tf.saved_model.load(str(ctx.models / "garments" / "1"))
    signature = loaded.signatures["serving_default"]
    return {
        "files": sorted(
            p.name for p in (ctx.models / "garments" / "1").iterdir()
        ),
        "signatures": list(loaded.signatures),
        "garments inputs": {
            k: tuple(v.shape)
            for k, v in signature.structured_input_signature[1].items()
        },
        "garments outputs": {
            k: tuple(v.shape) for k, v in signature.structured_outputs.items()
        },
    }


@lesson.step("saved_model_cli run on a test image, compared with Keras")
def cli(ctx):
    """`saved_model_cli show --dir DIR --all` prints every signature with its inputs' and
    outputs' names, dtypes and shapes: what a client must send (step 2 listed the same
    from this process; lesson 21 shows show's own output). run feeds the signature from a
    .npy file (the articles' --input_exprs with np.random.rand(...) no longer runs: it
    accepts Python literals only) and, with --outdir, saves each output as a .npy to
    compare with Keras in this process. Each saved_model_cli command loads TensorFlow,
    seconds: only run runs here."""
    tool = str(Path(sys.executable).with_name("saved_model_cli"))
    path = str(ctx.models / "garments" / "1")
    images = ensure_image_folder()
    ctx.test = read_labels(images, "test")
    ctx.image = (
        np.asarray(Image.open(ctx.test.paths[0]), np.float32)[None, :, :, None]
        / 255.0
    )  # [1, 28, 28, 1]
    np.save(ctx.logdir / "image.npy", ctx.image)
    print(
        "   $ saved_model_cli run --dir ... "
        "--signature_def serving_default --inputs ...",
        flush=True,
    )
    run = start(
        [
            tool,
            "run",
            "--dir",
            path,
            "--tag_set",
            "serve",
            "--signature_def",
            "serving_default",
            "--inputs",
            f"input_image={ctx.logdir / 'image.npy'}",
            "--outdir",
            str(ctx.logdir / "cli"),
            "--overwrite",
        ]
    )  # started; a line every 2.5 s until it ends
    ctx.on_exit(run.stop)
    if run.wait_saying("saved_model_cli run (it loads TensorFlow)"):
        raise RuntimeError(f"saved_model_cli run failed: {run.output()}")
    keras_out = ctx.garments.predict(ctx.image, verbose=0)
    difference = max(
        float(
            np.abs(
                np.load(ctx.logdir / "cli" / f"{k}.npy") - keras_out[k]
            ).max()
        )
        for k in keras_out
    )
    ctx.record(cli_max_difference=difference)
    return {
        "outputs saved": sorted(
            p.name for p in (ctx.logdir / "cli").iterdir()
        ),
        "run: largest difference from Keras": difference,
    }


@lesson.step(
    "lowtf serve with TF Serving's command line: two models from a config file"
)
def serve(ctx):
    """The flowers article started TF Serving for one model:
        tensorflow_model_server \\
            --model_base_path=/home/.../inceptionv3_128_tf_flowers/ \\
            --rest_api_port=9000 --model_name=FlowerClassifier
    and `lowtf serve` takes the same flags. For several models TF Serving reads a
    --model_config_file in its text format; so does lowtf serve. --rest_api_port is the
    REST port and --port the gRPC one, as in TF Serving.
    The real server runs from the tensorflow/serving Docker image
        docker run -p 8501:8501 -v "$PWD/models/digits:/models/digits" \\
            -e MODEL_NAME=digits tensorflow/serving
    or, on Debian and Ubuntu, from Google's apt repository (package
    tensorflow-model-server) as tensorflow_model_server with the flags above. TF Serving
    wants --model_base_path absolute ("Expected model ... to have an absolute path or
    URI" otherwise), which is why the articles write $(pwd); lowtf serve also takes a
    relative one. (No Docker and no TF Serving package can be fetched here.) The
    server was started in step 2, with the flags below; here the lesson waits until
    both models answer."""
    ctx.server.wait_until_answers("classifier")
    ctx.server.wait_until_answers("garments")
    return {
        "command": "lowtf serve " + " ".join(ctx.server.flags),
        "config": "\n" + ctx.config.read_text(),
        "classifier": requests.get(
            ctx.server.url("classifier"), timeout=10
        ).json(),
        "garments": requests.get(
            ctx.server.url("garments"), timeout=10
        ).json(),
    }


@lesson.step(
    'the flowers article\'s client: an image file, a batch axis, {"instances": img.tolist()}'
)
def flowers_client(ctx):
    """The client reads an image file into an array, scales it as in training, adds the
    batch axis (the model takes [N, 28, 28, 1]: one image is N=1) and posts it. A model with
    one input takes the rows of "instances" as that input, whatever its name."""
    reply = requests.post(
        ctx.server.url("classifier") + ":predict",
        json={"instances": ctx.image.tolist()},
        timeout=30,
    ).json()
    served = np.array(reply["predictions"])  # [1, 10]
    in_process = ctx.classifier.predict(ctx.image, verbose=0)
    top3 = np.argsort(served[0])[::-1][:3]
    ctx.record(
        flowers_client_max_difference=float(np.abs(served - in_process).max())
    )
    return {
        "file": str(
            Path(ctx.test.paths[0]).relative_to(
                Path(ctx.test.paths[0]).parents[2]
            )
        ),
        "true class": CLASSES[ctx.test.labels[0]],
        "top 3": {CLASSES[i]: round(float(served[0, i]), 4) for i in top3},
        "largest difference from Keras in this process": ctx.summary[
            "flowers_client_max_difference"
        ],
    }


@lesson.step(
    "the satellite article's client: a named input, two named outputs"
)
def satellite_client(ctx):
    """Rows of "instances" can name the inputs: {"instances": [{"input_image": ...}]}, and
    each prediction comes back as a dict of the named outputs, here the softmax "kind" and
    the sigmoid "attributes"."""
    images = np.stack(
        [
            np.asarray(Image.open(p), np.float32)[:, :, None] / 255.0
            for p in ctx.test.paths[:4]
        ]
    )
    reply = requests.post(
        ctx.server.url("garments") + ":predict",
        json={
            "instances": [{"input_image": image.tolist()} for image in images]
        },
        timeout=30,
    ).json()
    in_process = ctx.garments.predict(images, verbose=0)
    served = {
        k: np.array([p[k] for p in reply["predictions"]])
        for k in ("kind", "attributes")
    }
    difference = max(
        float(np.abs(served[k] - in_process[k]).max()) for k in served
    )
    ctx.record(satellite_client_max_difference=difference)
    first = reply["predictions"][0]
    return {
        "first prediction": {
            "kind": CLASSES[int(np.argmax(first["kind"]))],
            "attributes": {
                a: round(p, 3) for a, p in zip(ATTRIBUTES, first["attributes"])
            },
        },
        "its labels": {
            "kind": CLASSES[ctx.test.labels[0]],
            "attributes": dict(
                zip(ATTRIBUTES, ctx.test.attributes[0].astype(int).tolist())
            ),
        },
        "largest difference from Keras, 4 images": difference,
    }


@lesson.step(
    "the same request over gRPC, with TF Serving's own client library"
)
def grpc_client(ctx):
    """TF Serving's other door: gRPC, with the protos and stubs of the tensorflow-serving-api
    package. The tensors travel as TensorProtos (make_tensor_proto / make_ndarray), not JSON,
    so nothing is converted to text and back."""
    with grpc.insecure_channel(f"127.0.0.1:{ctx.grpc_port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "garments"
        request.inputs["input_image"].CopyFrom(tf.make_tensor_proto(ctx.image))
        response = stub.Predict(request, timeout=30)
    served = {k: tf.make_ndarray(v) for k, v in response.outputs.items()}
    in_process = ctx.garments.predict(ctx.image, verbose=0)
    difference = max(
        float(np.abs(served[k] - in_process[k]).max()) for k in served
    )
    ctx.record(grpc_max_difference=difference)
    return {
        "outputs": {k: v.shape for k, v in served.items()},
        "version": response.model_spec.version.value,
        "largest difference from Keras": difference,
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
