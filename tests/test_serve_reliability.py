"""Issue #35's attacks on the serving side, each against a real `lowtf serve` process: a body of
nested brackets, headers that hide a body's length, idle sockets, large requests, and bad inputs
that must get 400 (INVALID_ARGUMENT), never 500 (UNKNOWN)."""
import json
import socket
import threading

import numpy as np
import pytest
import requests

from conftest import export_affine, free_port
from lowtf.serve.errors import DeadlineExceeded, InvalidArgument
from lowtf.serve.json_numbers import MAX_DIMS, numeric_body
from lowtf.serve.process import start_server


def export_kinds(base) -> None:
    """A model with a string, an int64, a bfloat16 and a float16 input, and a scalar output beside the
    per-example ones (so the row format cannot split it)."""
    import tensorflow.compat.v1 as tf

    with tf.Graph().as_default():
        s = tf.placeholder(tf.string, [None], name="s")
        i = tf.placeholder(tf.int64, [None], name="i")
        h = tf.placeholder(tf.bfloat16, [None], name="h")
        f16 = tf.placeholder(tf.float16, [None], name="f16")
        outputs = {"n": tf.strings.length(s), "i": tf.identity(i), "h": tf.cast(h, tf.float32),
                   "f16": tf.cast(f16, tf.float32), "count": tf.size(s)}
        with tf.Session() as sess:
            tf.saved_model.simple_save(sess, str(base / "1"), inputs={"s": s, "i": i, "h": h, "f16": f16},
                                       outputs=outputs)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A `lowtf serve` process (REST and gRPC) for y = x + 1 ("affine") and ``export_kinds``
    ("kinds"), polling every second; yields (affine's REST URL, gRPC port, affine's base path)."""
    root = tmp_path_factory.mktemp("reliability")
    export_affine(root / "affine", 1, 1.0)
    export_kinds(root / "kinds")
    config = root / "models.config"
    config.write_text("model_config_list {\n" + "".join(
        f'  config {{ name: "{name}" base_path: "{root / name}" model_platform: "tensorflow" }}\n'
        for name in ("affine", "kinds")) + "}\n")
    rest, grpc_port = free_port(), free_port()
    flags = ["--model_config_file", str(config), "--rest_api_port", str(rest), "--port", str(grpc_port),
             "--file_system_poll_wait_seconds", "1"]
    with start_server(flags, rest, "affine") as process:
        yield process.url("affine"), grpc_port, root / "affine"


def deep(depth: int, inner: bytes = b"1") -> bytes:
    return b'{"instances": ' + b"[" * depth + inner + b"]" * depth + b"}"


def test_brackets_deeper_than_a_tensor_are_refused_before_any_shape_is_built():
    assert numeric_body(deep(MAX_DIMS)).values.shape == (1,) * MAX_DIMS
    with pytest.raises(InvalidArgument, match=f"{MAX_DIMS + 1} nested lists.*at most {MAX_DIMS} levels"):
        numeric_body(deep(MAX_DIMS + 1))


def test_the_deadline_is_checked_while_decoding():
    def expired():
        raise DeadlineExceeded("deadline exceeded")

    with pytest.raises(DeadlineExceeded):
        numeric_body(b'{"instances": [[1, 2], [3, 4]]}', expired)


def test_a_deep_bracket_body_is_400_at_once_and_others_are_answered(server):
    """300 KB of brackets (6 s of a core before the fix, quadratic in the depth): 400 naming the
    limit, while and after which ordinary requests are answered."""
    url, _, _ = server
    body = deep(150_000)
    answers = {}

    def attack():
        answers["attack"] = requests.post(url + ":predict", data=body, timeout=60)

    thread = threading.Thread(target=attack)
    thread.start()
    during = requests.post(url + ":predict", json={"instances": [1.0]}, timeout=60)
    thread.join(timeout=60)
    after = requests.post(url + ":predict", json={"instances": [2.0]}, timeout=60)
    assert answers["attack"].status_code == 400, answers["attack"].text[:200]
    assert "150,000 nested lists" in answers["attack"].json()["error"]
    assert during.status_code == 200 and during.json()["predictions"] == [2.0]
    assert after.status_code == 200 and after.json()["predictions"] == [3.0]


def raw(url: str, request: bytes, wait: float = 5.0) -> bytes:
    """Send raw bytes, return everything the server answers until it closes (or ``wait`` s pass)."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as s:
        s.sendall(request)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except socket.timeout:
            pass
    return b"".join(chunks)


