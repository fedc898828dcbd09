"""Classify and Regress on tf.Example signatures over gRPC (TF Serving's own client messages and stubs) and REST, answered alike; typed inputs."""
import contextlib
import threading

import grpc
import numpy as np
import pytest
import tensorflow.compat.v1 as tf
from tensorflow_serving.apis import classification_pb2, prediction_service_pb2_grpc, regression_pb2

from conftest import free_port
from lowtf.serve.grpc_server import make_grpc_server
from lowtf.serve.core.manager import Models, ModelStore


def export_example_model(base) -> None:
    """Signatures on serialized tf.Examples with one float feature x: classify into positive/negative
    (scores softmax([x, -x])), regress 2x + 1, and a predict signature beside them."""
    with tf.Graph().as_default():
        serialized = tf.placeholder(tf.string, [None], name="examples")
        x = tf.parse_example(serialized, {"x": tf.FixedLenFeature([1], tf.float32)})["x"]      # [N, 1]
        scores = tf.nn.softmax(tf.concat([x, -x], 1))
        classes = tf.tile(tf.constant([["positive", "negative"]]), [tf.shape(x)[0], 1])
        value = 2.0 * x + 1.0
        with tf.Session() as sess:
            builder = tf.saved_model.Builder(str(base / "1"))
            builder.add_meta_graph_and_variables(sess, [tf.saved_model.tag_constants.SERVING], signature_def_map={
                "serving_default": tf.saved_model.classification_signature_def(serialized, classes, scores),
                "regress": tf.saved_model.regression_signature_def(serialized, value),
                "predict": tf.saved_model.predict_signature_def({"examples": serialized}, {"y": value})})
            builder.save()


@pytest.fixture
def stub(tmp_path):
    export_example_model(tmp_path / "m")
    server = make_grpc_server(Models([ModelStore(tmp_path / "m", "m", log=lambda message: None)]),
                              "127.0.0.1", port := free_port())
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield prediction_service_pb2_grpc.PredictionServiceStub(channel)
    finally:
        channel.close()
        server.stop(grace=1)


def _add_examples(request_input, values):
    for v in values:
        request_input.example_list.examples.add().features.feature["x"].float_list.value.append(v)


def test_classify_gives_labels_and_scores(stub):
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "m"
    _add_examples(request.input, [0.5, -2.0])
    response = stub.Classify(request, timeout=30)
    assert response.model_spec.version.value == 1 and response.model_spec.signature_name == "serving_default"
    for value, result in zip([0.5, -2.0], response.result.classifications):
        expected = np.exp([value, -value]) / np.exp([value, -value]).sum()
        assert [c.label for c in result.classes] == ["positive", "negative"]
        assert np.allclose([c.score for c in result.classes], expected, atol=1e-6)


def test_regress_and_the_wrong_kind_of_signature(stub):
    request = regression_pb2.RegressionRequest()
    request.model_spec.name, request.model_spec.signature_name = "m", "regress"
    _add_examples(request.input, [0.5, 3.0])
    response = stub.Regress(request, timeout=30)
    assert [round(r.value, 5) for r in response.result.regressions] == [2.0, 7.0]
    request.model_spec.signature_name = "predict"
    with pytest.raises(grpc.RpcError) as error:
        stub.Regress(request, timeout=30)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Expected regress signature method_name to be tensorflow/serving/regress" in error.value.details()
    empty = classification_pb2.ClassificationRequest()
    empty.model_spec.name = "m"
    with pytest.raises(grpc.RpcError) as error:
        stub.Classify(empty, timeout=30)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "Input is empty" in error.value.details()


def export_typed_model(base) -> None:
    """Predict on an int32 input n and a float32 input x: y = x * n, s = x + 1."""
    with tf.Graph().as_default():
        n = tf.placeholder(tf.int32, [None], name="n")
        x = tf.placeholder(tf.float32, [None], name="x")
        y = x * tf.cast(n, tf.float32)
        with tf.Session() as sess:
            tf.saved_model.simple_save(sess, str(base / "1"), inputs={"n": n, "x": x}, outputs={"y": y, "s": x + 1})


@contextlib.contextmanager
def _served(base, name: str):
    """(gRPC stub, REST base URL) of one in-process store serving the model in ``base``, REST and gRPC."""
    from lowtf.serve.rest_server import make_server

    models = Models([ModelStore(base, name, log=lambda message: None)])
    grpc_server = make_grpc_server(models, "127.0.0.1", port := free_port())
    rest = make_server(models, "127.0.0.1", free_port(), log=lambda line: None)   # a line may outlive the test
    threading.Thread(target=rest.serve_forever, daemon=True).start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield prediction_service_pb2_grpc.PredictionServiceStub(channel), \
            f"http://127.0.0.1:{rest.server_address[1]}/v1/models/{name}"
    finally:
        channel.close()
        grpc_server.stop(grace=0)
        rest.shutdown()
        rest.server_close()


@pytest.fixture
def typed(tmp_path):
    """(gRPC stub, REST predict URL) serving the typed model."""
    export_typed_model(tmp_path / "t")
    with _served(tmp_path / "t", "t") as (stub, base):
        yield stub, base + ":predict"


def predict_request(**inputs):
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = "t"
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(value if not isinstance(value, np.ndarray) else tf.make_tensor_proto(value))
    return request


