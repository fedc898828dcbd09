"""What operators of TF Serving expect of `lowtf serve`, each against a real server process: model
warm-up records replayed at load, Prometheus metrics (--monitoring_config_file), and the limit flags
(--rest_api_num_threads, --grpc_max_threads, --grpc_channel_arguments' maximum message size)."""
import re
import subprocess
import threading
import time

import grpc
import numpy as np
import pytest
import requests
import tensorflow.compat.v1 as tf
from tensorflow_serving.apis import predict_pb2, prediction_log_pb2, prediction_service_pb2_grpc

from conftest import PYTHON, free_port
from lowtf.serve.export import export_saved_model
from lowtf.serve.process import start_server
from test_serve import X, export_version, reference

WARMUP = "assets.extra/tf_serving_warmup_requests"


def predict_log(inputs: dict, signature: str = "") -> bytes:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "ignored at warm-up"
    request.model_spec.signature_name = signature
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request)).SerializeToString()


def write_warmup(version_dir, records: list) -> None:
    (version_dir / "assets.extra").mkdir(exist_ok=True)
    with tf.io.TFRecordWriter(str(version_dir / WARMUP)) as writer:
        for record in records:
            writer.write(record)


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """Version 1 with two good warm-up records; 2 with 1001 (over TF Serving's limit); 3 with a file
    that is not TFRecord; 4 with a record the model refuses (an input it does not have)."""
    model_dir = tmp_path_factory.mktemp("ops") / "digits"
    for version in (1, 2, 3, 4):
        export_version(model_dir, version, scale=float(version))
    good = predict_log({"images": X})
    write_warmup(model_dir / "1", [good, predict_log({"images": X[:1]}, "logits")])
    write_warmup(model_dir / "2", [good] * 1001)
    (model_dir / "3" / "assets.extra").mkdir()
    (model_dir / "3" / WARMUP).write_bytes(b"this is not a TFRecord file at all" * 4)
    write_warmup(model_dir / "4", [good, predict_log({"pixels": X})])
    return model_dir


def test_warmup_replays_before_serving_and_a_bad_file_fails_that_version(versions):
    rest = free_port()
    with start_server([f"--model_base_path={versions}", "--model_name=digits", f"--rest_api_port={rest}"],
                      rest, "digits") as served:
        status = requests.get(served.url("digits"), timeout=10).json()
        no_metrics = requests.get(f"http://127.0.0.1:{rest}/monitoring/prometheus/metrics", timeout=10)
        log = served.child.output(20000)
    # versions 4, 3 and 2 did not load, each saying why; the newest that did (1) is served
    assert [s["version"] for s in status["model_version_status"]] == ["1"]
    assert re.search(r"version 4 of digits did not load \(WarmupFailed: record 2 of \S+: signature "
                     r"'serving_default' takes inputs \['images'\]; the request has \['pixels'\]", log), log
    assert re.search(r"version 3 of digits did not load \(WarmupFailed: .*TFRecord", log), log
    assert "version 2 of digits did not load (WarmupFailed: Number of warmup records exceeds the maximum (1000)" in log
    # version 1's two records ran, before it was served
    replayed = log.index("warm-up of")
    assert re.search(r"warm-up of \S+/1: 2 record\(s\) replayed", log), log
    assert replayed < log.index("lowtf serve: model digits version 1 at")
    assert no_metrics.status_code == 404              # without --monitoring_config_file


def scrape(rest: int) -> dict:
    """The Prometheus page as {'name{labels}': value}, and its content type."""
    reply = requests.get(f"http://127.0.0.1:{rest}/monitoring/prometheus/metrics", timeout=10)
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in reply.text.splitlines() if line and not line.startswith("#")}


def test_metrics_count_both_front_ends_and_limits_apply(versions, tmp_path):
    """Warm-up off (the newest version, 4, loads despite its bad record); metrics on a custom path;
    gRPC's maximum message lowered through --grpc_channel_arguments."""
    config = tmp_path / "monitoring.config"
    config.write_text('prometheus_config { enable: true, path: "/monitoring/prometheus/metrics" }\n')
    rest, rpc = free_port(), free_port()
    flags = [f"--model_base_path={versions}", "--model_name=digits", f"--rest_api_port={rest}", f"--port={rpc}",
             "--enable_model_warmup=false", f"--monitoring_config_file={config}", "--grpc_max_threads=2",
             "--grpc_channel_arguments=grpc.max_receive_message_length=4096"]
    with start_server(flags, rest, "digits") as served, grpc.insecure_channel(f"127.0.0.1:{rpc}") as channel:
        url = served.url("digits")
        for _ in range(2):
            answer = requests.post(f"{url}:predict", json={"instances": X.tolist()}, timeout=10).json()
            np.testing.assert_allclose([p["probabilities"] for p in answer["predictions"]], reference(X, 4.0)[1],
                                       rtol=1e-5)
        assert requests.post(f"{url}:predict", json={"instances": [[1.0]]}, timeout=10).status_code == 400
        assert requests.post(served.url("nobody") + ":predict", json={"instances": [1]}, timeout=10).status_code == 404
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "digits"
        request.inputs["images"].CopyFrom(tf.make_tensor_proto(X))
        assert stub.Predict(request, timeout=30).model_spec.version.value == 4
        big = predict_pb2.PredictRequest()
        big.model_spec.name = "digits"
        big.inputs["images"].CopyFrom(tf.make_tensor_proto(np.zeros((100, 4, 4, 1), np.float32)))  # 6.4 KB
        with pytest.raises(grpc.RpcError) as refused:
            stub.Predict(big, timeout=30)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "larger than max" in refused.value.details() and "4096" in refused.value.details()
        request.model_spec.name = "nobody"
        with pytest.raises(grpc.RpcError):
            stub.Predict(request, timeout=30)
        metrics = scrape(rest)
    count = ':tensorflow:serving:request_count{model_name="%s",status="%s"}'
    assert metrics[count % ("digits", "OK")] == 3                    # 2 REST + 1 gRPC
    assert metrics[count % ("digits", "INVALID_ARGUMENT")] == 1
    assert metrics[count % ("", "NOT_FOUND")] == 2                   # an unserved name is counted as ""
    latency = ':tensorflow:serving:request_latency_count{model_name="digits",API="Predict",entrypoint="%s"}'
    assert metrics[latency % "REST"] == 3 and metrics[latency % "GRPC"] == 1
    inf = ':tensorflow:serving:request_latency_bucket{model_name="digits",API="Predict",entrypoint="REST",le="+Inf"}'
    assert metrics[inf] == 3
    by_version = (':lowtf:serving:requests{model_name="digits",version="4",API="Predict",entrypoint="REST",'
                  'status="OK"}')
    assert metrics[by_version] == 2
    # the status request that start_server polled with is counted too (not a prediction API)
    assert any(k.startswith(':lowtf:serving:requests{model_name="digits",version="4",API="GetModelStatus"')
               for k in metrics)