SMUGGLED = b"GET /v1/models/affine/metadata HTTP/1.1\r\nHost: x\r\n\r\n"
GET = b"GET /v1/models/affine HTTP/1.1\r\nHost: x\r\n"
HIDDEN_LENGTHS = {
    "space before the colon": b"Content-Length : %d\r\n",
    "tab before the colon": b"Content-Length\t: %d\r\n",
    "a line without a colon first": b"X-Note\r\nContent-Length: %d\r\n",
    "obs-fold hiding the length": b"X-Note: a\r\n Content-Length: %d\r\n",
    "obs-fold with a tab": b"X-Note: a\r\n\tfolded\r\nContent-Length: %d\r\n",
    "a bare CR in a value": b"X-Note: a\rb\r\nContent-Length: %d\r\n",
    "a space inside the name": b"Content Length: %d\r\n",
}


@pytest.mark.parametrize("header", HIDDEN_LENGTHS.values(), ids=HIDDEN_LENGTHS.keys())
def test_a_header_that_hides_the_length_is_400_and_the_body_never_a_second_request(server, header):
    url, _, _ = server
    answer = raw(url, GET + header % len(SMUGGLED) + b"\r\n" + SMUGGLED)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    assert answer.count(b"HTTP/1.1 ") == 1 and b"signature_def" not in answer, answer
    assert b"Connection: close" in answer and b"Malformed request" in answer


def test_well_formed_headers_still_pass(server):
    """Optional whitespace after the colon and around the value, any token name, obs-text in a value."""
    url, _, _ = server
    body = b'{"instances": [1.0]}'
    answer = raw(url, b"POST /v1/models/affine:predict HTTP/1.1\r\nHost: x\r\nX-My_Header.1:\t v\xe9 \r\n"
                      b"Content-Length:%d \r\nConnection: close\r\n\r\n%s" % (len(body), body))
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {"predictions": [2.0]}


def test_idle_sockets_cannot_hold_the_server(server):
    """300 connections that send nothing (the server's cap is 256): each new connection makes room
    by closing the one idle the longest, so a real request is answered at once (before: 503 for
    28.7 s), and so are requests on new connections while the idle ones are reopened."""
    url, _, _ = server
    host, port = url.split("//")[1].split("/")[0].split(":")
    idle = [socket.create_connection((host, int(port)), timeout=10) for _ in range(300)]
    try:
        for round in range(3):
            r = requests.post(url + ":predict", json={"instances": [1.0]}, timeout=10)
            assert r.status_code == 200 and r.json()["predictions"] == [2.0], (round, r.text)
            for s in idle[:100]:                              # the attacker reopens a third of them
                s.close()
            idle = idle[100:] + [socket.create_connection((host, int(port)), timeout=10) for _ in range(100)]
    finally:
        for s in idle:
            s.close()


def test_a_runs_peak_memory_is_read_from_the_graph():
    """y = relu(x W) + 1 on [N, 100] -> [N, 50]: at most input, product and sum alive at once."""
    import tensorflow.compat.v1 as tf

    from lowtf.serve.core.memory import bytes_per_example

    with tf.Graph().as_default() as graph:
        x = tf.placeholder(tf.float32, [None, 100], name="x")
        h = tf.nn.relu(tf.matmul(x, tf.ones([100, 50])), name="h")
        y = tf.identity(h + 1.0, name="y")
        ragged = tf.placeholder(tf.float32, [None, None], name="ragged")
        z = tf.identity(ragged * 2.0, name="z")
    peak = bytes_per_example(graph, ["x:0"], [y.name])
    assert 4 * (100 + 50) <= peak <= 4 * (100 + 50 * 4), peak     # never the sum of every tensor
    assert bytes_per_example(graph, ["ragged:0"], [z.name]) is None   # an unknown dimension: unknown


