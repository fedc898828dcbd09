"""The gRPC front end on grpcio's asyncio server (``grpc.aio``), a candidate measured against the
thread-pool server by ``lowtf.bench.serving`` (``lowtf serve --grpc_server=aio``).

The network side (HTTP/2, framing, deadlines) runs on one asyncio loop in its own thread; each
call's work, which blocks (decoding, Session.run), runs on a pool of ``threads`` workers. The
services are the very handlers ``grpc_server`` registers (the same translation, checks and
errors): each is called on a worker with a small stand-in for its context, whose ``abort``
is carried back to the loop and sent as the call's status.
"""
from __future__ import annotations

import asyncio
import threading
import time
from concurrent import futures
from typing import Optional

import grpc
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

from lowtf.serve.core.manager import Models
from lowtf.serve.grpc_server import ModelService, PredictionService, _DecodingChecked
from lowtf.serve.limits import default_threads, grpc_server_options


class _Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str):
        super().__init__(details)
        self.code, self.details = code, details


class _WorkerContext:
    """What the synchronous handlers use of a ServicerContext, on a worker thread."""

    def __init__(self, remaining: Optional[float]):
        self._deadline = None if remaining is None else time.monotonic() + remaining
        self._code = None

    def time_remaining(self) -> Optional[float]:
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    def abort(self, code: grpc.StatusCode, details: str):
        self._code = code
        raise _Aborted(code, details)

    def code(self):
        return self._code


class _Collector:
    """Stands in for a server while the generated ``add_*_to_server`` functions register handlers."""

    def __init__(self):
        self.handlers = []

    def add_generic_rpc_handlers(self, handlers) -> None:
        self.handlers.extend(handlers)

    def add_registered_method_handlers(self, service_name, method_handlers) -> None:
        self.handlers.append(grpc.method_handlers_generic_handler(service_name, method_handlers))


class _Bridge(grpc.GenericRpcHandler):
    """Serves each synchronous unary handler from the asyncio server, on the worker pool."""

    def __init__(self, handlers, pool: futures.Executor, wrap=None):
        self.handlers, self.pool, self.wrap = handlers, pool, wrap

    def service(self, details):
        for generic in self.handlers:
            handler = generic.service(details)
            if handler is not None:
                break
        else:
            return None
        inner = handler.unary_unary
        if self.wrap is not None:
            inner = self.wrap(details.method.rsplit("/", 1)[-1], inner)
        pool = self.pool

        async def behavior(request, context):
            worker_context = _WorkerContext(context.time_remaining())
            try:
                return await asyncio.get_running_loop().run_in_executor(pool, inner, request, worker_context)
            except _Aborted as aborted:
                await context.abort(aborted.code, aborted.details)

        return grpc.unary_unary_rpc_method_handler(behavior, request_deserializer=handler.request_deserializer,
                                                   response_serializer=handler.response_serializer)


class AioServer:
    """A started ``grpc.aio`` server on its own loop thread; ``stop(grace)`` as grpc.Server's."""

    def __init__(self, models: Models, host: str, port: int, threads: Optional[int] = None,
                 channel_arguments: str = "", metrics=None):
        collector = _Collector()
        checked = _DecodingChecked(collector)
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(models), checked)
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(models), checked)
        wrap = None
        if metrics is not None:
            from lowtf.serve.grpc_metrics import timed

            def wrap(api, inner):
                return timed(metrics, models, api, inner)
        self.pool = futures.ThreadPoolExecutor(max_workers=threads or default_threads(),
                                               thread_name_prefix="lowtf-grpc")
        self.loop = asyncio.new_event_loop()
        self._bridge = _Bridge(collector.handlers, self.pool, wrap)
        self._options = grpc_server_options(channel_arguments)
        self._address = f"{host}:{port}"
        started = futures.Future()
        self._thread = threading.Thread(target=self._run, args=(started,), daemon=True, name="lowtf-grpc-aio")
        self._thread.start()
        started.result(timeout=30)     # raises OSError when the port cannot be bound

    def _run(self, started: futures.Future) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.server = grpc.aio.server(handlers=[self._bridge], options=self._options)
            try:
                bound = self.server.add_insecure_port(self._address)
            except RuntimeError as e:
                raise OSError(str(e)) from None
            if bound == 0:
                raise OSError(f"cannot bind {self._address}")
            self.loop.run_until_complete(self.server.start())
        except BaseException as e:
            started.set_exception(e)
            return
        started.set_result(None)
        self.loop.run_forever()

    def stop(self, grace: Optional[float] = None) -> None:
        done = asyncio.run_coroutine_threadsafe(self.server.stop(grace), self.loop)
        try:
            done.result(timeout=(grace or 0) + 5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
            self.pool.shutdown(wait=False)