def test_values_that_do_not_fit_the_input_type_are_refused_not_wrapped(typed):
    """3,000,000,000 in an int32 input would wrap to -1,294,967,296: over REST and gRPC it is a clear error."""
    import requests

    stub, url = typed
    r = requests.post(url, json={"instances": [{"n": 1, "x": 1.0}, {"n": 3000000000, "x": 1.0}]}, timeout=10)
    assert r.status_code == 400 and "'n'" in r.json()["error"] and "int32" in r.json()["error"]
    with pytest.raises(grpc.RpcError) as wrapped:
        stub.Predict(predict_request(n=np.array([1, 3000000000], np.int64), x=np.ones(2, np.float32)), timeout=10)
    assert wrapped.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "int32" in wrapped.value.details()
    with pytest.raises(grpc.RpcError) as complex_in:
        stub.Predict(predict_request(n=np.array([1], np.int32), x=np.array([1 + 2j], np.complex64)), timeout=10)
    assert complex_in.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "complex" in complex_in.value.details()
    fine = stub.Predict(predict_request(n=np.array([3], np.int64), x=np.array([2.0], np.float32)), timeout=10)
    assert tf.make_ndarray(fine.outputs["y"]).tolist() == [6.0]     # in range: converted and answered


def test_an_unknown_output_filter_is_an_error_and_a_known_one_filters(typed):
    stub, _ = typed
    request = predict_request(n=np.array([3], np.int32), x=np.array([2.0], np.float32))
    request.output_filter.append("s")
    assert set(stub.Predict(request, timeout=10).outputs) == {"s"}
    request.output_filter.append("nope")
    with pytest.raises(grpc.RpcError) as unknown:
        stub.Predict(request, timeout=10)
    assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "nope" in unknown.value.details()


def test_a_tensor_claiming_more_values_than_it_carries_is_refused_before_allocating(typed):
    """One value and a shape of 5,000 x 784 would make tf.make_ndarray fill 3.9 million floats."""
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

    stub, _ = typed
    claim = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0], tensor_shape=tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=5000), tensor_shape_pb2.TensorShapeProto.Dim(size=784)]))
    assert claim.ByteSize() < 50
    with pytest.raises(grpc.RpcError) as refused:
        stub.Predict(predict_request(n=np.array([1], np.int32), x=claim), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "3,920,000" in refused.value.details()


@pytest.fixture
def example_servers(tmp_path):
    """(gRPC stub, REST base URL) serving the tf.Example model."""
    export_example_model(tmp_path / "m")
    with _served(tmp_path / "m", "m") as servers:
        yield servers


def test_rest_classify_and_regress_answer_as_grpc_does(example_servers):
    """TF Serving's REST :classify and :regress (examples, a shared context) give what gRPC gives for the
    same examples; both run through the one predictor."""
    import requests

    stub, base = example_servers
    values = [0.5, -2.0]
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "m"
    _add_examples(request.input, values)
    by_grpc = [[(c.label, c.score) for c in result.classes] for result in stub.Classify(request, timeout=30).result.classifications]
    reply = requests.post(f"{base}:classify", json={"examples": [{"x": v} for v in values]}, timeout=30)
    assert reply.status_code == 200, reply.text
    by_rest = reply.json()["results"]
    assert [[label for label, _ in row] for row in by_rest] == [[label for label, _ in row] for row in by_grpc]
    assert np.allclose([[s for _, s in row] for row in by_rest], [[s for _, s in row] for row in by_grpc], atol=1e-6)

    regress = regression_pb2.RegressionRequest()
    regress.model_spec.name, regress.model_spec.signature_name = "m", "regress"
    _add_examples(regress.input, [0.5, 3.0])
    by_grpc = [r.value for r in stub.Regress(regress, timeout=30).result.regressions]
    reply = requests.post(f"{base}:regress", json={"signature_name": "regress", "examples": [{"x": 0.5}, {"x": 3.0}]},
                          timeout=30)
    assert reply.status_code == 200 and np.allclose(reply.json()["results"], by_grpc) and np.allclose(by_grpc, [2.0, 7.0])
    shared = requests.post(f"{base}:regress", json={"signature_name": "regress", "context": {"x": 1.0},
                                                     "examples": [{}, {}]}, timeout=30)
    assert shared.json() == {"results": [3.0, 3.0]}
    wrong_kind = requests.post(f"{base}:regress", json={"signature_name": "predict", "examples": [{"x": 1.0}]},
                               timeout=30)
    assert wrong_kind.status_code == 400
    assert "Expected regress signature method_name to be tensorflow/serving/regress" in wrong_kind.json()["error"]
    empty = requests.post(f"{base}:classify", json={"examples": []}, timeout=30)
    assert empty.status_code == 400 and "examples" in empty.json()["error"]


def test_serving_options_reach_the_session_and_loading_freezes_the_heap(tmp_path):
    """Each version's Session gets the threads asked for; once loaded, Python's garbage collector no longer
    walks TensorFlow's objects (a JSON body of many lists made full collections cost ~150 ms a request)."""
    import gc

    from lowtf.serve.core.servable import ServingOptions

    export_example_model(tmp_path / "m")
    gc.unfreeze()
    store = ModelStore(tmp_path / "m", "m", log=lambda message: None, options=ServingOptions(1, 1))
    try:
        assert gc.get_freeze_count() > 100_000
        with store.use() as model:
            config = model.session._config
        assert config.intra_op_parallelism_threads == 1 and config.inter_op_parallelism_threads == 1
    finally:
        gc.unfreeze()
        store.get().close()
