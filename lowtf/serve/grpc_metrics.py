"""Counting gRPC calls into ``metrics.Metrics``: a server interceptor that times each unary call of
PredictionService and ModelService and records its model, version, API (the method's name,
e.g. Predict) and status code, with ``entrypoint="GRPC"``."""
from __future__ import annotations

import time

import grpc

from lowtf.serve.metrics import Metrics, served_labels


def _version(message):
    spec = getattr(message, "model_spec", None)
    if spec is None or not spec.HasField("version"):
        return None
    return spec.version.value


def timed(metrics: Metrics, models, api: str, inner):
    """``inner(request, context)`` (a unary handler), counted and timed into ``metrics``."""
    def call(request, context):
        started, response, status = time.perf_counter(), None, "OK"
        try:
            response = inner(request, context)
            return response
        except BaseException:
            code = context.code()        # set by context.abort before it raised
            status = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
            raise
        finally:
            spec = getattr(request, "model_spec", None)
            version = _version(response) if response is not None else None
            model, version_label = served_labels(models, spec.name if spec is not None else "",
                                                 version if version is not None else _version(request))
            metrics.record(model, version_label, api, "GRPC", status, time.perf_counter() - started)
    return call


class MetricsInterceptor(grpc.ServerInterceptor):
    def __init__(self, metrics: Metrics, models):
        self.metrics, self.models = metrics, models

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        api = handler_call_details.method.rsplit("/", 1)[-1]
        return grpc.unary_unary_rpc_method_handler(timed(self.metrics, self.models, api, handler.unary_unary),
                                                   request_deserializer=handler.request_deserializer,
                                                   response_serializer=handler.response_serializer)
