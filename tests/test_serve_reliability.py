"""Issue #35's attacks on the serving side, each against a real `lowtf serve` process: a body of
nested brackets, headers that hide a body's length, idle sockets, large requests, and bad inputs
that must get 400 (INVALID_ARGUMENT), never 500 (UNKNOWN)."""
import socket
import threading

import numpy as np
import pytest
import requests

from conftest import export_affine, free_port
from lowtf.serve.errors import DeadlineExceeded, InvalidArgument
from lowtf.serve.json_numbers import MAX_DIMS, numeric_body
from lowtf.serve.process import start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A `lowtf serve` process for y = x + 1 (REST and gRPC); yields (REST URL, gRPC port, base path)."""
    base = tmp_path_factory.mktemp("reliability") / "affine"
    export_affine(base, 1, 1.0)
    rest, grpc_port = free_port(), free_port()
    flags = ["--model_name", "affine", "--model_base_path", str(base), "--rest_api_port", str(rest),
             "--port", str(grpc_port), "--file_system_poll_wait_seconds", "1"]
    with start_server(flags, rest, "affine") as process:
        yield process.url("affine"), grpc_port, base


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
