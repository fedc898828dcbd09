"""``lowtf serve``: load the configured models, then answer REST (and gRPC, with ``--port``) until
interrupted. The two front ends share one ``Models`` (the core) and one ``Predictor``."""
from __future__ import annotations

import dataclasses
import sys
import threading
from typing import Optional

from lowtf.serve.core.manager import Models, ModelStore
from lowtf.serve.core.servable import ServingOptions
from lowtf.serve.limits import FrontOptions, default_threads
from lowtf.serve.metrics import Metrics
from lowtf.serve.model_config import ModelConfig
from lowtf.serve.rest_server import DEFAULT_MAX_BODY, DEFAULT_TIMEOUT_MS, make_server


def load_models(configs: list[ModelConfig], poll_seconds: float, options: ServingOptions = ServingOptions()) -> Models:
    """A store per configured model, each with what it could load now; raises ``StartError``."""
    stores = []
    for config in configs:
        try:
            store = ModelStore(config.base_path, config.name, config.policy, options=options)
        except FileNotFoundError as e:
            raise StartError(str(e)) from None
        if store.current_version is None and store.versions_on_disk():
            reasons = "; ".join(f"version {v}: {why}" for v, why in sorted(store.load_errors.items()))
            raise StartError(f"no version of {config.name} in {config.base_path} could be loaded "
                             f"({reasons or 'no reason was recorded'}); export it again")
        stores.append(store)
    return Models(stores, poll_seconds)


def front_threads(options: ServingOptions, fronts: FrontOptions) -> FrontOptions:
    """The fronts' thread counts, with batching's needs: a request waits for its batch on its
    front's thread (as in TF Serving), so with only the default 4 x CPUs requests at once, batches
    stay small. A count the flags gave is kept."""
    if options.batching is None:
        return fronts
    needed = max(default_threads(), options.batching.request_threads())
    return dataclasses.replace(fronts, rest_threads=fronts.rest_threads or needed,
                               grpc_threads=fronts.grpc_threads or needed)


class StartError(RuntimeError):
    """The server cannot start; the message says why and what to change."""


def serve(configs: list[ModelConfig], port: int = 8501, host: str = "127.0.0.1",
          max_body_bytes: int = DEFAULT_MAX_BODY, poll_seconds: float = 1.0, grpc_port: Optional[int] = None,
          timeout_ms: int = DEFAULT_TIMEOUT_MS, options: ServingOptions = ServingOptions(),
          fronts: FrontOptions = FrontOptions()) -> int:
    """Run until interrupted; prints each model's address once it is listening."""
    try:
        models = load_models(configs, poll_seconds, options)
    except StartError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    fronts = front_threads(options, fronts)
    try:
        metrics = Metrics(fronts.metrics_path) if fronts.metrics_path else None
        server = make_server(models, host, port, max_body_bytes, timeout_ms=timeout_ms,
                             num_threads=fronts.rest_threads, metrics=metrics)
    except OSError as e:
        print(f"error: cannot listen on {host}:{port}: {e.strerror}; choose another --rest_api_port", file=sys.stderr)
        return 2
    grpc_server = None
    if grpc_port is not None:
        if fronts.grpc_server == "aio":
            from lowtf.serve.grpc_aio import AioServer as start_grpc
        else:
            from lowtf.serve.grpc_server import make_grpc_server as start_grpc
        try:
            grpc_server = start_grpc(models, host, grpc_port, fronts.grpc_threads, fronts.grpc_channel_arguments,
                                     metrics)
        except OSError:
            server.server_close()
            print(f"error: cannot listen on {host}:{grpc_port} for gRPC; choose another --port", file=sys.stderr)
            return 2
    for name, store in models.stores.items():
        version = store.current_version if store.current_version is not None else "none yet (waiting for one)"
        print(f"lowtf serve: model {name} version {version} at http://{host}:{port}/v1/models/{name}"
              + (f" and gRPC {host}:{grpc_port}" if grpc_server else ""), flush=True)
    if metrics is not None:
        print(f"lowtf serve: Prometheus metrics at http://{host}:{port}{metrics.path}", flush=True)
    stop = threading.Event()
    threading.Thread(target=models.poll_forever, args=(stop,), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
        if grpc_server is not None:
            grpc_server.stop(grace=2)
    return 0
