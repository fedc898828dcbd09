"""gRPC Classify and Regress on tf.Example signatures, with TF Serving's own client messages and stubs."""
import grpc
import numpy as np
import pytest
import tensorflow.compat.v1 as tf
from tensorflow_serving.apis import classification_pb2, prediction_service_pb2_grpc, regression_pb2

from conftest import free_port
from lowtf.serve.grpc_server import make_grpc_server
from lowtf.serve.model_store import Models, ModelStore


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
