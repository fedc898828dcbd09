"""TF Serving's REST API over HTTP: this module only translates between HTTP and the predictor.

    GET  /v1/models/NAME[/versions/V]                        model version status
    GET  /v1/models/NAME[/versions/V]/metadata               signature defs
    POST /v1/models/NAME[/versions/V]:predict                {"instances": ...} or {"inputs": ...}
    POST /v1/models/NAME[/versions/V]:classify | :regress    {"examples": [...], "context": {...}}

Bodies become calls in ``rest_json``, the ``Predictor`` answers them (the same one gRPC calls),
and errors are ``{"error": "..."}`` with the HTTP status of their code (``errors.HTTP_STATUS``):
400 (bad JSON, wrong shape or dtype, missing input), 404 (unknown model, version or signature),
413 (body over the limit), 503 (busy), 504 (past ``--rest_api_timeout_in_ms``). What is left here
is HTTP's own defence: a deadline for a request to arrive, ambiguous framing and malformed header
lines refused (``http_head``), a cap on connections that idle ones cannot fill (the longest idle
makes room for a new one), and a memory budget for decoding bodies. Requests run on threads; a bad request
never takes the server down.
"""
from __future__ import annotations

import email.utils
import http.client
import io
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional

from lowtf.serve import http_head, rest_json
from lowtf.serve.core.admission import MemoryBudget  # noqa: F401  (the budget's class, once defined here)
from lowtf.serve.core.manager import Models
from lowtf.serve.errors import HTTP_STATUS, DeadlineExceeded, ServingError, Unavailable
from lowtf.serve.limits import RequestSlots, default_threads
from lowtf.serve.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE, Metrics, record_rest
from lowtf.serve.predictor import ExamplesCall, PredictCall, Predictor

DEFAULT_MAX_BODY = 16 * 1024 * 1024
# Decoding a body holds objects many times its size (rest_json.decoding_bytes): each request
# reserves that before decoding from the memory budget the model runs share
# (core.admission.Limits.total_bytes), so all decoding and running at once stays within it; a
# body too large for the budget decodes alone.
IDLE_SECONDS = 30           # a kept-alive connection with no request for this long is closed
REQUEST_SECONDS = 30        # from its first byte, a whole request (line, headers, body) must arrive in this time
MAX_CONNECTIONS = 256       # open connections (a thread each); one more evicts the longest idle, else 503
EVICTION_SECONDS = 2.0      # how long a new connection waits for an evicted one's thread to end
DEFAULT_TIMEOUT_MS = 30000  # TF Serving's --rest_api_timeout_in_ms default


class HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class _DeadlineReader(io.RawIOBase):
    """A connection's reading end whose every recv waits at most until the current request's deadline
    (between requests: the idle limit), so a client trickling one byte at a time cannot hold it for ever."""

    def __init__(self, sock: socket.socket, idle: float):
        self.sock, self.idle, self.deadline = sock, idle, None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.deadline is None:
            wait = self.idle
        else:
            wait = self.deadline - time.monotonic()
            if wait <= 0:
                raise TimeoutError("the request took too long to arrive")
        self.sock.settimeout(wait)
        return self.sock.recv_into(buffer)


