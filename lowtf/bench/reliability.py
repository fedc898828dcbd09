"""Issue #35's attacks replayed against a real `lowtf serve`, counted: the tally must be all zeros.

    python -m lowtf.bench.reliability [--quick] [--only NAME ...] [--out runs/bench/reliability.json]

Each section starts what it needs (a server process on 127.0.0.1, stopped at the end) and returns
its counts. The counts that must be 0:

    smuggled                 a request body answered as a second request
    wrong_answers            a 200 whose numbers are not the model's, or a 200 for bad input
    errors_for_bad_input     500 over REST or UNKNOWN/INTERNAL over gRPC for a bad request
    denied                   a good request refused (503) or unanswered while idle sockets are open
    over_budget              a request whose peak memory (the server's RSS growth) passed its budget

Other keys are measurements (seconds, megabytes). Sections are a list other modules extend:
``add_section(Section("processes", run, slow=True))`` before ``main`` runs (the course's
process-tree checks live in their own module). ``--quick`` runs the sections not marked slow.
"""
from __future__ import annotations

import argparse
import json
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

ZERO_KEYS = ("smuggled", "wrong_answers", "errors_for_bad_input", "denied", "over_budget", "orphans")


@dataclass
class Section:
    name: str
    run: Callable[["Workspace"], dict]     # -> counts (ZERO_KEYS) and measurements
    slow: bool = False


SECTIONS: list[Section] = []


def add_section(section: Section) -> None:
    """Add (or replace, by name) a section of the tally."""
    SECTIONS[:] = [s for s in SECTIONS if s.name != section.name] + [section]


class Workspace:
    """A temporary folder, and the servers the sections share, started when first asked for."""

    def __init__(self, root: Path):
        self.root = root
        self._servers: dict = {}

    def server(self, kind: str):
        """("toy" or "lenet") -> (process, REST URL base /v1/models, gRPC port)."""
        if kind not in self._servers:
            self._servers[kind] = _start(self.root / kind, kind)
        return self._servers[kind]

    def close(self) -> None:
        for process, _, _ in self._servers.values():
            process.stop()


# -- models and servers ------------------------------------------------------------------------------
def _export_toy(root: Path) -> None:
    """affine: y = x + 1 on float32 [N]; kinds: string, int64, bfloat16 and float16 inputs and a scalar output."""
    import tensorflow.compat.v1 as tf

    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None], name="x")
        with tf.Session() as sess:
            tf.saved_model.simple_save(sess, str(root / "affine" / "1"), {"x": x}, {"y": tf.identity(x + 1.0)})
    with tf.Graph().as_default():
        s, i = tf.placeholder(tf.string, [None], name="s"), tf.placeholder(tf.int64, [None], name="i")
        h, f16 = tf.placeholder(tf.bfloat16, [None], name="h"), tf.placeholder(tf.float16, [None], name="f16")
        outputs = {"n": tf.strings.length(s), "i": tf.identity(i), "h": tf.cast(h, tf.float32),
                   "f16": tf.cast(f16, tf.float32), "count": tf.size(s)}
        with tf.Session() as sess:
            tf.saved_model.simple_save(sess, str(root / "kinds" / "1"), {"s": s, "i": i, "h": h, "f16": f16}, outputs)


def _start(root: Path, kind: str):
    from lowtf.ports import free_ports
    from lowtf.serve.process import start_server

    root.mkdir(parents=True)
    if kind == "toy":
        _export_toy(root)
        names = ("affine", "kinds")
    else:
        from lowtf.bench.serving import _export

        _export(root / "lenet")
        names = ("lenet",)
    config = root / "models.config"
    config.write_text("model_config_list {\n" + "".join(
        f'  config {{ name: "{n}" base_path: "{root / n}" model_platform: "tensorflow" }}\n' for n in names) + "}\n")
    rest, grpc_port = free_ports(2)
    process = start_server(["--model_config_file", str(config), "--rest_api_port", str(rest),
                            "--port", str(grpc_port)], rest, names[0])
    return process, f"http://127.0.0.1:{rest}/v1/models", grpc_port


def _raw(port: int, data: bytes, wait: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except socket.timeout:
            pass
    return b"".join(chunks)


def _port(base: str) -> int:
    return int(base.split(":")[2].split("/")[0])


def _grpc_predict(grpc_port: int, model: str, inputs: dict):
    """(status code name, details) of a Predict with these TensorProtos."""
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    for name, proto in inputs.items():
        request.inputs[name].CopyFrom(proto)
    options = [("grpc.max_send_message_length", 100 << 20)]
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}", options=options) as channel:
        try:
            prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=120)
            return "OK", ""
        except grpc.RpcError as e:
            return e.code().name, e.details() or ""


# -- the sections ----------------------------------------------------------------------------------------
def _deep(depth: int, inner: bytes = b"1", key: bytes = b"instances") -> bytes:
    return b'{"' + key + b'": ' + b"[" * depth + inner + b"]" * depth + b"}"


