"""How fast `lowtf serve` answers, against what the model allows: requests/s and latency over REST and
gRPC, the same model run in this process, the ratios, and where the time goes.

    python -m lowtf.bench.serving [--seconds 5] [--threads 4 16] [--out runs/bench/serving.json]

Exports LeNet-5 (the course's network, untrained: speed does not depend on the weights) as a
SavedModel and takes MNIST test digits scaled to [0, 1] as the requests' images. First, in this
process, it runs the model on one image at a time from the same number of threads as the
clients, once with TensorFlow's default Session threads and once with one thread per op
(`in_process_batch_1`): the rate the model allows, and which Session threading is faster here.
Then it starts `lowtf serve` (REST and gRPC) with that threading, without and with
`--enable_batching` (its defaults; the batches formed and their mean size are read from its
Prometheus page), and drives it from each number of client threads, each on its own
keep-alive connection, for `seconds` per case: one image per request, then 100. The clients
are load generators, cheap beside the server they share the cores with: REST sends the
request's bytes, built once, on a socket and reads the reply by its Content-Length; gRPC calls
TF Serving's PredictionService/Predict (the method its stub calls) with the PredictRequest
serialized once. Their CPU per request is reported. Every 50th answer is parsed and checked
against the model run here (TF Serving's own client and a `requests` client are tested in
tests/test_serve*.py). Then it starts the
server once more with the candidate gRPC front (``--grpc_server=aio``, grpc.aio) for single images.
Last, it times the server's parts of one request on one thread, and prints issue #40's targets
(served single images >= 0.8x (gRPC) and 0.7x (REST) the in-process rate, 100-image REST >= 0.8x
gRPC's images/s, batched serving at 16 clients >= the unbatched model) as met or MISSED. Clients and server share the machine's cores, as
they do when both run on one host; the numbers are for that setting.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

THREADINGS = {"default": (0, 0), "one_per_op": (1, 1)}    # (intra-op, inter-op) Session threads
METRICS_PATH = "/monitoring/prometheus/metrics"


def _export(base: Path) -> None:
    import tensorflow.compat.v1 as tf

    from lowtf.models import lenet5
    from lowtf.serve.export import export_saved_model

    with tf.Graph().as_default():
        tf.set_random_seed(0)
        images = tf.placeholder(tf.float32, [None, 28, 28, 1], name="images")
        logits, _ = lenet5(images, tf.constant(False))
        probabilities = tf.nn.softmax(logits, name="probabilities")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            export_saved_model(sess, base, 1, {"serving_default": ({"images": images},
                                                                   {"probabilities": probabilities})})


def _drive(call, threads: int, seconds: float, images_per_call: int) -> dict:
    """Run ``call(t, i)`` in a loop on ``threads`` threads for ``seconds``; rates and latency percentiles."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    start = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def worker(t: int) -> None:
        start.wait()
        i = 0
        while time.perf_counter() < stop_at[0]:
            began = time.perf_counter()
            try:
                call(t, i)
            except Exception:    # counted, never hidden: the report says how many failed
                errors[t] += 1
            latencies[t].append(time.perf_counter() - began)
            i += 1

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    stop_at[0] = time.perf_counter() + seconds
    start.wait()
    began = time.perf_counter()
    for thread in pool:
        thread.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - began
    all_ms = np.concatenate([np.array(l) for l in latencies]) * 1000
    rate = all_ms.size / elapsed
    return {"requests": int(all_ms.size), "failed": int(sum(errors)), "requests_per_second": round(rate, 1),
            "images_per_second": round(rate * images_per_call, 1),
            "p50_ms": round(float(np.percentile(all_ms, 50)), 2), "p99_ms": round(float(np.percentile(all_ms, 99)), 2)}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc), all its threads together."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _context_switches(pid: int) -> int:
    """Context switches so far of a process's live threads, voluntary (a thread waits: a handoff) and
    not (Linux /proc): a count that other work on the host sways far less than time."""
    total = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            total += sum(int(line.split()[1]) for line in status.read_text().splitlines()
                         if "ctxt_switches:" in line)
        except (OSError, ValueError, IndexError):     # a thread that ended meanwhile
            pass
    return total


