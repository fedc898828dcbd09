"""The candidate gRPC front end (``--grpc_server=aio``, grpc.aio) answers TF Serving's own client as
the thread-pool server does: the same numbers, status codes and messages, metrics and message limit."""
import grpc
import numpy as np
import pytest
import requests
import tensorflow.compat.v1 as tf
from tensorflow_serving.apis import (get_model_metadata_pb2, get_model_status_pb2, model_service_pb2_grpc,
                                     predict_pb2, prediction_service_pb2_grpc)

from conftest import free_port
from lowtf.serve.process import start_server
from test_serve import X, export_version, reference


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """One model served twice: by the thread-pool gRPC server and by grpc.aio, metrics on."""
    model_dir = tmp_path_factory.mktemp("fronts") / "digits"
    export_version(model_dir, 1, scale=1.0)
    config = model_dir.parent / "monitoring.config"
    config.write_text("prometheus_config { enable: true }\n")
    servers = {}
    try:
        for kind in ("threads", "aio"):
            rest, rpc = free_port(), free_port()
            servers[kind] = (start_server([f"--model_base_path={model_dir}", "--model_name=digits",
                                           f"--rest_api_port={rest}", f"--port={rpc}", f"--grpc_server={kind}",
                                           f"--monitoring_config_file={config}",
                                           "--grpc_channel_arguments=grpc.max_receive_message_length=8192"],
                                          rest, "digits"), rpc, rest)
        yield servers
    finally:
        for served, _, _ in servers.values():
            served.stop()


def outcomes(rpc: int) -> list:
    """What TF Serving's client gets for a set of calls: each answer's numbers or its status and message."""
    results = []
    with grpc.insecure_channel(f"127.0.0.1:{rpc}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

        def call(method, request):
            try:
                return method(request, timeout=30)
            except grpc.RpcError as e:
                return (e.code(), e.details().split(" vs. ")[0])

        request = predict_pb2.PredictRequest()
        request.model_spec.name = "digits"
        request.inputs["images"].CopyFrom(tf.make_tensor_proto(X))
        answer = call(stub.Predict, request)
        results.append((answer.model_spec.version.value, tf.make_ndarray(answer.outputs["probabilities"]).round(5)
                        .tolist()))
        metadata = get_model_metadata_pb2.GetModelMetadataRequest()
        metadata.model_spec.name = "digits"
        metadata.metadata_field.append("signature_def")
        defs = get_model_metadata_pb2.SignatureDefMap()
        call(stub.GetModelMetadata, metadata).metadata["signature_def"].Unpack(defs)
        results.append(sorted(defs.signature_def))
        status = get_model_status_pb2.GetModelStatusRequest()
        status.model_spec.name = "digits"
        results.append(str(call(model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus, status)))
        for change in ("model", "input", "size"):
            wrong = predict_pb2.PredictRequest()
            wrong.CopyFrom(request)
            if change == "model":
                wrong.model_spec.name = "nobody"
            elif change == "input":
                wrong.inputs["a"].CopyFrom(wrong.inputs.pop("images"))
            else:
                wrong.inputs["images"].CopyFrom(tf.make_tensor_proto(np.zeros((200, 4, 4, 1), np.float32)))
            results.append(call(stub.Predict, wrong))
        metadata.metadata_field[0] = "something_else"
        results.append(call(stub.GetModelMetadata, metadata))
    return results


@pytest.mark.slow   # default suite: the thread-pool front, the default, answers every serve test
def test_aio_front_answers_as_the_thread_pool_front(both):
    threads, aio = outcomes(both["threads"][1]), outcomes(both["aio"][1])
    assert aio == threads
    np.testing.assert_allclose(aio[0][1], reference(X, 1.0)[1].round(5), atol=1e-5)
    assert aio[3][0] == grpc.StatusCode.NOT_FOUND and aio[4][0] == grpc.StatusCode.INVALID_ARGUMENT
    assert aio[5][0] == grpc.StatusCode.RESOURCE_EXHAUSTED and aio[6][0] == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.slow   # default suite: test_serve_ops counts the default fronts' calls
def test_aio_front_counts_its_calls(both):
    _, rpc, rest = both["aio"]
    outcomes(rpc)
    page = requests.get(f"http://127.0.0.1:{rest}/monitoring/prometheus/metrics", timeout=10).text
    assert ':tensorflow:serving:request_latency_count{model_name="digits",API="Predict",entrypoint="GRPC"}' in page
    assert ':tensorflow:serving:request_count{model_name="",status="NOT_FOUND"}' in page
    assert ('lowtf:serving:requests{model_name="digits",version="1",API="GetModelMetadata",entrypoint="GRPC",'
            'status="INVALID_ARGUMENT"}') in page