KINDS = {"s": ["ab"], "i": [1], "h": [1.0], "f16": [1.0]}
BAD_REST = [  # (model, body)
    ("affine", _deep(65)), ("affine", _deep(150_000)),
    ("kinds", b'{"inputs": {"s": ' + b"[" * 1000 + b'"a"' + b"]" * 1000 + b"}}"),
    ("affine", b'{"signature_name": "\xff\xfe", "instances": [1.0]}'),
    ("kinds", {"s": [{"b64": "abc"}]}), ("kinds", {"s": [5]}), ("kinds", {"s": [None]}), ("kinds", {"s": [1.5]}),
    ("kinds", {"i": [2 ** 63]}), ("kinds", {"i": [-2 ** 63 - 1]}),
    ("kinds", b'{"inputs": {"s": ["a"], "i": [9.223372036854775807e18], "h": [1], "f16": [1]}}'),
    ("kinds", {"h": [1e39]}), ("kinds", {"f16": [70000.0]}),
    ("kinds", b'{"instances": [{"s": "a", "i": 1, "h": 1, "f16": 1}]}'),
    ("affine", b'{"instances": [1, 2'), ("affine", b'{"instances": ["a"]}'), ("affine", b"[" * 10_000),
]


def bad_inputs(work: Workspace) -> dict:
    import requests
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2

    _, base, grpc_port = work.server("toy")
    counts = {"bad_requests": 0, "errors_for_bad_input": 0, "wrong_answers": 0}
    for model, body in BAD_REST:
        data = body if isinstance(body, bytes) else json.dumps({"inputs": {**KINDS, **body}}).encode()
        status = requests.post(f"{base}/{model}:predict", data=data, timeout=60).status_code
        counts["bad_requests"] += 1
        counts["errors_for_bad_input"] += status >= 500
        counts["wrong_answers"] += status == 200

    def tensor(dtype: int, **values):
        dim = tensor_shape_pb2.TensorShapeProto.Dim(size=1)
        return tensor_pb2.TensorProto(dtype=dtype, tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=[dim]), **values)

    bad_grpc = [("affine", {"x": tensor(d, float_val=[1.0])}) for d in (0, 999, 101)] + [
        ("kinds", {"s": tensor(1, float_val=[1.5]), "i": tensor(9, int64_val=[1]), "h": tensor(1, float_val=[1.0]),
                   "f16": tensor(1, float_val=[1.0])}),
        ("affine", {"x": tensor(1)}),                          # a shape claiming a value it does not carry
    ]
    for model, inputs in bad_grpc:
        code, _ = _grpc_predict(grpc_port, model, inputs)
        counts["bad_requests"] += 1
        counts["errors_for_bad_input"] += code in ("UNKNOWN", "INTERNAL")
        counts["wrong_answers"] += code == "OK"
    # and good requests still get the model's numbers
    for x in ([0.5, 2.0], [-1.0]):
        r = requests.post(f"{base}/affine:predict", json={"instances": x}, timeout=60)
        counts["wrong_answers"] += r.status_code != 200 or r.json()["predictions"] != [v + 1 for v in x]
    return counts


SMUGGLED = b"GET /v1/models/affine/metadata HTTP/1.1\r\nHost: x\r\n\r\n"
SMUGGLING_HEADS = [
    b"Content-Length : %d\r\n", b"Content-Length\t: %d\r\n", b"X-Note\r\nContent-Length: %d\r\n",
    b"X-Note: a\r\n Content-Length: %d\r\n", b"X-Note: a\rb\r\nContent-Length: %d\r\n", b"Content Length: %d\r\n",
    b"Content-Length: %d\r\nContent-Length: 0\r\n", b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n",
    b"Content-Length: %d\r\n",                              # a GET with a body: read and dropped
]


def smuggling(work: Workspace) -> dict:
    _, base, _ = work.server("toy")
    counts = {"smuggling_tries": 0, "smuggled": 0}
    for head in SMUGGLING_HEADS:
        # kept alive (no Connection: close), so a smuggled second request would be answered
        answer = _raw(_port(base), b"GET /v1/models/affine HTTP/1.1\r\nHost: x\r\n"
                      + (head % len(SMUGGLED) if b"%d" in head else head) + b"\r\n" + SMUGGLED, wait=2.0)
        counts["smuggling_tries"] += 1
        counts["smuggled"] += answer.count(b"HTTP/1.1 ") > 1 or b"signature_def" in answer
    return counts


def deep_brackets(work: Workspace) -> dict:
    import requests

    _, base, _ = work.server("toy")
    started = time.perf_counter()
    status = requests.post(f"{base}/affine:predict", data=_deep(200_000), timeout=120).status_code
    return {"deep_400kb_seconds": round(time.perf_counter() - started, 3), "errors_for_bad_input": int(status >= 500),
            "wrong_answers": int(status == 200)}


