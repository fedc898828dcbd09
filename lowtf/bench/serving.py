"""How fast `lowtf serve` answers: requests/s and latency over REST and gRPC, and where the time goes.

    python -m lowtf.bench.serving [--seconds 10] [--threads 4] [--out runs/bench/serving.json]

Exports LeNet-5 (the course's network, untrained: speed does not depend on the weights) as a
SavedModel, takes MNIST test digits scaled to [0, 1] as the requests' images, starts `lowtf serve` in its own process with REST and gRPC, and drives it from
``threads`` client threads, each on its own keep-alive connection (a ``requests.Session`` or a
gRPC channel), for ``seconds`` per case: one image per request, then 100. Every answer is
checked against the model run in this process. Then it times, in this process, the parts of
one REST request the server does (JSON decoding, the Session run, JSON encoding) to say where
the time goes. Clients and server share the machine's cores, as they do when both run on
one host; the numbers are for that setting.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


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


def _drive(call, threads: int, seconds: float) -> dict:
    """Run ``call(i)`` in a loop on ``threads`` threads for ``seconds``; return req/s and latency percentiles."""
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
    return {"requests": int(all_ms.size), "failed": int(sum(errors)), "requests_per_second": round(all_ms.size / elapsed, 1),
            "p50_ms": round(float(np.percentile(all_ms, 50)), 2), "p99_ms": round(float(np.percentile(all_ms, 99)), 2)}


def _rest_case(url: str, batch: np.ndarray, expected: np.ndarray, threads: int, seconds: float) -> dict:
    import requests

    sessions = [requests.Session() for _ in range(threads)]
    body = json.dumps({"instances": batch.tolist()}).encode()   # bytes, as requests' json= sends (a str is 4x slower)
    wrong = [0]

    def call(t: int, i: int) -> None:
        reply = sessions[t].post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)
        reply.raise_for_status()
        if i % 50 == 0 and not np.allclose(reply.json()["predictions"], expected, atol=1e-5):
            wrong[0] += 1

    result = _drive(call, threads, seconds)
    for s in sessions:
        s.close()
    return {**result, "wrong_answers_in_checked": wrong[0]}


def _grpc_case(target: str, batch: np.ndarray, expected: np.ndarray, threads: int, seconds: float) -> dict:
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    channels = [grpc.insecure_channel(target) for _ in range(threads)]
    stubs = [prediction_service_pb2_grpc.PredictionServiceStub(c) for c in channels]
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "lenet5"
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(batch))
    wrong = [0]

    def call(t: int, i: int) -> None:
        response = stubs[t].Predict(request, timeout=30)
        if i % 50 == 0 and not np.allclose(tf.make_ndarray(response.outputs["probabilities"]), expected, atol=1e-5):
            wrong[0] += 1

    result = _drive(call, threads, seconds)
    for c in channels:
        c.close()
    return {**result, "wrong_answers_in_checked": wrong[0]}


def _where_the_time_goes(model_dir: Path, image: np.ndarray, repeats: int = 300) -> dict:
    """Milliseconds per single-image request for each part the server does, timed here on one thread."""
    import orjson

    from lowtf.serve.model_store import load_version
    from lowtf.serve.predict_request import format_predict, parse_predict

    model = load_version(model_dir / "1", 1)
    signature = model.signatures["serving_default"]
    body = json.dumps({"instances": image.tolist()}).encode()

    def per_call(fn) -> float:
        fn()
        began = time.perf_counter()
        for _ in range(repeats):
            fn()
        return round((time.perf_counter() - began) / repeats * 1000, 3)

    parsed = orjson.loads(body)
    feeds, fmt = parse_predict(parsed, signature)
    outputs = model.run("serving_default", feeds)
    parts = {"orjson.loads of the body": per_call(lambda: orjson.loads(body)),
             "request -> numpy (parse_predict)": per_call(lambda: parse_predict(parsed, signature)),
             "Session.run (the model)": per_call(lambda: model.run("serving_default", feeds)),
             "numpy -> JSON reply": per_call(lambda: json.dumps(format_predict(outputs, fmt)).encode())}
    model.session.close()
    return parts


def measure_serving(seconds: float = 10.0, threads: int = 4, out: Path | None = None) -> dict:
    """The benchmark described in the module docstring; returns (and writes to ``out``) its report."""
    from lowtf.ports import free_ports
    from lowtf.serve.model_store import load_version
    from lowtf.serve.process import start_server

    from lowtf.data.splits import load_splits

    # Real test digits scaled to [0, 1], as a client sends them: mostly 0.0, so a short JSON body.
    test = load_splits("mnist", validation_size=0).test.images[:100].astype(np.float32) / 255.0
    one, hundred = test[:1], test
    report: dict = {"threads": threads, "seconds_per_case": seconds, "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "lenet5"
        _export(base)
        reference = load_version(base / "1", 1)
        expected = {n: reference.run("serving_default", {"images": x})["probabilities"]
                    for n, x in ((1, one), (100, hundred))}
        reference.session.close()
        rest, grpc_port = free_ports(2)
        flags = [f"--model_base_path={base}", "--model_name=lenet5", f"--rest_api_port={rest}", f"--port={grpc_port}"]
        for batching in (False, True):
            tag = "_batching" if batching else ""
            with start_server(flags + (["--enable_batching"] if batching else []), rest, "lenet5") as server:
                url = server.url("lenet5") + ":predict"
                for n, batch in ((1, one), (100, hundred)):
                    if batching and n == 100:
                        continue     # a 100-image request already fills a batch
                    report[f"rest_batch_{n}{tag}"] = _rest_case(url, batch, expected[n], threads, seconds)
                    report[f"grpc_batch_{n}{tag}"] = _grpc_case(f"127.0.0.1:{grpc_port}", batch, expected[n], threads,
                                                               seconds)
        report["single_image_request_parts_ms"] = _where_the_time_goes(base, one)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per case (default 10)")
    parser.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--out", default="runs/bench/serving.json")
    args = parser.parse_args(argv)
    from lowtf.console import load_tensorflow

    load_tensorflow()
    report = measure_serving(args.seconds, args.threads, Path(args.out))
    for case in ("rest_batch_1", "grpc_batch_1", "rest_batch_1_batching", "grpc_batch_1_batching",
                 "rest_batch_100", "grpc_batch_100"):
        r = report[case]
        print(f"{case:22s} {r['requests_per_second']:8.1f} req/s  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms"
              f"  ({r['requests']} requests, {r['failed']} failed, {r['wrong_answers_in_checked']} wrong)")
    print("one REST request, server-side parts (ms):", report["single_image_request_parts_ms"])
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
