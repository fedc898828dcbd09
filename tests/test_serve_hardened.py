"""lowtf serve under reloads, bad requests and idle clients: an in-process server on 127.0.0.1."""
import json
import socket
import threading
import time

import numpy as np
import pytest
import requests
import tensorflow.compat.v1 as tf

from conftest import PYTHON, export_affine, free_port
from lowtf.serve.core.manager import Models, ModelStore
from lowtf.serve.rest_server import make_server


@pytest.fixture
def served(tmp_path):
    """(base URL, model folder, log lines) of a server polling its folder every 0.2 s."""
    base_path = tmp_path / "affine"
    export_affine(base_path, 1, 1.0)
    log = []
    models = Models([ModelStore(base_path, "affine", log=log.append)], poll_seconds=0.2)
    # the access log to a list: a line written after the test (a request still finishing) would
    # otherwise reach the console, where pytest no longer captures standard error
    access = []
    server = make_server(models, "127.0.0.1", free_port(), max_body_bytes=100_000, idle_seconds=1.0,
                         log=access.append)
    stop = threading.Event()
    threads = [threading.Thread(target=server.serve_forever, daemon=True),
               threading.Thread(target=models.poll_forever, args=(stop,), daemon=True)]
    for t in threads:
        t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/models/affine", base_path, log
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def raw(url: str, request: bytes) -> bytes:
    """Send raw bytes to the server, return everything it answers (until it closes or 5 s pass)."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(request)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except socket.timeout:
            pass
    return b"".join(chunks)


def test_three_version_swaps_under_load_fail_no_request(served):
    """4 threads x 150 predictions over kept-alive connections while versions 2, 3 and 4 appear:
    every answer is 200 and equals one of the versions' y = k x + 1."""
    url, base_path, log = served
    x = [0.5, 2.0, -1.0]
    allowed = {k: [k * v + 1 for v in x] for k in (1.0, 2.0, 3.0, 4.0)}
    failures, wrong, done = [], [], []

    def client():
        with requests.Session() as session:
            for _ in range(150):
                r = session.post(url + ":predict", json={"instances": x}, timeout=30)
                if r.status_code != 200:
                    failures.append((r.status_code, r.text))
                elif not any(np.allclose(r.json()["predictions"], want) for want in allowed.values()):
                    wrong.append(r.json())
                done.append(1)
    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    for version in (2, 3, 4):
        time.sleep(0.4)
        export_affine(base_path, version, float(version))
    for t in threads:
        t.join(timeout=120)
    deadline = time.monotonic() + 10
    while "serving version 4 of affine" not in "\n".join(log) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(done) == 600 and failures == [] and wrong == []
    assert [line for line in log if "serving version" in line][-1].endswith("version 4 of affine")
    assert np.allclose(requests.post(url + ":predict", json={"instances": x}).json()["predictions"], allowed[4.0])


def test_a_broken_version_is_reported_once_and_the_last_good_keeps_serving(served):
    url, base_path, log = served
    (base_path / "2").mkdir()
    (base_path / "2" / "saved_model.pb").write_bytes(b"half a file")
    time.sleep(1.5)                                     # several polls
    failed = [line for line in log if "did not load" in line]
    assert len(failed) == 1 and "version 2 of affine" in failed[0] and "still serving version 1" in failed[0]
    r = requests.post(url + ":predict", json={"instances": [1.0]})
    assert r.status_code == 200 and r.json()["predictions"] == [2.0]
    assert str(base_path) not in r.text
    export_affine(base_path, 3, 3.0)                    # a good newer version is still picked up
    deadline = time.monotonic() + 10
    while requests.post(url + ":predict", json={"instances": [1.0]}).json()["predictions"] != [4.0]:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_an_unread_body_is_never_parsed_as_the_next_request(served):
    url, _, _ = served
    with requests.Session() as session:
        for bad in (url.replace("affine", "nope") + ":predict", url + "/metadata"):
            r = session.post(bad, json={"instances": [1.0] * 100})
            assert r.status_code in (404, 405) and "error" in r.json()
            good = session.post(url + ":predict", json={"instances": [1.0]})
            assert good.status_code == 200 and good.json()["predictions"] == [2.0]


@pytest.mark.parametrize("body,status", [
    (b"[" * 10_000 + b"]" * 10_000, 400),                        # deep JSON
    (json.dumps({"signature_name": ["a"], "instances": [1.0]}).encode(), 400),
    (json.dumps({"signature_name": {"a": 1}, "instances": [1.0]}).encode(), 400),
])
def test_malformed_predict_bodies_are_400_with_json(served, body, status):
    url, _, _ = served
    r = requests.post(url + ":predict", data=body)
    assert r.status_code == status and "error" in r.json()


