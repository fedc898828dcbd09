"""The REST server for real: a `lowtf serve` process on 127.0.0.1, driven with HTTP requests."""
import json
import subprocess
import threading
import time

import numpy as np
import pytest
import requests
import tensorflow.compat.v1 as tf

from conftest import PYTHON, free_port
from lowtf.serve.export import export_saved_model
from lowtf.serve.core.servable import load_version
from lowtf.serve.process import start_server

MAX_BODY = 200_000


def export_version(model_dir, version, scale):
    """A tiny model: probabilities/classes of images @ W (W fixed by `scale`), plus two more signatures."""
    with tf.Graph().as_default():
        images = tf.placeholder(tf.float32, [None, 4, 4, 1], name="images")
        w = tf.Variable(np.linspace(-1, 1, 160).reshape(16, 10).astype(np.float32) * scale, name="w")
        logits = tf.matmul(tf.reshape(images, [-1, 16]), w, name="logits")
        probabilities = tf.nn.softmax(logits, name="probabilities")
        classes = tf.argmax(logits, 1, name="classes")
        a = tf.placeholder(tf.float32, [None, 3], name="a")
        b = tf.placeholder(tf.int64, [None], name="b")
        total = tf.reduce_sum(a, 1) + tf.cast(b, tf.float32)
        with tf.Session() as sess:
            sess.run(w.initializer)
            export_saved_model(sess, model_dir, version, {
                "serving_default": ({"images": images}, {"probabilities": probabilities, "classes": classes}),
                "logits": ({"images": images}, {"logits": logits}),
                "two_inputs": ({"a": a, "b": b}, {"total": total}),
            })


