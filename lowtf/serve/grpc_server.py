"""TF Serving's gRPC API: ``PredictionService`` (Predict, Classify, Regress, GetModelMetadata) and
``ModelService.GetModelStatus`` on the official ``tensorflow-serving-api`` protos and stubs, so TF Serving's
own Python client works unchanged. Like ``rest_server`` it only translates: protos become the
``Predictor``'s calls and its answers protos; the checks and the run are the predictor's::

    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel("127.0.0.1:8500"))
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "lenet5"
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(images))
    stub.Predict(request, timeout=10)
"""
from __future__ import annotations

import math
from concurrent import futures
from typing import Optional

import grpc
import numpy as np
from google.protobuf.message import DecodeError
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2,
                                     model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc,
                                     regression_pb2)

from lowtf.serve.core.manager import Models
from lowtf.serve.errors import InvalidArgument, ServingError
from lowtf.serve.export import DEFAULT_SIGNATURE
from lowtf.serve.predictor import ExamplesCall, PredictCall, Predictor


# every DataType a request may carry: not DT_INVALID (0), not a reference type (101 and up)
_DTYPES = frozenset(v for v in types_pb2.DataType.values() if 0 < v < 100)


def tensor_values(proto, name: str) -> np.ndarray:
    """A request tensor as numpy, refused when its shape claims more values than it carries.

    A TensorProto may give one value and a large shape, and ``tf.make_ndarray`` fills the shape
    with it: a 49-byte request could make the server allocate gigabytes. lowtf serve needs
    every value sent (TF Serving fills; no client that sends real data is affected)."""
    if proto.dtype not in _DTYPES:
        raise InvalidArgument(f"input '{name}': dtype {proto.dtype} is no TensorFlow DataType a request "
                              "can carry (DT_FLOAT is 1, DT_STRING 7; reference types are 101 and up)")
    shape = [d.size for d in proto.tensor_shape.dim]
    if any(size < 0 for size in shape):
        raise InvalidArgument(f"input '{name}': its shape {shape} has a "
                              "negative dimension; a request's tensor has every size known")
    claimed = math.prod(shape)          # exact: a product past int64 is no wrapped small number
    dtype = tf.dtypes.as_dtype(proto.dtype)
    if proto.tensor_content:
        carried = len(proto.tensor_content) // max(1, dtype.size)
    else:
        carried = max((len(values) for field, values in proto.ListFields() if field.name.endswith("_val")),
                      default=0)
        if dtype in (tf.complex64, tf.complex128):
            carried //= 2           # scomplex_val / dcomplex_val hold real and imaginary parts
    if claimed != carried and not (claimed == 0 and carried == 0):
        raise InvalidArgument(f"input '{name}': its shape {shape} claims {claimed:,} "
                              f"values and it carries {carried:,}; send every value")
    if proto.tensor_content:    # tf.make_ndarray's own first branch, without the rest of its work (~25 us)
        return np.frombuffer(proto.tensor_content, dtype=dtype.as_numpy_dtype).copy().reshape(shape)
    return tf.make_ndarray(proto)


# The dtypes tf.make_tensor_proto writes as raw bytes (tensor_content) when an array has more than
# one value: its _TENSOR_CONTENT_TYPES that numpy names without ml_dtypes.
_CONTENT_DTYPES = {np.dtype(t): tf.dtypes.as_dtype(t).as_datatype_enum
                   for t in (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
                             np.uint8, np.uint32, np.uint64)}


def write_tensor(value, proto) -> None:
    """``proto.CopyFrom(tf.make_tensor_proto(value))``, the same message, written in place for the
    numeric arrays it stores as raw bytes (~7 us against ~45 us for a [1, 10] float32)."""
    enum = _CONTENT_DTYPES.get(value.dtype) if isinstance(value, np.ndarray) and value.size > 1 else None
    if enum is None:
        proto.CopyFrom(tf.make_tensor_proto(value))
        return
    proto.dtype = enum
    for size in value.shape:
        proto.tensor_shape.dim.add(size=size)
    proto.tensor_content = value.tobytes()


def _examples(request) -> int:
    """The examples a PredictRequest claims: the largest dimension 0 of its inputs (1 for scalars)."""
    return max((p.tensor_shape.dim[0].size for p in request.inputs.values() if p.tensor_shape.dim), default=1)


def _version(spec) -> Optional[int]:
    return spec.version.value if spec.HasField("version") else None


class _Status:
    """A ServingError aborts the call with its code and message (the predictor's codes are gRPC's)."""

    def __init__(self, context):
        self.context = context

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if isinstance(error, ServingError):
            self.context.abort(grpc.StatusCode[error.code], error.message)
        if isinstance(error, ValueError):    # a TensorProto numpy cannot read
            self.context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error).strip().splitlines()[0][:500])
        return False


def _timeout_ms(context) -> Optional[int]:
    """What is left of the client's deadline, for Session.run (None: the client set none)."""
    left = context.time_remaining()
    return None if left is None or left > 10 ** 6 else int(left * 1000)


def _serialized_examples(request_input) -> np.ndarray:
    """A request's ``Input`` (a list of tf.Examples, or a list with a shared context) -> serialized strings [N]."""
    kind = request_input.WhichOneof("kind")
    if kind == "example_list":
        examples = list(request_input.example_list.examples)
    elif kind == "example_list_with_context":
        context = request_input.example_list_with_context.context
        examples = []
        for example in request_input.example_list_with_context.examples:
            merged = type(example)()
            merged.CopyFrom(context)
            merged.MergeFrom(example)
            examples.append(merged)
    else:
        raise InvalidArgument("Input is empty: send example_list or example_list_with_context")
    return np.array([e.SerializeToString() for e in examples], dtype=object)