def test_malformed_requests_get_json_errors(served):
    url, _, _ = served
    path = "/v1/models/affine"
    answers = {
        "non-ASCII Content-Length": raw(url, f"POST {path}:predict HTTP/1.1\r\nHost: x\r\nContent-Length: ١\r\n\r\n"
                                          .encode()),
        "5,000-digit version": raw(url, f"GET {path}/versions/{'9' * 5000} HTTP/1.1\r\nHost: x\r\n"
                                   "Connection: close\r\n\r\n".encode()),
        "a 70 kB URL": raw(url, b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
        "200 headers": raw(url, b"GET " + path.encode() + b" HTTP/1.1\r\n" +
                           b"".join(b"X-%d: y\r\n" % i for i in range(200)) + b"\r\n"),
        "PUT": raw(url, f"PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()),
    }
    expected = {"non-ASCII Content-Length": b"400", "5,000-digit version": b"404", "a 70 kB URL": b"414",
                "200 headers": b"431", "PUT": b"501"}
    for what, answer in answers.items():
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.split(b" ")[1] == expected[what], (what, head[:100])
        assert b"application/json" in head and "error" in json.loads(body), what


def test_idle_connections_are_closed(served):
    url, _, _ = served
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        started = time.monotonic()
        assert s.recv(1) == b""                       # the server closed it
        assert time.monotonic() - started < 5


def test_a_model_that_cannot_load_at_start_is_a_clear_error(tmp_path):
    import subprocess
    (tmp_path / "m" / "1").mkdir(parents=True)
    (tmp_path / "m" / "1" / "saved_model.pb").write_bytes(b"garbage")
    run = subprocess.run([PYTHON, "-m", "lowtf", "serve", "--model_base_path", str(tmp_path / "m"),
                          "--model_name", "m", "--rest_api_port", str(free_port())], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2 and "no version of m in" in run.stderr and "did not load" in run.stderr
    assert "cannot listen" not in run.stderr


def served_with(tmp_path, **limits):
    """A server for y = x + 1 with the given make_server limits; returns (url, server); its access
    log goes to ``server.access_log`` (a list), never to the console."""
    server_log = []
    export_affine(tmp_path / "affine", 1, 1.0)
    models = Models([ModelStore(tmp_path / "affine", "affine", log=lambda line: None)], poll_seconds=0)
    server = make_server(models, "127.0.0.1", free_port(), max_body_bytes=100_000, log=server_log.append,
                         **limits)
    server.access_log = server_log
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/v1/models/affine", server


PREDICT = b'{"instances": [1.0]}'
SMUGGLED = b"GET /v1/models/affine HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize("head, status", [
    # a GET with a body: the body is read and dropped, never answered as a second request
    (b"GET /v1/models/affine HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
     % len(SMUGGLED), 200),
    # two Content-Length headers: ambiguous, refused and closed
    (b"POST /v1/models/affine:predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nContent-Length: 0\r\n\r\n"
     % len(SMUGGLED), 400),
    # chunked with a Content-Length: ambiguous, refused and closed
    (b"POST /v1/models/affine:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n"
     % len(SMUGGLED), 400),
    # chunked alone: not supported, said so, closed
    (b"POST /v1/models/affine:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 411),
])
def test_a_body_is_never_answered_as_a_second_request(tmp_path, head, status):
    url, server = served_with(tmp_path)
    try:
        answer = raw(url, head + SMUGGLED)
        assert answer.startswith(b"HTTP/1.1 %d" % status), answer[:200]
        assert answer.count(b"HTTP/1.1 ") == 1, answer      # one request in, one answer out
        if status != 200:
            assert b"Connection: close" in answer and b'"error"' in answer
    finally:
        server.shutdown()
        server.server_close()


def test_slow_clients_neither_hold_the_server_nor_stay_for_ever(tmp_path):
    """Two clients trickle their bodies: a normal request is still answered at once; a request that
    has not fully arrived after request_seconds gets 408 and is closed, however steadily it trickles."""
    url, server = served_with(tmp_path, request_seconds=2.0, idle_seconds=5.0)
    host, port = url.split("//")[1].split("/")[0].split(":")
    slow = []
    try:
        for _ in range(2):   # reading a body reserves nothing: two slow ones must not hold the server
            s = socket.create_connection((host, int(port)), timeout=10)
            s.sendall(b"POST /v1/models/affine:predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n{"
                      % len(PREDICT))
            slow.append(s)
        started = time.monotonic()
        r = requests.post(url + ":predict", data=PREDICT, timeout=10)
        assert r.status_code == 200 and r.json()["predictions"] == [2.0] and time.monotonic() - started < 1.5
        for _ in range(3):   # one more byte every 0.5 s: each recv is quick, the whole is too slow
            time.sleep(0.5)
            for s in slow:
                try:
                    s.sendall(b" ")
                except OSError:
                    pass     # already answered and closed
        answers = []
        for s in slow:
            chunks = []
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
            answers.append(b"".join(chunks))
        assert all(a.startswith(b"HTTP/1.1 408") and b'"error"' in a for a in answers), answers
    finally:
        for s in slow:
            s.close()
        server.shutdown()
        server.server_close()


def test_connections_past_the_cap_get_503_and_the_server_goes_on(tmp_path):
    """Four connections each in the middle of a request hold the four slots: a fifth gets 503.
    (Idle connections would not: the longest idle makes room, see test_serve_reliability.)"""
    url, server = served_with(tmp_path, max_connections=4, idle_seconds=5.0)
    host, port = url.split("//")[1].split("/")[0].split(":")
    held = [socket.create_connection((host, int(port)), timeout=10) for _ in range(4)]
    try:
        for s in held:
            s.sendall(b"GET /v1/models/affine HTTP/1.1\r\n")     # a request begun, not finished
        time.sleep(0.3)
        extra = raw(url, b"GET /v1/models/affine HTTP/1.1\r\nHost: x\r\n\r\n")
        assert extra.startswith(b"HTTP/1.1 503") and b"too many connections" in extra
    finally:
        for s in held:
            s.close()
    deadline = time.monotonic() + 5
    while True:   # the held connections' slots come back once they close
        try:
            r = requests.get(url, timeout=5)
            if r.status_code == 200:
                break
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.1)
    server.shutdown()
    server.server_close()


def test_a_version_copied_in_two_steps_is_served_once_complete(served):
    """saved_model.pb lands before variables/: the load fails (said once); when the rest arrives it loads."""
    import shutil

    url, base_path, log = served
    with tf.Graph().as_default():         # y = w x + 1 with w a Variable: its value lives in variables/
        x = tf.placeholder(tf.float32, [None], name="x")
        w = tf.Variable(2.0, name="w")
        with tf.Session() as sess:
            sess.run(w.initializer)
            tf.saved_model.simple_save(sess, str(base_path.parent / "staging" / "2"), inputs={"x": x},
                                       outputs={"y": w * x + 1.0})
    (base_path / "2").mkdir()
    shutil.copy(base_path.parent / "staging" / "2" / "saved_model.pb", base_path / "2" / "saved_model.pb")
    deadline = time.monotonic() + 10
    while not any("version 2 of affine did not load" in line for line in log):
        assert time.monotonic() < deadline, log
        time.sleep(0.1)
    shutil.copytree(base_path.parent / "staging" / "2" / "variables", base_path / "2" / "variables")
    deadline = time.monotonic() + 10
    while requests.post(url + ":predict", json={"instances": [1.0]}).json()["predictions"] != [3.0]:
        assert time.monotonic() < deadline, log
        time.sleep(0.1)
    assert sum("did not load" in line for line in log) >= 1


def test_control_characters_in_a_url_are_escaped_in_the_log(tmp_path):
    url, server = served_with(tmp_path)
    try:
        answer = raw(url, b"GET /v1/models/\x1b[2Jred HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 404")
    finally:
        server.shutdown()
        server.server_close()
    logged = "\n".join(server.access_log)
    assert "\\x1b[2Jred" in logged and "\x1b" not in logged and " 404 " in logged


def test_decoding_stays_within_the_memory_budget():
    """Reservations never exceed the budget; one larger than all of it runs alone; the rest wait, then time out."""
    from lowtf.serve.rest_server import MemoryBudget

    budget = MemoryBudget(100)
    assert budget.acquire(60, timeout=1) and not budget.acquire(60, timeout=0.1)
    assert budget.acquire(40, timeout=1) and budget.free == 0
    budget.release(60)
    budget.release(40)
    assert budget.acquire(10_000, timeout=1) and budget.free == 0      # capped at the whole budget
    waiting = threading.Thread(target=lambda: budget.acquire(1, timeout=5))
    waiting.start()
    time.sleep(0.1)
    assert waiting.is_alive()                                           # nothing free: it waits
    budget.release(10_000)
    waiting.join(timeout=5)
    assert not waiting.is_alive() and budget.free == 99