def idle_sockets(work: Workspace, count: int = 300) -> dict:
    import requests

    _, base, _ = work.server("toy")
    idle = [socket.create_connection(("127.0.0.1", _port(base)), timeout=10) for _ in range(count)]
    denied, slowest = 0, 0.0
    try:
        for _ in range(5):
            started = time.perf_counter()
            try:
                r = requests.post(f"{base}/affine:predict", json={"instances": [1.0]}, timeout=5)
                denied += r.status_code != 200
            except requests.RequestException:
                denied += 1
            slowest = max(slowest, time.perf_counter() - started)
            for s in idle[:50]:
                s.close()
            idle = idle[50:] + [socket.create_connection(("127.0.0.1", _port(base)), timeout=10) for _ in range(50)]
    finally:
        for s in idle:
            s.close()
    return {"idle_sockets": count, "denied": denied, "slowest_request_seconds": round(slowest, 3)}


def _rss_mb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024


def _peak_growth(pid: int, request: Callable[[], object]):
    """(what ``request`` returned, the process's peak RSS growth in MB while it ran)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")        # reset the high-water mark
    before = _rss_mb(pid)[0]
    answer = request()
    time.sleep(0.3)
    return answer, _rss_mb(pid)[1] - before


def big_bodies(work: Workspace) -> dict:
    """A 16 MB REST body of LeNet-5 images (admitted: its peak must stay within what it reserved)
    and a 57 MB gRPC request of 19,000 images (refused: its peak must stay within one request's budget)."""
    import requests
    import tensorflow as tf

    from lowtf.serve import rest_json
    from lowtf.serve.core.admission import MB, Limits
    from lowtf.serve.core.servable import load_version

    process, base, grpc_port = work.server("lenet")
    pid = process.process.pid
    per_image = load_version(work.root / "lenet" / "lenet" / "1", 1).signatures["serving_default"].bytes_per_example
    rng = np.random.default_rng(0)
    requests.post(f"{base}/lenet:predict", json={"instances": rng.random((2, 28, 28, 1)).tolist()}, timeout=60)
    n = 2300
    body = json.dumps({"instances": rng.random((n, 28, 28, 1)).round(3).tolist()}).encode()
    response, rest_peak = _peak_growth(pid, lambda: requests.post(f"{base}/lenet:predict", data=body, timeout=300))
    budget = (rest_json.amplification(body) * len(body) + n * per_image + n * 784 * 12) / MB
    counts = {"rest_body_mb": round(len(body) / MB, 1), "rest_peak_mb": rest_peak, "rest_budget_mb": round(budget),
              "over_budget": int(rest_peak > budget), "wrong_answers": int(response.status_code != 200),
              "denied": 0}
    images = rng.random((19_000, 28, 28, 1)).astype(np.float32)
    (code, _), grpc_peak = _peak_growth(pid, lambda: _grpc_predict(grpc_port, "lenet",
                                                                   {"images": tf.make_tensor_proto(images)}))
    limit = Limits().request_bytes / MB
    counts.update(grpc_request_mb=round(images.nbytes / MB, 1), grpc_code=code, grpc_peak_mb=grpc_peak,
                  grpc_budget_mb=round(limit))
    counts["over_budget"] += grpc_peak > limit
    counts["wrong_answers"] += code != "RESOURCE_EXHAUSTED"
    return counts


def _register_processes() -> None:
    """Kills and wrappers, orphans counted: lowtf/bench/reliability_processes.py."""
    from lowtf.bench import reliability_processes

    for name, run, slow in reliability_processes.SECTIONS:
        add_section(Section(name, run, slow))


for _section in (Section("bad inputs", bad_inputs), Section("smuggling", smuggling),
                 Section("deep brackets", deep_brackets), Section("idle sockets", idle_sockets),
                 Section("big bodies", big_bodies, slow=True)):
    add_section(_section)
_register_processes()


# -- the tally ----------------------------------------------------------------------------------------------
def tally(quick: bool = False, only: tuple = ()) -> dict:
    """{section name: its counts}, and "total": the sum of each ZERO_KEYS count over all sections."""
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="lowtf-reliability-") as folder:
        work = Workspace(Path(folder))
        try:
            for section in list(SECTIONS):
                if (quick and section.slow) or (only and section.name not in only):
                    continue
                started = time.perf_counter()
                results[section.name] = {**section.run(work), "seconds": round(time.perf_counter() - started, 1)}
        finally:
            work.close()
    results["total"] = {k: sum(r.get(k, 0) for r in results.values()) for k in ZERO_KEYS}
    return results


def print_tally(results: dict, out=print) -> None:
    for name, counts in results.items():
        shown = ", ".join(f"{k} {v}" for k, v in counts.items())
        out(f"{name:>14}: {shown}"[:2000])
    zero = all(v == 0 for v in results["total"].values())
    out("all zero" if zero else "NOT all zero: " + ", ".join(f"{k} {v}" for k, v in results["total"].items() if v))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the slow sections (LeNet-5's big requests)")
    parser.add_argument("--only", nargs="+", default=(), help="run only these sections (names as printed)")
    parser.add_argument("--out", type=Path, help="also write the tally as JSON here")
    args = parser.parse_args(argv)
    from lowtf import console

    console.load_tensorflow()
    results = tally(args.quick, tuple(args.only))
    print_tally(results)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))
    return 0 if all(v == 0 for v in results["total"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