class Handler(BaseHTTPRequestHandler):
    server_version = "lowtf-serve/0.1"
    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS
    request_seconds = REQUEST_SECONDS

    # -- plumbing -------------------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        # A reply leaves in one write (_reply), but 100-continue and a slow client's partial sends
        # make more; with Nagle's algorithm on, a second small write waits for the client's
        # delayed ACK (~40 ms on Linux). Small replies need NODELAY.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader = _DeadlineReader(self.connection, self.timeout)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        """Wait (up to the idle limit) for the next request to begin; from its first byte, give the whole
        request ``request_seconds`` to arrive. While it waits the connection is idle, and the server
        may close it to make room for a new one (``_Server.process_request``)."""
        self._reader.deadline = None
        self.server.mark_idle(self)     # while idle, a new connection may take this one's place
        try:
            arrived = bool(self.rfile.peek(1))
        except OSError:             # the idle limit passed, the client went away, or we were evicted
            arrived = False
        if not (self.server.mark_busy(self) and arrived):
            self.close_connection = True
            return
        self._reader.deadline = time.monotonic() + self.request_seconds
        super().handle_one_request()

    def parse_request(self) -> bool:
        """The request line as http.server reads it, then the header lines, each checked as written
        (``http_head``: a line Python's lenient email parser would misread is a 400, and the
        connection is closed) and kept in ``http_head.Fields`` instead of the email parser's
        message (~80 us of a request). Connection and Expect are handled as http.server does."""
        if not self._parse_request_line():
            return False
        try:
            lines = http_head.read_lines(self.rfile)
        except http.client.LineTooLong as err:
            self.send_error(431, "Line too long", str(err))
            return False
        except http.client.HTTPException as err:
            self.send_error(431, "Too many headers", str(err))
            return False
        problem = http_head.field_problem(lines)
        if problem:
            self.close_connection = True
            self.send_error(400, problem)
            return False
        self.headers = http_head.Fields(lines)
        connection = self.headers.get("Connection", "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        if (self.headers.get("Expect", "").lower() == "100-continue"
                and self.request_version >= "HTTP/1.1" and not self.handle_expect_100()):
            return False
        return True

    def _parse_request_line(self) -> bool:
        """``self.raw_requestline`` into command, path and version, exactly as Python 3.11's
        ``BaseHTTPRequestHandler.parse_request`` does before it reads the headers."""
        self.command = None
        self.request_version = version = self.default_request_version
        self.close_connection = True
        self.requestline = requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if not words:
            return False
        if len(words) >= 3:
            version = words[-1]
            try:
                if not version.startswith("HTTP/"):
                    raise ValueError
                base_version_number = version.split("/", 1)[1]
                numbers = base_version_number.split(".")
                if len(numbers) != 2 or any(not n.isdigit() or len(n) > 10 for n in numbers):
                    raise ValueError
                version_number = int(numbers[0]), int(numbers[1])
            except (ValueError, IndexError):
                self.send_error(400, f"Bad request version ({version!r})")
                return False
            if version_number >= (1, 1):
                self.close_connection = False
            if version_number >= (2, 0):
                self.send_error(505, f"Invalid HTTP version ({base_version_number})")
                return False
            self.request_version = version
        if not 2 <= len(words) <= 3:
            self.send_error(400, f"Bad request syntax ({requestline!r})")
            return False
        command, path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if command != "GET":
                self.send_error(400, f"Bad HTTP/0.9 request type ({command!r})")
                return False
        self.command, self.path = command, path
        if self.path.startswith("//"):      # gh-87389: //path would read as a host to a client
            self.path = "/" + self.path.lstrip("/")
        return True

    def _body_arrived(self) -> None:
        """The request is read: replies are written with the ordinary idle limit, not what is left of it."""
        self._reader.deadline = None
        self.connection.settimeout(self.timeout)

    def _check_framing(self) -> None:
        """Refuse a request whose body length is ambiguous, and close: a body read one way by us and another
        way by a proxy in front would let one request hide a second (request smuggling)."""
        lengths = self.headers.get_all("Content-Length") or []
        chunked = self.headers.get_all("Transfer-Encoding") or []
        if chunked or len(lengths) > 1:
            self.close_connection = True
            self._body_read = True      # never read or parse a body we cannot delimit
            if chunked and lengths:
                raise HttpError(400, "Malformed request: both Transfer-Encoding and Content-Length; send only "
                                     "Content-Length")
            if chunked:
                raise HttpError(411, "Transfer-Encoding is not supported; send the body with a Content-Length")
            raise HttpError(400, f"Malformed request: {len(lengths)} Content-Length headers; send one")

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
        """http.server's own errors (414, 431, 400 for a bad request line, 501 for a method) as JSON too."""
        self.close_connection = True
        try:
            self._reply(code, {"error": message or self.responses.get(code, ("Error",))[0]})
        except OSError:
            pass

    def _discard_body(self) -> None:
        """Read an unread request body, whatever the method (or close the connection), so it is never
        parsed as the next request."""
        if getattr(self, "_body_read", False) or self.headers is None:
            return
        self._body_read = True
        length = self.headers.get("Content-Length", "0").strip(" \t")     # OWS is no part of a value
        if not (length.isascii() and length.isdigit() and int(length) <= self.server.max_body_bytes):
            self.close_connection = True
            return
        try:
            self.rfile.read(int(length))
        except OSError:
            self.close_connection = True

    def _reply(self, status: int, payload: dict | bytes, content_type: str = "application/json") -> None:
        """Status line, headers (those http.server's send_response writes, Server and Date, first)
        and body in one write: one system call, and no small second packet for Nagle to hold."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        if self.request_version == "HTTP/0.9":      # as http.server: no status line or headers
            self.wfile.write(body)
        else:
            head = (f"{self.protocol_version} {status} {self.responses.get(status, ('',))[0]}\r\n"
                    f"Server: {self.version_string()}\r\nDate: {self.server.date()}\r\n"
                    f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                    + ("Connection: close\r\n" if self.close_connection else "") + "\r\n")
            self.wfile.write(head.encode("latin-1") + body)
        self._status = status

    def _route(self) -> tuple[str, Optional[int], str]:
        where = rest_json.route(self.path)
        if where is None:
            raise HttpError(404, f"Malformed request: {self.command} {self.path}; "
                                 "expected /v1/models/NAME[/versions/N][:predict|:classify|:regress|/metadata]")
        return where

    def _handle(self, action) -> None:
        started = time.perf_counter()
        self._status = 500
        self._body_read = False
        self._started = started
        self._slot = False
        try:
            self._check_framing()
            action()
            self._discard_body()         # a body the endpoint did not want (a GET's) is read, never parsed
        except HttpError as e:
            self._discard_body()
            self._reply(e.status, {"error": str(e)})
        except ServingError as e:
            self._discard_body()         # the time may have run out, or the model be unknown, before the body was read
            message = e.message
            if isinstance(e, DeadlineExceeded):
                message = (f"Deadline exceeded: the request took over {self.server.timeout_ms} ms "
                           "(--rest_api_timeout_in_ms)")
            self._reply(HTTP_STATUS.get(e.code, 500), {"error": message})
        except Exception as e:  # the server must survive anything a request triggers; say what, no paths
            self._discard_body()
            self._reply(500, {"error": f"{type(e).__name__} while serving the request"})
            self.server.log(f"lowtf serve: {type(e).__name__}: {e}")
        finally:
            if self._slot:
                self.server.request_slots.release()
            ms = (time.perf_counter() - started) * 1000
            if self.server.metrics is not None:
                record_rest(self.server.metrics, self.server.models, self.path, self._status, ms / 1000)
            path = self.path if self.path.isprintable() else "".join(     # no raw control bytes
                c if c.isprintable() else f"\\x{ord(c):02x}" for c in self.path)
            self.server.log(f"{self.address_string()} {self.command} {path} {self._status} {ms:.1f}ms")

    def log_message(self, format, *args):  # one line per request is written by _handle instead
        pass

    # -- endpoints ------------------------------------------------------------------------
    def do_GET(self) -> None:
        metrics = self.server.metrics
        if metrics is not None and self.path == metrics.path:     # --monitoring_config_file's Prometheus page
            self._handle(lambda: self._reply(200, metrics.render(self.server.models), METRICS_CONTENT_TYPE))
            return
        self._handle(self._get)

    def do_POST(self) -> None:
        self._handle(self._post)

    def _take_slot(self) -> None:
        """One of ``--rest_api_num_threads`` slots, held until the reply is sent (``_handle``)."""
        self.server.request_slots.take(self._remaining_ms())
        self._slot = True

    def _get(self) -> None:
        name, version, verb = self._route()
        self._take_slot()
        predictor = self.server.predictor
        if verb == "":
            self._reply(200, {"model_version_status": [{"version": str(v), "state": "AVAILABLE",
                                                        "status": {"error_code": "OK", "error_message": ""}}
                                                       for v in predictor.status(name, version)]})
        elif verb == "/metadata":
            model = predictor.metadata(name, version)
            defs = {key: {"inputs": {k: s.to_json() for k, s in sig.inputs.items()},
                          "outputs": {k: s.to_json() for k, s in sig.outputs.items()},
                          "method_name": sig.method_name} for key, sig in model.signatures.items()}
            self._reply(200, {"model_spec": {"name": name, "signature_name": "", "version": str(model.version)},
                              "metadata": {"signature_def": {"signature_def": defs}}})
        else:
            raise HttpError(405, f"{verb} needs POST")

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        length = length.strip(" \t") if length is not None else None       # OWS is no part of a value
        if length is None or not (length.isascii() and length.isdigit()):
            self.close_connection = True
            self._body_read = True
            raise HttpError(411 if length is None else 400,
                            "Malformed request: a Content-Length header of ASCII digits is required")
        if int(length) > self.server.max_body_bytes:
            self.close_connection = True  # the unread body must not be parsed as the next request
            raise HttpError(413, f"Request body of {length} bytes is over the limit of "
                                 f"{self.server.max_body_bytes} bytes; send fewer instances per request")
        try:
            raw = self.rfile.read(int(length))
        except TimeoutError:
            self.close_connection = True
            self._body_read = True
            raise HttpError(408, f"the request did not arrive within {self.request_seconds:.0f} s; "
                                 "send it whole, at once") from None
        self._body_read = True
        self._body_arrived()
        if len(raw) < int(length):
            self.close_connection = True
            raise HttpError(400, f"Malformed request: the body ended after {len(raw)} of {length} bytes")
        return raw

    def _remaining_ms(self) -> Optional[int]:
        """Milliseconds left of ``--rest_api_timeout_in_ms`` for this request (None: no limit)."""
        if not self.server.timeout_ms:
            return None
        left = self.server.timeout_ms - int((time.perf_counter() - self._started) * 1000)
        if left <= 0:
            raise DeadlineExceeded("deadline exceeded")
        return left

    def _post(self) -> None:
        name, version, verb = self._route()
        if verb not in (":predict", ":classify", ":regress"):
            raise HttpError(405, "POST is for :predict, :classify and :regress")
        # The body is read first: a client sending it slowly reserves nothing. Decoding reserves
        # memory from the budget (a large body waits for room, up to a minute, then 503), held
        # until the values are arrays; the predictor then reserves what the run needs (the
        # budget is the one gRPC shares, Models.admission).
        raw = self._read_body()
        self._take_slot()                 # once the request is here whole: a slow sender holds no slot
        self.server.models[name]          # an unknown model is a 404 before any decoding
        predictor = self.server.predictor
        if verb == ":predict":
            release = self._reserve_decoding(raw)
            try:
                body = rest_json.parse_predict(raw, self._remaining_ms)   # the deadline is checked while decoding
                del raw
                call = PredictCall(name, body.inputs, version, body.signature, same_batch=body.row_format,
                                   timeout_ms=self._remaining_ms(), converted=release)
                row_format = body.row_format
                del body                  # the JSON values live on in the call until they are arrays
                answer = predictor.predict(call)
            finally:
                release()
            self._reply(200, rest_json.format_predict(answer.outputs, row_format))
            return
        release = self._reserve_decoding(raw)
        try:
            body = rest_json.parse_examples(raw, self._remaining_ms)
        finally:
            release()
        call = ExamplesCall(name, body.examples, version, body.signature, timeout_ms=self._remaining_ms())
        if verb == ":classify":
            self._reply(200, rest_json.format_classes(predictor.classify(call).rows))
        else:
            self._reply(200, rest_json.format_values(predictor.regress(call).values))

    def _reserve_decoding(self, raw: bytes) -> Callable[[], None]:
        """Reserve what decoding ``raw`` may take from the server's memory budget; returns the
        release (calling it again does nothing)."""
        wait = self._remaining_ms()
        need = rest_json.decoding_bytes(raw)
        if not self.server.decoding.acquire(need, timeout=60 if wait is None else wait / 1000):
            if wait is not None:
                self._remaining_ms()     # raises DeadlineExceeded when the time is up
            raise Unavailable("the server is busy; try again")
        held = [need]

        def release() -> None:
            if held:
                self.server.decoding.release(held.pop())
        return release


class _Server(ThreadingHTTPServer):
    request_queue_size = 128    # the listen backlog (socketserver's default is 5)
    daemon_threads = True
    max_connections = MAX_CONNECTIONS

    def server_activate(self) -> None:
        super().server_activate()
        self.connection_slots = threading.BoundedSemaphore(self.max_connections)
        self._idle: dict = {}         # handler -> when its connection became idle
        self._idle_lock = threading.Lock()
        self._date = (0, "")

    def date(self) -> str:
        """The Date header's value (RFC 9110 IMF-fixdate), formatted once a second."""
        now = int(time.time())
        cached = self._date
        if cached[0] != now:
            cached = self._date = (now, email.utils.formatdate(now, usegmt=True))
        return cached[1]

    def mark_idle(self, handler: Handler) -> None:
        """``handler``'s connection waits for its next request (or its first): it may be evicted."""
        with self._idle_lock:
            self._idle[handler] = time.monotonic()

    def mark_busy(self, handler: Handler) -> bool:
        """``handler``'s request has begun; False when its connection was evicted meanwhile."""
        with self._idle_lock:
            return self._idle.pop(handler, None) is not None

    def evict_longest_idle(self) -> bool:
        """Close the connection idle the longest (its thread ends and frees its slot); False if none is idle."""
        with self._idle_lock:
            if not self._idle:
                return False
            handler = min(self._idle, key=self._idle.__getitem__)
            del self._idle[handler]
        try:
            handler.connection.shutdown(socket.SHUT_RDWR)   # wakes its recv with end-of-file
        except OSError:
            pass
        return True

    def process_request(self, request, client_address) -> None:
        """A thread per connection, up to ``max_connections``. Past that, the connection idle the
        longest (no request in progress) is closed to make room: idle sockets cannot hold the server
        (256 that sent nothing once made every request 503 for 28 s). Only when every connection
        is in the middle of a request is the new one answered 503 and closed."""
        if not self.connection_slots.acquire(blocking=False) and not (
                self.evict_longest_idle() and self.connection_slots.acquire(timeout=EVICTION_SECONDS)):
            body = b'{"error": "too many connections; try again"}'
            try:
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.connection_slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connection_slots.release()


