"""A REST server that speaks TF Serving's API, so TF Serving clients work unchanged.

    GET  /v1/models/NAME[/versions/V]            model version status
    GET  /v1/models/NAME[/versions/V]/metadata   signature defs
    POST /v1/models/NAME[/versions/V]:predict    {"instances": ...} or {"inputs": ...}

Errors are ``{"error": "..."}`` with 400 (bad JSON, wrong shape or dtype, missing input),
404 (unknown model, version or signature), 413 (body over the limit), 501 (classify and
regress), 503 (busy), 504 (past ``--rest_api_timeout_in_ms``). Requests run on threads; a bad
request never takes the server down.
"""
from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

import orjson
import tensorflow.compat.v1 as tf

from lowtf.serve.export import DEFAULT_SIGNATURE
from lowtf.serve.model_config import ModelConfig
from lowtf.serve.model_store import Batching, Models, ModelStore, NotFound
from lowtf.serve.predict_request import BadRequest, format_predict, parse_predict

ROUTE = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[0-9]{1,18}))?"
                   r"(?P<verb>/metadata|:predict|:classify|:regress)?/?$")
DEFAULT_MAX_BODY = 16 * 1024 * 1024
DECODING_AT_ONCE = 2        # requests whose JSON is decoded at the same time (a 16 MB body costs ~1.4 GB)
IDLE_SECONDS = 30           # a kept-alive connection with no request for this long is closed
DEFAULT_TIMEOUT_MS = 30000  # TF Serving's --rest_api_timeout_in_ms default


class HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    server_version = "lowtf-serve/0.1"
    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS

    # -- plumbing -------------------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes; with Nagle's algorithm on, the second waits
        # for the client's delayed ACK (~40 ms per request on Linux). Small replies need NODELAY.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
        """http.server's own errors (414, 431, 400 for a bad request line, 501 for a method) as JSON too."""
        self.close_connection = True
        try:
            self._reply(code, {"error": message or self.responses.get(code, ("Error",))[0]})
        except OSError:
            pass

    def _discard_body(self) -> None:
        """Read an unread request body (or close the connection), so it is never parsed as the next request."""
        if self.command != "POST" or getattr(self, "_body_read", False):
            return
        length = self.headers.get("Content-Length", "")
        if length.isascii() and length.isdigit() and int(length) <= self.server.max_body_bytes:
            self.rfile.read(int(length))
        else:
            self.close_connection = True
        self._body_read = True

    def _reply(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self._status = status

    def _route(self):
        match = ROUTE.match(self.path.split("?", 1)[0])
        if not match:
            raise HttpError(404, f"Malformed request: {self.command} {self.path}; "
                                 "expected /v1/models/NAME[/versions/N][:predict|/metadata]")
        store = self.server.models[match["name"]]
        return store, (int(match["version"]) if match["version"] else None), match["verb"] or ""

    def _handle(self, action) -> None:
        started = time.perf_counter()
        self._status = 500
        self._body_read = False
        self._started = started
        try:
            action()
        except HttpError as e:
            self._discard_body()
            self._reply(e.status, {"error": str(e)})
        except NotFound as e:
            self._discard_body()
            self._reply(404, {"error": str(e)})
        except BadRequest as e:
            self._reply(400, {"error": str(e)})
        except (tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError) as e:
            self._reply(400, {"error": e.message.splitlines()[0]})
        except tf.errors.DeadlineExceededError:
            self._discard_body()         # the time may have run out before the body was read
            self._reply(504, {"error": f"Deadline exceeded: the request took over {self.server.timeout_ms} ms "
                                       "(--rest_api_timeout_in_ms)"})
        except Exception as e:  # the server must survive anything a request triggers; say what, no paths
            self._discard_body()
            self._reply(500, {"error": f"{type(e).__name__} while serving the request"})
            sys.stderr.write(f"lowtf serve: {type(e).__name__}: {e}\n")
        finally:
            ms = (time.perf_counter() - started) * 1000
            sys.stderr.write(f"{self.address_string()} {self.command} {self.path} {self._status} {ms:.1f}ms\n")

    def log_message(self, format, *args):  # one line per request is written by _handle instead
        pass

    # -- endpoints ------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._handle(self._get)

    def do_POST(self) -> None:
        self._handle(self._post)

    def _get(self) -> None:
        store, version, verb = self._route()
        model = store.get(version)
        if verb == "":
            versions = [version] if version is not None else reversed(store.serving_versions)
            self._reply(200, {"model_version_status": [{"version": str(v), "state": "AVAILABLE",
                                                        "status": {"error_code": "OK", "error_message": ""}}
                                                       for v in versions]})
        elif verb == "/metadata":
            defs = {name: {"inputs": {k: s.to_json() for k, s in sig.inputs.items()},
                           "outputs": {k: s.to_json() for k, s in sig.outputs.items()},
                           "method_name": sig.method_name} for name, sig in model.signatures.items()}
            self._reply(200, {"model_spec": {"name": store.name, "signature_name": "", "version": str(model.version)},
                              "metadata": {"signature_def": {"signature_def": defs}}})
        else:
            raise HttpError(405, f"{verb} needs POST")

    def _read_json(self):
        length = self.headers.get("Content-Length")
        if length is None or not (length.isascii() and length.isdigit()):
            self.close_connection = True
            self._body_read = True
            raise HttpError(411 if length is None else 400,
                            "Malformed request: a Content-Length header of ASCII digits is required")
        if int(length) > self.server.max_body_bytes:
            self.close_connection = True  # the unread body must not be parsed as the next request
            raise HttpError(413, f"Request body of {length} bytes is over the limit of "
                                 f"{self.server.max_body_bytes} bytes; send fewer instances per request")
        raw = self.rfile.read(int(length))
        self._body_read = True
        try:
            return orjson.loads(raw)    # 2-3x faster than json.loads on arrays of numbers (measured)
        except orjson.JSONDecodeError as e:
            raise HttpError(400, f"JSON Parse error: {e}") from None

    def _remaining_ms(self) -> Optional[int]:
        """Milliseconds left of ``--rest_api_timeout_in_ms`` for this request (None: no limit)."""
        if not self.server.timeout_ms:
            return None
        left = self.server.timeout_ms - int((time.perf_counter() - self._started) * 1000)
        if left <= 0:
            raise tf.errors.DeadlineExceededError(None, None, "deadline exceeded")
        return left

    def _post(self) -> None:
        store, version, verb = self._route()
        if verb in (":classify", ":regress"):
            self._read_json()
            raise HttpError(501, f"{verb[1:]} is not implemented by lowtf serve; use :predict")
        if verb != ":predict":
            raise HttpError(405, "POST is for :predict")
        # At most DECODING_AT_ONCE bodies are decoded and run at a time: the others wait their turn
        # (up to a minute, then 503) instead of all holding their decoded copies in memory at once.
        wait = self._remaining_ms()
        if not self.server.decoding.acquire(timeout=60 if wait is None else wait / 1000):
            if wait is not None:
                self._remaining_ms()     # raises DeadlineExceeded when the time is up
            raise HttpError(503, "the server is busy; try again")
        try:
            body = self._read_json()
            signature = body.get("signature_name", DEFAULT_SIGNATURE) if isinstance(body, dict) else DEFAULT_SIGNATURE
            if not isinstance(signature, str):
                raise HttpError(400, f"signature_name must be a string, got {type(signature).__name__}")
            with store.use(version) as model:
                if signature not in model.signatures:
                    raise NotFound(f"Serving signature name: \"{signature}\" not found in signature def; "
                                   f"available: {sorted(model.signatures)}")
                feeds, fmt = parse_predict(body, model.signatures[signature])
                outputs = model.run(signature, feeds, timeout_ms=self._remaining_ms())
        finally:
            self.server.decoding.release()
        self._reply(200, format_predict(outputs, fmt))


class _Server(ThreadingHTTPServer):
    request_queue_size = 128    # the listen backlog (socketserver's default is 5)
    daemon_threads = True


def make_server(models: Models, host: str = "127.0.0.1", port: int = 8501,
                max_body_bytes: int = DEFAULT_MAX_BODY, idle_seconds: float = IDLE_SECONDS,
                timeout_ms: int = DEFAULT_TIMEOUT_MS) -> ThreadingHTTPServer:
    """A REST server for ``models`` (not yet serving: call ``serve_forever``); ``timeout_ms`` 0: no limit."""
    handler = type("Handler", (Handler,), {"timeout": idle_seconds})
    server = _Server((host, port), handler)
    server.daemon_threads = True
    server.models, server.max_body_bytes, server.timeout_ms = models, max_body_bytes, timeout_ms
    server.decoding = threading.BoundedSemaphore(DECODING_AT_ONCE)
    return server


def load_models(configs: list[ModelConfig], poll_seconds: float, batching: Optional[Batching] = None) -> Models:
    """A store per configured model, each with what it could load now; raises ``StartError``."""
    stores = []
    for config in configs:
        try:
            store = ModelStore(config.base_path, config.name, config.policy, batching=batching)
        except FileNotFoundError as e:
            raise StartError(str(e)) from None
        if store.current_version is None and store.versions_on_disk():
            raise StartError(f"no version of {config.name} in {config.base_path} could be loaded "
                             "(the reasons are above); export it again")
        stores.append(store)
    return Models(stores, poll_seconds)


class StartError(RuntimeError):
    """The server cannot start; the message says why and what to change."""


def serve(configs: list[ModelConfig], port: int = 8501, host: str = "127.0.0.1",
          max_body_bytes: int = DEFAULT_MAX_BODY, poll_seconds: float = 1.0, grpc_port: Optional[int] = None,
          timeout_ms: int = DEFAULT_TIMEOUT_MS, batching: Optional[Batching] = None) -> int:
    """Run until interrupted; prints each model's address once it is listening."""
    try:
        models = load_models(configs, poll_seconds, batching)
    except StartError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        server = make_server(models, host, port, max_body_bytes, timeout_ms=timeout_ms)
    except OSError as e:
        print(f"error: cannot listen on {host}:{port}: {e.strerror}; choose another --rest_api_port", file=sys.stderr)
        return 2
    grpc_server = None
    if grpc_port is not None:
        from lowtf.serve.grpc_server import make_grpc_server

        try:
            grpc_server = make_grpc_server(models, host, grpc_port)
        except OSError:
            server.server_close()
            print(f"error: cannot listen on {host}:{grpc_port} for gRPC; choose another --port", file=sys.stderr)
            return 2
    for name, store in models.stores.items():
        version = store.current_version if store.current_version is not None else "none yet (waiting for one)"
        print(f"lowtf serve: model {name} version {version} at http://{host}:{port}/v1/models/{name}"
              + (f" and gRPC {host}:{grpc_port}" if grpc_server else ""), flush=True)
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