def test_a_request_larger_than_one_may_be_is_refused_naming_the_most_that_fits():
    from lowtf.serve.core.admission import MB, Admission, Limits
    from lowtf.serve.errors import ResourceExhausted

    admission = Admission(Limits(request_bytes=100 * MB, max_examples=1000))
    assert admission.check(400, 200 * 1024, 1 * MB) == 400 * 200 * 1024 + MB
    with pytest.raises(ResourceExhausted, match="send at most 506 examples"):
        admission.check(600, 200 * 1024, 1 * MB)
    with pytest.raises(ResourceExhausted, match="send at most 1,000 examples"):
        admission.check(1001, 1, 0)


def test_runs_past_the_cap_wait_then_time_out():
    from lowtf.serve.core.admission import Admission, Limits

    admission = Admission(Limits(concurrent_runs=1))
    with admission.run_slot(1.0):
        with pytest.raises(DeadlineExceeded):
            with admission.run_slot(0.1):
                pass
    with admission.run_slot(0.1):                     # the slot came back
        pass


def test_too_many_examples_is_resource_exhausted_over_both_wires(server):
    """100,001 examples of y = x + 1 (a 200 KB body): 429 over REST, RESOURCE_EXHAUSTED over gRPC,
    each saying how many to send; the server goes on."""
    import grpc
    import tensorflow as tf2
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    url, grpc_port, _ = server
    body = b'{"instances": [' + b",".join([b"1"] * 100_001) + b"]}"
    r = requests.post(url + ":predict", data=body, timeout=30)
    assert r.status_code == 429 and "send at most 100,000 examples" in r.json()["error"], r.text[:300]
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "affine"
    request.inputs["x"].CopyFrom(tf2.make_tensor_proto(np.ones(100_001, np.float32)))
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        with pytest.raises(grpc.RpcError) as refused:
            prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=30)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "send at most" in refused.value.details()
    assert requests.post(url + ":predict", json={"instances": [1.0]}, timeout=30).json()["predictions"] == [2.0]


KINDS = {"s": ["ab"], "i": [1], "h": [1.0], "f16": [1.0]}
BAD_REST = {   # (model, body): each a 500 before; now 400 with a message naming the problem
    "65-deep brackets": ("affine", deep(MAX_DIMS + 1)),
    "65-deep brackets around a string": ("kinds", b'{"inputs": {"s": ' + b"[" * 65 + b'"a"' + b"]" * 65 + b"}}"),
    "a 1,000-deep string nest": ("kinds", b'{"inputs": {"s": ' + b"[" * 1000 + b'"a"' + b"]" * 1000 + b"}}"),
    "invalid UTF-8 in a signature name": ("affine", b'{"signature_name": "\xff\xfe", "instances": [1.0]}'),
    "bad base64": ("kinds", {"s": [{"b64": "abc"}]}),
    "a number for a string input": ("kinds", {"s": [5]}),
    "null for a string input": ("kinds", {"s": [None]}),
    "a float for a string input": ("kinds", {"s": [1.5]}),
    "an int64 one past its range": ("kinds", {"i": [2 ** 63]}),
    "an int64 written as a float at 2^63": ("kinds", b'{"inputs": {"s": ["a"], "i": [9.223372036854775807e18], '
                                                     b'"h": [1.0], "f16": [1.0]}}'),
    "an int64 below its range": ("kinds", {"i": [-2 ** 63 - 1]}),
    "a bfloat16 past its range": ("kinds", {"h": [1e39]}),
    "a float16 past its range": ("kinds", {"f16": [70000.0]}),
    "a row-format output without a batch axis": ("kinds", b'{"instances": [{"s": "a", "i": 1, "h": 1, "f16": 1}]}'),
}


def rest_body(value) -> bytes:
    return value if isinstance(value, bytes) else json.dumps({"inputs": {**KINDS, **value}}).encode()


@pytest.mark.parametrize("model, body", BAD_REST.values(), ids=BAD_REST.keys())
def test_bad_rest_input_is_400_never_500(server, model, body):
    url, _, _ = server
    r = requests.post(url.replace("affine", model) + ":predict", data=rest_body(body), timeout=30)
    assert r.status_code == 400, r.text[:300]
    assert "error" in r.json() and "while serving" not in r.json()["error"]