def make_server(models: Models, host: str = "127.0.0.1", port: int = 8501,
                max_body_bytes: int = DEFAULT_MAX_BODY, idle_seconds: float = IDLE_SECONDS,
                timeout_ms: int = DEFAULT_TIMEOUT_MS, request_seconds: float = REQUEST_SECONDS,
                max_connections: int = MAX_CONNECTIONS,
                decode_budget_bytes: Optional[int] = None,
                log: Optional[Callable[[str], None]] = None, num_threads: Optional[int] = None,
                metrics: Optional[Metrics] = None) -> ThreadingHTTPServer:
    """A REST server for ``models`` (not yet serving: call ``serve_forever``); ``timeout_ms`` 0: no limit.
    ``log`` takes the access log, a line per request (default: standard error)."""
    handler = type("Handler", (Handler,), {"timeout": idle_seconds, "request_seconds": request_seconds})
    server_class = type("Server", (_Server,), {"max_connections": max_connections})
    server = server_class((host, port), handler)
    server.daemon_threads = True
    server.models, server.max_body_bytes, server.timeout_ms = models, max_body_bytes, timeout_ms
    server.predictor = Predictor(models)
    server.request_slots = RequestSlots(num_threads or default_threads())    # --rest_api_num_threads
    server.metrics = metrics                                                  # None: no /monitoring page
    # decoding shares the budget the predictor's runs reserve from (one per Models, gRPC's too)
    server.decoding = (models.admission.memory if decode_budget_bytes is None
                       else MemoryBudget(decode_budget_bytes))
    server.log = log or (lambda line: sys.stderr.write(line + "\n"))
    return server