def _examples_call(request, context) -> ExamplesCall:
    spec = request.model_spec
    return ExamplesCall(spec.name, _serialized_examples(request.input), _version(spec),
                        spec.signature_name or DEFAULT_SIGNATURE, _timeout_ms(context))


def _answered(response, name: str, version: int, signature: str):
    response.model_spec.name, response.model_spec.signature_name = name, signature
    response.model_spec.version.value = version
    return response


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, models: Models):
        self.predictor = Predictor(models)

    def Predict(self, request, context):
        with _Status(context):
            spec = request.model_spec
            call = PredictCall(spec.name, {}, _version(spec), spec.signature_name or DEFAULT_SIGNATURE,
                               tuple(request.output_filter), timeout_ms=_timeout_ms(context),
                               held_bytes=request.ByteSize())    # the protobuf stays alive while it runs
            # too large a request is refused before its values are copied out of the protobuf
            self.predictor.refuse_oversized(call, _examples(request), call.held_bytes)
            call.inputs = {name: tensor_values(proto, name) for name, proto in request.inputs.items()}
            answer = self.predictor.predict(call)
        response = _answered(predict_pb2.PredictResponse(), spec.name, answer.version, answer.signature)
        for name, value in answer.outputs.items():
            write_tensor(value, response.outputs[name])
        return response

    def Classify(self, request, context):
        """A classify signature on tf.Examples: per example, (label, score) pairs from its classes and scores."""
        with _Status(context):
            answer = self.predictor.classify(_examples_call(request, context))
        response = _answered(classification_pb2.ClassificationResponse(), request.model_spec.name, answer.version,
                             answer.signature)
        for row in answer.rows:
            result = response.result.classifications.add()
            for label, score in row:
                pair = result.classes.add()
                pair.label = label
                if score is not None:
                    pair.score = score
        return response

    def Regress(self, request, context):
        """A regress signature on tf.Examples: one value per example."""
        with _Status(context):
            answer = self.predictor.regress(_examples_call(request, context))
        response = _answered(regression_pb2.RegressionResponse(), request.model_spec.name, answer.version,
                             answer.signature)
        for value in answer.values:
            response.result.regressions.add().value = value
        return response

    def GetModelMetadata(self, request, context):
        if list(request.metadata_field) != ["signature_def"]:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Metadata field(s) other than signature_def "
                                                            "are not supported")
        with _Status(context):
            model = self.predictor.metadata(request.model_spec.name, _version(request.model_spec))
        defs = get_model_metadata_pb2.SignatureDefMap()
        for name, proto in model.signature_defs.items():
            defs.signature_def[name].CopyFrom(proto)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = model.version
        response.metadata["signature_def"].Pack(defs)
        return response


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, models: Models):
        self.predictor = Predictor(models)

    def GetModelStatus(self, request, context):
        with _Status(context):
            versions = self.predictor.status(request.model_spec.name, _version(request.model_spec))
        response = get_model_status_pb2.GetModelStatusResponse()
        for served in versions:
            status = response.model_version_status.add()
            status.version = served
            status.state = get_model_status_pb2.ModelVersionStatus.AVAILABLE
        return response


class _Undecodable:
    """What a request that is no valid protobuf (invalid UTF-8 in a string field, a cut message)
    decodes to, so the method answers INVALID_ARGUMENT instead of gRPC's INTERNAL."""

    def __init__(self, reason: str):
        self.reason = reason


def _lenient(parse):
    def decode(data: bytes):
        try:
            return parse(data)
        except DecodeError as e:
            return _Undecodable(str(e) or "the message cannot be parsed")
    return decode


def _refusing_undecodable(method):
    def answer(request, context):
        if isinstance(request, _Undecodable):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"the request is no valid protobuf ({request.reason}); "
                                                            "string fields must be UTF-8")
        return method(request, context)
    return answer


class _CheckedHandler(grpc.GenericRpcHandler):
    def __init__(self, inner):
        self.inner = inner

    def service(self, handler_call_details):
        handler = self.inner.service(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        return handler._replace(request_deserializer=_lenient(handler.request_deserializer),
                                unary_unary=_refusing_undecodable(handler.unary_unary))


class _DecodingChecked:
    """The server as the generated ``add_*_to_server`` functions see it: each service's handlers
    decode requests leniently (see ``_Undecodable``)."""

    def __init__(self, server: grpc.Server):
        self.server = server

    def add_generic_rpc_handlers(self, handlers) -> None:
        self.server.add_generic_rpc_handlers(tuple(_CheckedHandler(h) for h in handlers))

    def __getattr__(self, name):
        return getattr(self.server, name)


def make_grpc_server(models: Models, host: str, port: int, threads: Optional[int] = None,
                     channel_arguments: str = "", metrics=None) -> grpc.Server:
    """A started gRPC server on host:port; raises OSError if the port cannot be bound. ``threads``
    is --grpc_max_threads (None: TF Serving's default), ``channel_arguments`` --grpc_channel_arguments
    (lowtf.serve.limits); with ``metrics``, every call is counted (metrics.Metrics)."""
    from lowtf.serve.grpc_metrics import MetricsInterceptor
    from lowtf.serve.limits import default_threads, grpc_server_options

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=threads or default_threads()),
                         options=grpc_server_options(channel_arguments),
                         interceptors=[MetricsInterceptor(metrics, models)] if metrics is not None else None)
    checked = _DecodingChecked(server)
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(models), checked)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(models), checked)
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError as e:
        raise OSError(str(e)) from None
    if bound == 0:
        raise OSError(f"cannot bind {host}:{port}")
    server.start()
    return server