def export_spinner(model_dir) -> None:
    """A model whose run takes as long as asked: a loop of n[0] steps (~1.4 s per 100,000 here)."""
    with tf.Graph().as_default():
        n = tf.placeholder(tf.int64, [None], name="n")
        steps = tf.while_loop(lambda i: i < n[0], lambda i: i + 1, [tf.constant(0, tf.int64)])
        with tf.Session() as sess:
            export_saved_model(sess, model_dir, 1, {"serving_default": ({"n": n}, {"steps": steps})})


def grpc_spin(rpc: int, steps: int) -> float:
    """A gRPC predict of ``steps`` loop steps (or a status call for 0); returns when it was answered."""
    from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc
    with grpc.insecure_channel(f"127.0.0.1:{rpc}") as channel:
        if steps:
            request = predict_pb2.PredictRequest()
            request.model_spec.name = "spin"
            request.inputs["n"].CopyFrom(tf.make_tensor_proto(np.array([steps], np.int64)))
            prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=60)
        else:
            status = get_model_status_pb2.GetModelStatusRequest()
            status.model_spec.name = "spin"
            model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(status, timeout=60)
    return time.monotonic()


def test_one_thread_per_front_queues_requests_beyond_it(tmp_path):
    """With one REST thread, a status request sent while a long prediction runs is answered after it;
    a client that has sent only half its body meanwhile holds no thread. With one gRPC thread
    (--grpc_max_threads=1), the same holds for gRPC calls."""
    export_spinner(tmp_path / "spin")
    rest, rpc = free_port(), free_port()
    with start_server([f"--model_base_path={tmp_path / 'spin'}", "--model_name=spin", f"--rest_api_port={rest}",
                       "--rest_api_num_threads=1", f"--port={rpc}", "--grpc_max_threads=1"], rest, "spin") as served:
        finished = {}
        long_call = threading.Thread(target=lambda: finished.setdefault("long", grpc_spin(rpc, 150_000)))
        long_call.start()
        time.sleep(0.4)
        finished["status"] = grpc_spin(rpc, 0)
        long_call.join(60)
        assert finished["status"] >= finished["long"] - 0.05, "the gRPC status call did not wait for the one thread"
        import socket
        slow = socket.create_connection(("127.0.0.1", rest))   # half a body: no slot taken
        slow.sendall(b"POST /v1/models/spin:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"in")
        done = {}

        def long_run():
            reply = requests.post(served.url("spin") + ":predict", json={"inputs": {"n": [150_000]}}, timeout=60)
            done["long"] = (time.monotonic(), reply.status_code, reply.json())

        runner = threading.Thread(target=long_run)
        runner.start()
        time.sleep(0.4)
        status = requests.get(served.url("spin"), timeout=60)
        done["status"] = time.monotonic()
        runner.join(60)
        slow.close()
    assert status.status_code == 200 and done["long"][1] == 200 and done["long"][2] == {"outputs": 150000}
    assert done["status"] >= done["long"][0] - 0.05, "the status request did not wait for the one thread"


@pytest.mark.parametrize("flags, message", [
    (["--monitoring_config_file={config}"], "prometheus_config { enable: true"),
    (["--grpc_channel_arguments=grpc.max_receive_message_length"], "is not key=value"),
    (["--enable_model_warmup=maybe"], "expected true or false"),
])
def test_bad_operator_flags_are_clear_errors(tmp_path, flags, message):
    config = tmp_path / "monitoring.config"
    config.write_text("prometheus_config { enabled: true }\n")    # the field is `enable`
    (tmp_path / "m").mkdir()
    result = subprocess.run([PYTHON, "-m", "lowtf", "serve", f"--model_base_path={tmp_path / 'm'}",
                             f"--rest_api_port={free_port()}", *[f.format(config=config) for f in flags]],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2 and message in result.stderr, result.stderr