def test_the_edges_of_each_range_are_served_exactly(server):
    url, _, _ = server
    edges = {"s": ["", "ab"], "i": [2 ** 63 - 1, -2 ** 63], "h": [3.0e38, -1.0], "f16": [65504.0, 0.5]}
    r = requests.post(url.replace("affine", "kinds") + ":predict", data=json.dumps({"inputs": edges}), timeout=30)
    assert r.status_code == 200, r.text
    outputs = r.json()["outputs"]
    assert outputs["i"] == [2 ** 63 - 1, -2 ** 63] and outputs["n"] == [0, 2] and outputs["f16"] == [65504.0, 0.5]
    assert outputs["count"] == 2 and abs(outputs["h"][0] - 3.0e38) < 0.01 * 3.0e38


def grpc_predict(grpc_port: int, model: str, inputs: dict, signature: str = ""):
    """Predict over gRPC with TensorProtos as given; returns (status code, details)."""
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    for name, proto in inputs.items():
        request.inputs[name].CopyFrom(proto)
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        try:
            prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=30)
            return grpc.StatusCode.OK, ""
        except grpc.RpcError as e:
            return e.code(), e.details()


def tensor(dtype: int, **fields):
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2

    proto = tensor_pb2.TensorProto(dtype=dtype, **fields)
    proto.tensor_shape.CopyFrom(tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1)]))
    return proto


@pytest.mark.parametrize("model, inputs", [
    ("affine", {"x": tensor(0, float_val=[1.0])}),            # DT_INVALID
    ("affine", {"x": tensor(999, float_val=[1.0])}),          # no DataType
    ("affine", {"x": tensor(101, float_val=[1.0])}),          # DT_FLOAT_REF
    ("kinds", {"s": tensor(1, float_val=[1.5]), "i": tensor(9, int64_val=[1]),
               "h": tensor(1, float_val=[1.0]), "f16": tensor(1, float_val=[1.0])}),   # a float for a string
], ids=["dtype 0", "dtype 999", "dtype 101", "a float for a string"])
def test_bad_grpc_input_is_invalid_argument_never_unknown(server, model, inputs):
    import grpc

    _, grpc_port, _ = server
    code, details = grpc_predict(grpc_port, model, inputs)
    assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details)


def test_version_folders_are_ascii_digits_within_int64(server):
    """A folder named '²' (isdigit, not a number int() reads) once ended the polling thread for
    good; one beyond int64 once broke every gRPC call. Both are ignored: version 2 is still picked
    up, and gRPC answers."""
    import shutil
    import time

    import grpc
    import tensorflow as tf2

    url, grpc_port, base = server
    for name in ("²", "99999999999999999999", "\u0663"):
        shutil.copytree(base / "1", base / name)
    export_affine(base, 2, 2.0)
    deadline = time.monotonic() + 20
    while requests.post(url + ":predict", json={"instances": [1.0]}, timeout=10).json()["predictions"] != [3.0]:
        assert time.monotonic() < deadline, "version 2 was not picked up"
        time.sleep(0.2)
    code, details = grpc_predict(grpc_port, "affine", {"x": tf2.make_tensor_proto(np.ones(2, np.float32))})
    assert code == grpc.StatusCode.OK, details
    assert requests.get(url, timeout=10).json()["model_version_status"][0]["version"] == "2"


def test_invalid_utf8_in_a_grpc_signature_name_is_invalid_argument(server):
    """A PredictRequest written byte by byte (no client library sends bad UTF-8): gRPC's own
    decoding failure was INTERNAL."""
    import grpc

    _, grpc_port, _ = server

    def field(number: int, data: bytes) -> bytes:
        return bytes([number << 3 | 2, len(data)]) + data

    request = field(1, field(1, b"affine") + field(3, b"\xff\xfe"))      # model_spec {name, signature_name}
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        predict = channel.unary_unary("/tensorflow.serving.PredictionService/Predict")
        with pytest.raises(grpc.RpcError) as refused:
            predict(request, timeout=30)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "UTF-8" in refused.value.details()