def _with_cpu(case, server_pid: int) -> dict:
    """Run a served case; add the CPU milliseconds per request the server and the clients (this process)
    spent, and the server's context switches per request."""
    server_before, clients_before = _cpu_seconds(server_pid), time.process_time()
    switches_before = _context_switches(server_pid)
    result = case()
    requests = max(1, result["requests"])
    return {**result,
            "server_cpu_ms_per_request": round((_cpu_seconds(server_pid) - server_before) * 1000 / requests, 3),
            "client_cpu_ms_per_request": round((time.process_time() - clients_before) * 1000 / requests, 3),
            "server_context_switches_per_request": round(
                (_context_switches(server_pid) - switches_before) / requests, 1)}


def _batch_counts(rest_port: int) -> tuple[int, int]:
    """(batched runs, examples in them) so far, from the server's Prometheus page."""
    import requests

    text = requests.get(f"http://127.0.0.1:{rest_port}{METRICS_PATH}", timeout=30).text
    counts = {}
    for line in text.splitlines():
        for name in (":lowtf:serving:batched_runs", ":lowtf:serving:batched_examples"):
            if line.startswith(name + "{"):
                counts[name] = counts.get(name, 0) + int(line.rsplit(" ", 1)[1])
    return counts.get(":lowtf:serving:batched_runs", 0), counts.get(":lowtf:serving:batched_examples", 0)


def _with_batches(case, rest_port: int) -> dict:
    """Run a served case with batching on; add the batches the server formed and their mean size."""
    runs_before, examples_before = _batch_counts(rest_port)
    result = case()
    runs, examples = (now - before for now, before in zip(_batch_counts(rest_port), (runs_before, examples_before)))
    return {**result, "batched_runs": runs, "mean_batch_size": round(examples / max(1, runs), 2)}


def _in_process_case(model_dir: Path, batch: np.ndarray, threading_: tuple, threads: int, seconds: float) -> dict:
    """The model alone: ``threads`` threads each calling Session.run on ``batch``, no server."""
    from lowtf.serve.core.servable import ServingOptions, load_version

    model = load_version(model_dir / "1", 1, ServingOptions(*threading_))
    try:
        model.run("serving_default", {"images": batch})
        cpu_before = time.process_time()     # this process's CPU, every thread: less swayed by other work than rates
        result = _drive(lambda t, i: model.run("serving_default", {"images": batch}), threads, seconds, len(batch))
        result["cpu_ms_per_run"] = round((time.process_time() - cpu_before) * 1000 / max(1, result["requests"]), 3)
        return result
    finally:
        model.close()


class _KeepAlive:
    """A load generator's HTTP/1.1 client: one kept-alive socket, the request's bytes built once, the
    reply read by its Content-Length. http.client parses every reply's headers with the email parser
    (~0.1 ms); on a host the clients share with the server, that CPU is the server's loss."""

    def __init__(self, port: int, request: bytes):
        self.port, self.request, self.sock, self.buffer = port, request, None, b""

    def post(self) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        try:
            self.sock.sendall(self.request)
            while b"\r\n\r\n" not in self.buffer:
                self._receive()
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            status = int(lines[0].split(b" ", 2)[1])
            length = next(int(line.split(b":", 1)[1]) for line in lines[1:]
                          if line.lower().startswith(b"content-length:"))
            while len(self.buffer) < length:
                self._receive()
            body, self.buffer = self.buffer[:length], self.buffer[length:]
        except (OSError, ValueError, StopIteration):
            self.close()            # reconnects on the next request
            raise
        if any(line.lower() == b"connection: close" for line in lines[1:]):
            self.close()
        return status, body

    def _receive(self) -> None:
        data = self.sock.recv(65536)      # below malloc's mmap threshold: no mapping made and dropped per call
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buffer += data

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _rest_case(port: int, batch: np.ndarray, expected: np.ndarray, threads: int, seconds: float) -> dict:
    body = json.dumps({"instances": batch.tolist()}).encode()
    request = (b"POST /v1/models/lenet5:predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    clients = [_KeepAlive(port, request) for _ in range(threads)]
    wrong = [0]

    def call(t: int, i: int) -> None:
        status, data = clients[t].post()
        if status != 200:
            raise RuntimeError(f"HTTP {status}")
        if i % 50 == 0 and not np.allclose(json.loads(data)["predictions"], expected, atol=1e-5):
            wrong[0] += 1

    result = _drive(call, threads, seconds, len(batch))
    for c in clients:
        c.close()
    return {**result, "wrong_answers_in_checked": wrong[0]}


def _grpc_case(target: str, batch: np.ndarray, expected: np.ndarray, threads: int, seconds: float) -> dict:
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    channels = [grpc.insecure_channel(target) for _ in range(threads)]
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "lenet5"
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(batch))
    # TF Serving's PredictionService/Predict, as its stub calls it, with the request serialized once
    # and the reply parsed only when checked: a load generator's cost, not a client's
    predicts = [c.unary_unary("/tensorflow.serving.PredictionService/Predict") for c in channels]
    serialized = request.SerializeToString()
    wrong = [0]

    def call(t: int, i: int) -> None:
        reply = predicts[t](serialized, timeout=30)
        if i % 50 == 0:
            response = predict_pb2.PredictResponse.FromString(reply)
            if not np.allclose(tf.make_ndarray(response.outputs["probabilities"]), expected, atol=1e-5):
                wrong[0] += 1

    result = _drive(call, threads, seconds, len(batch))
    for c in channels:
        c.close()
    return {**result, "wrong_answers_in_checked": wrong[0]}


