"""The fronts' own readers and writers of the wire give what the library ones they replace give:
header fields as http.server's email parser gives them, a reply http.server would write, gRPC
tensors as tf.make_tensor_proto and tf.make_ndarray make them, and float inputs refused or kept
as check_range decides."""
import http.client
import io
import socket
import threading

import numpy as np
import pytest
import tensorflow as tf

from lowtf.serve import http_head
from lowtf.serve.core.manager import Models
from lowtf.serve.core.servable import TensorSpec
from lowtf.serve.errors import InvalidArgument
from lowtf.serve.grpc_server import tensor_values, write_tensor
from lowtf.serve.rest_server import make_server
from lowtf.serve.tensors import to_array

HEADS = [
    b"Host: x\r\nContent-Length: 12\r\n\r\n",
    b"host: x\r\nCONTENT-LENGTH:7  \r\ncontent-length: 8\r\nX-A: a: b\r\nX-Empty:\r\n\r\n",
    b"Transfer-Encoding: chunked\r\nConnection: Keep-Alive\nExpect:\t100-continue\r\n\r\n",
    b"X-Latin: caf\xe9\r\n\r\n",
]


@pytest.mark.parametrize("head", HEADS)
def test_header_fields_are_what_the_email_parser_gives(head):
    lines = http_head.read_lines(io.BytesIO(head + b"GET / HTTP/1.1\r\n"))
    assert lines[-1] in (b"\r\n", b"\n") and http_head.field_problem(lines) is None
    ours, python = http_head.Fields(lines), http.client.parse_headers(io.BytesIO(head))
    assert ours.items() == python.items() and len(ours) == len(python)
    for name in ("host", "Content-Length", "x-a", "X-Empty", "transfer-encoding", "connection", "expect",
                 "x-latin", "absent"):
        assert ours.get(name) == python.get(name) and ours[name] == python[name]
        assert ours.get(name, "default") == python.get(name, "default")
        assert ours.get_all(name) == python.get_all(name) and (name in ours) == (name in python)


def test_header_lines_past_http_clients_limits_are_refused():
    with pytest.raises(http.client.LineTooLong):
        http_head.read_lines(io.BytesIO(b"X: " + b"a" * http_head.MAX_LINE + b"\r\n\r\n"))
    with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
        http_head.read_lines(io.BytesIO(b"X: a\r\n" * 101 + b"\r\n"))


def test_a_reply_is_one_write_with_http_servers_status_line_and_headers():
    server = make_server(Models([]), port=0, log=lambda line: None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with socket.create_connection(server.server_address, timeout=5) as s:
            s.sendall(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = b""
            while b"\r\n\r\n" not in reply or not reply.endswith(b"}"):
                reply += s.recv(65536)
    finally:
        server.shutdown()
        server.server_close()
    head, body = reply.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == "HTTP/1.1 404 Not Found"
    assert [line.split(":")[0] for line in lines[1:]] == ["Server", "Date", "Content-Type", "Content-Length"]
    assert lines[1].startswith("Server: lowtf-serve/0.1 Python/") and lines[2].endswith(" GMT")
    assert int(lines[4].split(": ")[1]) == len(body) and body.startswith(b'{"error": ')


ARRAYS = [(np.arange(10) % 3).astype(t).reshape(2, 5) for t in
          (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
           np.uint32, np.uint64, np.bool_, np.complex64)]
ARRAYS += [np.float32(3.5), np.zeros((1, 1), np.float32), np.zeros((0, 3), np.float32),
           np.array([[b"ab", b"c"]], object), np.arange(6, dtype=np.float32).reshape(3, 2).T]


@pytest.mark.parametrize("value", ARRAYS, ids=lambda v: f"{np.asarray(v).dtype}{np.shape(v)}")
def test_grpc_tensors_are_written_and_read_as_tensorflow_does(value):
    ours = tf.make_tensor_proto(np.zeros(1))       # something to overwrite, as a response's field is
    ours.Clear()
    write_tensor(value, ours)
    assert ours == tf.make_tensor_proto(value)
    read = tensor_values(ours, "x")
    expected = tf.make_ndarray(ours)
    assert read.dtype == expected.dtype and read.shape == expected.shape and np.array_equal(read, expected)
    assert read.flags.writeable


@pytest.mark.parametrize("values, fits", [([1.5, -2.0], True), ([3.4028234663852886e38], True),
                                          ([3.5e38], False), ([1e300], False), ([np.inf, np.nan, 1.0], True)])
def test_float_inputs_are_kept_or_refused_by_their_range(values, fits):
    spec = TensorSpec("x:0", tf.float32, [-1])
    if fits:
        array = to_array(np.array(values), spec, "x")
        assert array.dtype == np.float32 and np.array_equal(array, np.array(values, np.float32), equal_nan=True)
    else:
        with pytest.raises(InvalidArgument, match="do not fit float32"):
            to_array(np.array(values), spec, "x")