def reference(x, scale):
    w = np.linspace(-1, 1, 160).reshape(16, 10).astype(np.float32) * scale
    logits = x.reshape(-1, 16) @ w
    e = np.exp(logits - logits.max(1, keepdims=True))
    return logits, e / e.sum(1, keepdims=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("models") / "digits"
    export_version(model_dir, 1, scale=1.0)
    port = free_port()
    with start_server([f"--model_base_path={model_dir}", "--model_name=digits", f"--rest_api_port={port}",
                       f"--max_body_bytes={MAX_BODY}"], port, "digits") as served:
        yield served.url("digits"), model_dir, served.process


X = np.random.RandomState(0).rand(3, 4, 4, 1).astype(np.float32)


def test_status_and_metadata(server):
    base, _, _ = server
    status = requests.get(base).json()
    assert status == {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                                 "status": {"error_code": "OK", "error_message": ""}}]}
    meta = requests.get(base + "/metadata").json()
    assert meta["model_spec"] == {"name": "digits", "signature_name": "", "version": "1"}
    sig = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert sig["method_name"] == "tensorflow/serving/predict"
    assert sig["inputs"]["images"]["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in sig["inputs"]["images"]["tensor_shape"]["dim"]] == ["-1", "4", "4", "1"]
    assert sig["outputs"]["classes"]["dtype"] == "DT_INT64"


def test_row_and_columnar_predictions_equal_the_session(server):
    """Exactly equal: float32 values survive the JSON round trip unchanged."""
    base, model_dir, _ = server
    in_process = load_version(model_dir / "1", 1)
    expected = in_process.run("serving_default", {"images": X})
    in_process.session.close()
    rows = requests.post(base + ":predict", json={"instances": X.tolist()}).json()["predictions"]
    assert len(rows) == 3 and set(rows[0]) == {"probabilities", "classes"}
    np.testing.assert_array_equal(np.float32([r["probabilities"] for r in rows]), expected["probabilities"])
    assert [r["classes"] for r in rows] == expected["classes"].tolist()
    cols = requests.post(base + ":predict", json={"inputs": X.tolist()}).json()["outputs"]
    np.testing.assert_array_equal(np.float32(cols["probabilities"]), expected["probabilities"])
    np.testing.assert_allclose(cols["probabilities"], reference(X, 1.0)[1], rtol=1e-5)
    keyed = requests.post(base + ":predict", json={"instances": [{"images": x.tolist()} for x in X]}).json()
    assert keyed["predictions"][0]["classes"] == rows[0]["classes"]


def test_signature_name_and_single_output_is_unnamed(server):
    base, _, _ = server
    logits, _ = reference(X, 1.0)
    reply = requests.post(base + ":predict", json={"signature_name": "logits", "instances": X.tolist()}).json()
    np.testing.assert_allclose(reply["predictions"], logits, rtol=1e-5, atol=1e-6)
    reply = requests.post(base + ":predict", json={"signature_name": "logits", "inputs": X[:1].tolist()}).json()
    np.testing.assert_allclose(reply["outputs"], logits[:1], rtol=1e-5, atol=1e-6)


def test_several_named_inputs(server):
    base, _, _ = server
    rows = requests.post(base + ":predict", json={"signature_name": "two_inputs", "instances": [
        {"a": [1, 2, 3], "b": 10}, {"a": [0, 0, 0.5], "b": 1}]}).json()
    assert rows == {"predictions": [16.0, 1.5]}
    cols = requests.post(base + "/versions/1:predict", json={"signature_name": "two_inputs",
                                                             "inputs": {"a": [[1, 1, 1]], "b": [2]}}).json()
    assert cols == {"outputs": [5.0]}


@pytest.mark.parametrize("body,status,message", [
    ("{not json", 400, "JSON Parse error"),
    ({"instances": X.tolist(), "inputs": X.tolist()}, 400, "only one of 'inputs' or 'instances'"),
    ({"examples": []}, 400, "Missing 'inputs' or 'instances' key"),
    ({"instances": np.zeros((2, 5, 4, 1)).tolist()}, 400, "has shape [2, 5, 4, 1] but the signature expects [?, 4, 4, 1]"),
    ({"instances": [[["a"] * 4] * 4]}, 400, "expected numbers"),
    ({"instances": [[1, 2], [3]]}, 400, "input 'images'"),
    ({"signature_name": "two_inputs", "instances": [{"a": [1, 2, 3]}]}, 400, "missing ['b']"),
    ({"signature_name": "two_inputs", "inputs": {"a": [[1, 2, 3]], "b": [1.5]}}, 400, "expected integers"),
    ({"signature_name": "nope", "instances": X.tolist()}, 404, 'signature name: "nope" not found'),
    ([1, 2], 400, "Malformed request"),
])
def test_bad_requests_get_their_status_and_message(server, body, status, message):
    base, _, proc = server
    data = body if isinstance(body, str) else json.dumps(body)
    r = requests.post(base + ":predict", data=data, headers={"Content-Type": "application/json"})
    assert r.status_code == status and r.headers["Content-Type"] == "application/json"
    assert message in r.json()["error"]
    assert proc.poll() is None


def test_unknown_model_or_version_is_404(server):
    base, _, _ = server
    r = requests.post(base.replace("digits", "cats") + ":predict", json={"instances": X.tolist()})
    assert r.status_code == 404 and r.json()["error"] == "Servable not found for request: Latest(cats)"
    r = requests.get(base + "/versions/7")
    assert r.status_code == 404 and "Specific(digits, 7)" in r.json()["error"]


def test_body_over_the_limit_is_413_and_the_server_lives_on(server):
    base, _, proc = server
    big = {"instances": np.zeros((5000, 4, 4, 1)).tolist()}  # ~400 KB of JSON
    assert len(json.dumps(big)) > MAX_BODY
    r = requests.post(base + ":predict", json=big)
    assert r.status_code == 413 and "over the limit" in r.json()["error"]
    assert requests.get(base).status_code == 200 and proc.poll() is None


def test_eight_threads_fifty_requests_each(server):
    base, _, _ = server
    _, probs = reference(X, 1.0)
    failures = []

    def client(k):
        with requests.Session() as s:
            for i in range(50):
                j = (k + i) % 3
                r = s.post(base + ":predict", json={"instances": X[j:j + 1].tolist()}, timeout=30)
                got = r.json()["predictions"][0]["probabilities"] if r.status_code == 200 else None
                if got is None or not np.allclose(got, probs[j], rtol=1e-5):
                    failures.append((k, i, r.status_code))
    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert failures == []


def test_a_new_version_is_served_after_it_appears(server):
    base, model_dir, _ = server
    export_version(model_dir, 2, scale=-2.0)
    deadline = time.monotonic() + 30
    while requests.get(base).json()["model_version_status"][0]["version"] != "2":
        assert time.monotonic() < deadline, "version 2 was not picked up within 30 s"
        time.sleep(0.2)
    _, probs = reference(X, -2.0)
    rows = requests.post(base + ":predict", json={"instances": X.tolist()}).json()["predictions"]
    np.testing.assert_allclose([r["probabilities"] for r in rows], probs, rtol=1e-5)


def test_port_in_use_is_a_clear_error(server, tmp_path):
    base, model_dir, _ = server
    port = base.split(":")[2].split("/")[0]
    proc = subprocess.run([PYTHON, "-m", "lowtf", "serve", "--model_base_path", str(model_dir),
                           "--model_name", "digits", "--rest_api_port", port], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in proc.stderr
    missing = subprocess.run([PYTHON, "-m", "lowtf", "serve", "--model_base_path", str(tmp_path / "none"),
                              "--model_name", "x", "--rest_api_port", str(free_port())], capture_output=True, text=True,
                             timeout=120)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


KERAS_EXPORT = """
import sys
import numpy as np
import keras
out = sys.argv[1]
inputs = keras.Input((28, 28, 1), name="input_image")
x = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(inputs))
model = keras.Model(inputs, {"weather": keras.layers.Dense(4, activation="softmax", name="weather")(x),
                             "ground": keras.layers.Dense(3, activation="sigmoid", name="ground")(x)})
model.export(out + "/planet/1")
images = np.random.RandomState(0).rand(2, 28, 28, 1).astype("float32")
predictions = model(images)
np.savez(out + "/expected.npz", images=images, weather=np.asarray(predictions["weather"]),
         ground=np.asarray(predictions["ground"]))
"""


def test_a_keras_exported_model_answers_both_source_articles_requests(tmp_path):
    """Keras 3 `model.export` (an object-based SavedModel with `__saved_model_init_op`), started with
    TF Serving's flags; the flowers article's batch request and the satellite article's named-input rows
    get the in-process Keras predictions back."""
    import json
    import urllib.request
    export = subprocess.run([PYTHON, "-c", KERAS_EXPORT, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert export.returncode == 0, export.stderr[-2000:]
    expected = np.load(tmp_path / "expected.npz")
    port = free_port()

    def post(body):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/models/PlanetModel:predict",
                                         data=json.dumps(body).encode())
        with urllib.request.urlopen(request, timeout=10) as r:
            return json.loads(r.read())["predictions"]
    # the seed's command line, with lowtf serve in tensorflow_model_server's place
    with start_server([f"--model_base_path={tmp_path / 'planet'}", f"--rest_api_port={port}",
                       "--model_name=PlanetModel"], port, "PlanetModel"):
        batch = post({"instances": expected["images"].tolist()})
        rows = post({"instances": [{"input_image": image.tolist()} for image in expected["images"]]})
    np.testing.assert_allclose([p["weather"] for p in batch], expected["weather"], atol=1e-6)
    np.testing.assert_allclose([p["ground"] for p in rows], expected["ground"], atol=1e-6)


def test_tf_servings_own_grpc_client_gets_the_same_numbers(tmp_path):
    """PredictionService.Predict / GetModelMetadata and ModelService.GetModelStatus, through the stubs of
    tensorflow-serving-api, on the same store the REST API serves."""
    import grpc
    from tensorflow_serving.apis import (get_model_metadata_pb2, get_model_status_pb2, model_service_pb2_grpc,
                                         predict_pb2, prediction_service_pb2_grpc)
    model_dir = tmp_path / "digits"
    export_version(model_dir, 1, scale=1.0)
    rest, rpc = free_port(), free_port()
    served = start_server([f"--model_base_path={model_dir}", "--model_name=digits", f"--rest_api_port={rest}",
                           f"--port={rpc}"], rest, "digits")
    channel = grpc.insecure_channel(f"127.0.0.1:{rpc}")
    try:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "digits"
        request.inputs["images"].CopyFrom(tf.make_tensor_proto(X))
        response = stub.Predict(request, timeout=30)
        _, probabilities = reference(X, 1.0)
        np.testing.assert_allclose(tf.make_ndarray(response.outputs["probabilities"]), probabilities, rtol=1e-5)
        assert response.model_spec.version.value == 1 and set(response.outputs) == {"probabilities", "classes"}
        rest_answer = requests.post(f"http://127.0.0.1:{rest}/v1/models/digits:predict",
                                    json={"instances": X.tolist()}).json()["predictions"]
        np.testing.assert_allclose([p["probabilities"] for p in rest_answer],
                                   tf.make_ndarray(response.outputs["probabilities"]), rtol=1e-6)

        metadata_request = get_model_metadata_pb2.GetModelMetadataRequest()
        metadata_request.model_spec.name = "digits"
        metadata_request.metadata_field.append("signature_def")
        metadata = stub.GetModelMetadata(metadata_request, timeout=30)
        defs = get_model_metadata_pb2.SignatureDefMap()
        metadata.metadata["signature_def"].Unpack(defs)
        assert set(defs.signature_def) == {"serving_default", "logits", "two_inputs"}

        status_request = get_model_status_pb2.GetModelStatusRequest()
        status_request.model_spec.name = "digits"
        status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(status_request, timeout=30)
        assert status.model_version_status[0].version == 1
        assert status.model_version_status[0].state == get_model_status_pb2.ModelVersionStatus.AVAILABLE

        request.model_spec.name = "nope"
        with pytest.raises(grpc.RpcError) as missing:
            stub.Predict(request, timeout=30)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        request.model_spec.name = "digits"
        del request.inputs["images"]
        request.inputs["a"].CopyFrom(tf.make_tensor_proto(np.ones((2, 3), np.float32)))
        with pytest.raises(grpc.RpcError) as wrong:
            stub.Predict(request, timeout=30)
        assert wrong.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "missing" in wrong.value.details()
    finally:
        channel.close()
        served.stop()