def _where_the_time_goes(model_dir: Path, images: dict, threading_: tuple, repeats: int = 200) -> dict:
    """Milliseconds per request for each part the server does, timed here on one thread, for 1 and 100 images."""
    import tensorflow as tf

    from lowtf.serve import rest_json
    from lowtf.serve.core.servable import ServingOptions, load_version
    from tensorflow.core.framework import tensor_pb2

    from lowtf.serve.grpc_server import tensor_values, write_tensor
    from lowtf.serve.tensors import to_array

    model = load_version(model_dir / "1", 1, ServingOptions(*threading_))
    spec = model.signatures["serving_default"].inputs["images"]

    def per_call(fn, n: int) -> float:
        fn()
        began = time.perf_counter()
        for _ in range(n):
            fn()
        return round((time.perf_counter() - began) / n * 1000, 3)

    parts = {}
    for count, batch in images.items():
        n = repeats if count == 1 else max(10, repeats // 20)
        body = json.dumps({"instances": batch.tolist()}).encode()
        parsed = rest_json.parse_predict(body)
        feeds = {"images": to_array(parsed.inputs[None], spec, "images")}
        outputs = model.run("serving_default", feeds)
        proto = tf.make_tensor_proto(batch)
        parts[f"{count}_image"] = {
            "REST: body -> array (rest_json.parse_predict)": per_call(lambda: rest_json.parse_predict(body), n),
            "array checked and converted (tensors.to_array)": per_call(lambda: to_array(parsed.inputs[None], spec, "images"), n),
            "Session.run (the model)": per_call(lambda: model.run("serving_default", feeds), n),
            "REST: outputs -> JSON (rest_json.format_predict)": per_call(lambda: rest_json.format_predict(outputs, True), n),
            "gRPC: TensorProto -> array (tensor_values)": per_call(lambda: tensor_values(proto, "images"), n),
            "gRPC: outputs -> TensorProto (write_tensor)": per_call(
                lambda: write_tensor(outputs["probabilities"], tensor_pb2.TensorProto()), n)}
    model.close()
    return parts


def _ratios(report: dict, thread_counts: list[int]) -> dict:
    """What the issue's targets compare: served single-image rates over the model's own, REST's
    images/s over gRPC's for 100-image requests, and batched serving over the unbatched model."""
    best = report["best_threading"]
    ratios = {}
    for threads in thread_counts:
        alone = report[f"in_process_batch_1_{best}_t{threads}"]["requests_per_second"]
        for api in ("grpc", "rest"):
            for tag in ("", "_batching"):
                served = report[f"{api}_batch_1{tag}_t{threads}"]["images_per_second"]
                ratios[f"{api}_batch_1{tag}_t{threads} / in_process_batch_1_t{threads}"] = round(served / alone, 3)
    t = thread_counts[0]
    run_cpu = report[f"in_process_batch_1_{best}_t{t}"]["cpu_ms_per_run"]
    for api in ("grpc", "rest"):      # CPU per request: what the front adds, less swayed by other work on the host
        ratios[f"{api}_batch_1_t{t} server CPU per request / in-process CPU per run"] = round(
            report[f"{api}_batch_1_t{t}"]["server_cpu_ms_per_request"] / max(run_cpu, 1e-9), 3)
    t16 = 16 if 16 in thread_counts else thread_counts[-1]
    run_cpu16 = report[f"in_process_batch_1_{best}_t{t16}"]["cpu_ms_per_run"]
    for api in ("grpc", "rest"):      # batching's gain in CPU: served (server and clients) per image against a run
        case = report[f"{api}_batch_1_batching_t{t16}"]
        ratios[f"{api}_batch_1_batching_t{t16} CPU per image (server + clients) / in-process CPU per run"] = round(
            (case["server_cpu_ms_per_request"] + case["client_cpu_ms_per_request"]) / max(run_cpu16, 1e-9), 3)
    ratios[f"rest_batch_100_t{t} / grpc_batch_100_t{t} (images/s)"] = round(
        report[f"rest_batch_100_t{t}"]["images_per_second"] / report[f"grpc_batch_100_t{t}"]["images_per_second"], 3)
    return ratios


# The targets (#40): (what, ratio key, at least)
TARGETS = [("gRPC single images, 4 clients, vs in-process", "grpc_batch_1_t{t} / in_process_batch_1_t{t}", 0.8),
           ("REST single images, 4 clients, vs in-process", "rest_batch_1_t{t} / in_process_batch_1_t{t}", 0.7),
           ("REST 100-image images/s vs gRPC's", "rest_batch_100_t{t} / grpc_batch_100_t{t} (images/s)", 0.8),
           ("16 clients, batching on, vs unbatched in-process",
            "best_served_batching_t{t16} / in_process_batch_1_t{t16}", 1.0)]


def host() -> str:
    """The machine the numbers were taken on: CPU model, cores, and an ISA cap if one is set."""
    model = "unknown CPU"
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA")
    return f"{os.cpu_count()} cores of {model}" + (f", ONEDNN_MAX_CPU_ISA={isa}" if isa else "")


def targets(report: dict) -> list[dict]:
    """Each of the issue's targets with the ratio measured in this run, and whether it was met."""
    counts = report["thread_counts"]
    t, t16 = counts[0], (16 if 16 in counts else counts[-1])
    ratios = dict(report["ratios"])
    alone = report[f"in_process_batch_1_{report['best_threading']}_t{t16}"]["images_per_second"]
    served = max(report[f"{api}_batch_1_batching_t{t16}"]["images_per_second"] for api in ("grpc", "rest"))
    ratios[f"best_served_batching_t{t16} / in_process_batch_1_t{t16}"] = round(served / alone, 3)
    rows = []
    for what, key, at_least in TARGETS:
        value = ratios.get(key.format(t=t, t16=t16))
        rows.append({"target": what, "ratio": value, "at_least": at_least,
                     "met": value is not None and value >= at_least})
    return rows


def measure_serving(seconds: float = 5.0, thread_counts: tuple = (4, 16), out: Path | None = None,
                    say=print) -> dict:
    """The benchmark described in the module docstring; returns (and writes to ``out``) its report."""
    from lowtf.data.splits import load_splits
    from lowtf.ports import free_ports
    from lowtf.serve.core.servable import load_version
    from lowtf.serve.process import start_server

    # Real test digits scaled to [0, 1], as a client sends them: mostly 0.0, so a short JSON body.
    test = load_splits("mnist", validation_size=0).test.images[:100].astype(np.float32) / 255.0
    images = {1: test[:1], 100: test}
    thread_counts = list(thread_counts)
    report: dict = {"thread_counts": thread_counts, "seconds_per_case": seconds, "cpu_count": os.cpu_count(),
                    "host": host()}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "lenet5"
        _export(base)
        reference = load_version(base / "1", 1)
        expected = {n: reference.run("serving_default", {"images": x})["probabilities"] for n, x in images.items()}
        reference.close()

        def record(name: str, result: dict) -> None:
            report[name] = result
            say(f"{name:34s} {result['requests_per_second']:8.1f} req/s {result['images_per_second']:9.1f} img/s"
                f"  p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms"
                + (f"  (CPU ms/run {result['cpu_ms_per_run']})" if "cpu_ms_per_run" in result else "")
                + (f"  ({result['failed']} failed, {result['wrong_answers_in_checked']} wrong; CPU ms/request: "
                   f"server {result['server_cpu_ms_per_request']}, clients {result['client_cpu_ms_per_request']}; "
                   f"server context switches {result['server_context_switches_per_request']}/request)"
                   if "wrong_answers_in_checked" in result else "")
                + (f"  (batches of {result['mean_batch_size']} on average)" if "mean_batch_size" in result else ""))

        for threads in thread_counts:
            for name, threading_ in THREADINGS.items():
                record(f"in_process_batch_1_{name}_t{threads}",
                       _in_process_case(base, images[1], threading_, threads, seconds))
        for name, threading_ in THREADINGS.items():     # what one thread per op costs a lone large request
            record(f"in_process_batch_100_{name}_t1", _in_process_case(base, images[100], threading_, 1, seconds))
        first = thread_counts[0]
        best = max(THREADINGS, key=lambda name: report[f"in_process_batch_1_{name}_t{first}"]["requests_per_second"])
        report["best_threading"] = best
        intra, inter = THREADINGS[best]
        say(f"best Session threading here for single images from {first} threads: {best} "
            f"(intra-op {intra}, inter-op {inter}); the server runs with it")
        rest, grpc_port = free_ports(2)
        flags = [f"--model_base_path={base}", "--model_name=lenet5", f"--rest_api_port={rest}", f"--port={grpc_port}",
                 f"--tensorflow_intra_op_parallelism={intra}", f"--tensorflow_inter_op_parallelism={inter}"]
        monitoring = Path(tmp) / "monitoring.config"
        monitoring.write_text(f'prometheus_config {{ enable: true path: "{METRICS_PATH}" }}\n')
        for batching in (False, True):
            tag = "_batching" if batching else ""
            # with batching, the server's default batching (lowtf serve --enable_batching, no parameters
            # file), and its Prometheus page for the batches it formed
            extra = ["--enable_batching", f"--monitoring_config_file={monitoring}"] if batching else []
            with start_server(flags + extra, rest, "lenet5") as server:
                pid, target = server.process.pid, f"127.0.0.1:{grpc_port}"

                def counted(case):
                    return _with_batches(lambda: _with_cpu(case, pid), rest) if batching else _with_cpu(case, pid)

                for threads in thread_counts:
                    record(f"rest_batch_1{tag}_t{threads}", counted(
                        lambda: _rest_case(rest, images[1], expected[1], threads, seconds)))
                    record(f"grpc_batch_1{tag}_t{threads}", counted(
                        lambda: _grpc_case(target, images[1], expected[1], threads, seconds)))
                if not batching:    # a 100-image request already fills a batch
                    record(f"rest_batch_100_t{first}", _with_cpu(
                        lambda: _rest_case(rest, images[100], expected[100], first, seconds), pid))
                    record(f"grpc_batch_100_t{first}", _with_cpu(
                        lambda: _grpc_case(target, images[100], expected[100], first, seconds), pid))
        # the candidate gRPC front (grpc.aio), on the same model, in the same run
        with start_server(flags + ["--grpc_server=aio"], rest, "lenet5") as server:
            pid, target = server.process.pid, f"127.0.0.1:{grpc_port}"
            for threads in thread_counts[:1]:
                record(f"grpc_aio_batch_1_t{threads}", _with_cpu(
                    lambda: _grpc_case(target, images[1], expected[1], threads, seconds), pid))
        report["ratios"] = _ratios(report, thread_counts)
        for threads in thread_counts[:1]:
            alone = report[f"in_process_batch_1_{best}_t{threads}"]["requests_per_second"]
            report["ratios"][f"grpc_aio_batch_1_t{threads} / in_process_batch_1_t{threads}"] = round(
                report[f"grpc_aio_batch_1_t{threads}"]["requests_per_second"] / alone, 3)
        report["targets"] = targets(report)
        report["request_parts_ms"] = _where_the_time_goes(base, images, THREADINGS[best])
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per case (default 5)")
    parser.add_argument("--threads", type=int, nargs="+", default=[4, 16], help="client thread counts (default 4 16)")
    parser.add_argument("--out", default="runs/bench/serving.json")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists() and out.is_dir():
        parser.error(f"--out {out} is a folder; give a file name")
    from lowtf.console import load_tensorflow

    load_tensorflow()
    print(f"host: {host()} (other work on the machine inflates every number; compare ratios within one run)")
    report = measure_serving(args.seconds, tuple(args.threads), out)
    print("ratios:")
    for name, value in report["ratios"].items():
        print(f"  {name:58s} {value:6.3f}")
    print("server-side parts of one request, ms (one thread):")
    for size, parts in report["request_parts_ms"].items():
        print(f"  {size}: " + ", ".join(f"{k} {v}" for k, v in parts.items()))
    print("the issue's targets, from this run:")
    for row in report["targets"]:
        print(f"  {row['target']:50s} {row['ratio']!s:>6} (>= {row['at_least']}) "
              + ("met" if row["met"] else "MISSED"))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
