"""TF Serving's gRPC API on the same model store: ``PredictionService`` (Predict, Classify, Regress,
GetModelMetadata) and ``ModelService.GetModelStatus``, built on the official ``tensorflow-serving-api`` protos and
stubs, so TF Serving's own Python client works unchanged::

    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel("127.0.0.1:8500"))
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "lenet5"
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(images))
    stub.Predict(request, timeout=10)
"""
from __future__ import annotations

from concurrent import futures
from typing import Optional

import grpc
import tensorflow as tf
import numpy as np
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2,
                                     model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc,
                                     regression_pb2)

from lowtf.serve.export import DEFAULT_SIGNATURE
from lowtf.serve.model_store import Models, NotFound
from lowtf.serve.predict_request import to_array


def tensor_values(proto, name: str) -> np.ndarray:
    """A request tensor as numpy, refused when its shape claims more values than it carries.

    A TensorProto may give one value and a large shape, and ``tf.make_ndarray`` fills the shape
    with it: a 49-byte request could make the server allocate gigabytes. lowtf serve needs
    every value sent (TF Serving fills; no client that sends real data is affected)."""
    claimed = int(np.prod([d.size for d in proto.tensor_shape.dim], dtype=np.int64)) if proto.tensor_shape.dim else 1
    dtype = tf.dtypes.as_dtype(proto.dtype)
    if proto.tensor_content:
        carried = len(proto.tensor_content) // max(1, dtype.size)
    else:
        carried = max((len(values) for field, values in proto.ListFields() if field.name.endswith("_val")),
                      default=0)
        if dtype in (tf.complex64, tf.complex128):
            carried //= 2           # scomplex_val / dcomplex_val hold real and imaginary parts
    if claimed != carried and not (claimed == 0 and carried == 0):
        raise ValueError(f"input '{name}': its shape {[d.size for d in proto.tensor_shape.dim]} claims {claimed:,} "
                         f"values and it carries {carried:,}; send every value")
    return tf.make_ndarray(proto)


def _version(spec) -> Optional[int]:
    return spec.version.value if spec.HasField("version") else None


class _Errors:
    """Map the store's and TensorFlow's errors to gRPC status codes, with TF Serving's messages."""

    def __init__(self, context):
        self.context = context

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if error is None:
            return False
        if isinstance(error, NotFound):
            self.context.abort(grpc.StatusCode.NOT_FOUND, str(error))
        if isinstance(error, tf.errors.DeadlineExceededError):
            self.context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline exceeded while running the model")
        if isinstance(error, (ValueError, KeyError, tf.errors.InvalidArgumentError)):
            message = getattr(error, "message", None) or str(error)
            self.context.abort(grpc.StatusCode.INVALID_ARGUMENT, message.strip().splitlines()[0][:500])
        return False


def _timeout_ms(context) -> Optional[int]:
    """What is left of the client's deadline, for Session.run (None: the client set none)."""
    left = context.time_remaining()
    return None if left is None or left > 10 ** 6 else int(left * 1000)


CLASSIFY, REGRESS = "tensorflow/serving/classify", "tensorflow/serving/regress"


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
        raise ValueError("Input is empty: send example_list or example_list_with_context")
    if not examples:
        raise ValueError("Input has no examples")
    return np.array([e.SerializeToString() for e in examples], dtype=object)


def _run_on_examples(model, spec, request_input, method: str, context) -> tuple[dict, str]:
    """Run the signature named in ``spec`` (it must be a ``method`` signature) on the request's examples."""
    name = spec.signature_name or DEFAULT_SIGNATURE
    if name not in model.signatures:
        raise NotFound(f"Serving signature name: \"{name}\" not found in signature def")
    signature = model.signatures[name]
    if signature.method_name != method:
        raise ValueError(f"Expected {method.rsplit('/', 1)[1]} signature method_name to be {method}. "
                         f"Was: {signature.method_name}")
    (input_name,) = signature.inputs
    return model.run(name, {input_name: _serialized_examples(request_input)}, _timeout_ms(context)), name


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, models: Models):
        self.models = models

    def Predict(self, request, context):
        signature = request.model_spec.signature_name or DEFAULT_SIGNATURE
        with _Errors(context), self.models[request.model_spec.name].use(_version(request.model_spec)) as model:
            if signature not in model.signatures:
                raise NotFound(f"Serving signature name: \"{signature}\" not found in signature def")
            expected = model.signatures[signature]
            missing = sorted(set(expected.inputs) - set(request.inputs))
            if missing:
                raise ValueError(f"input(s) {missing} missing from the request; the signature takes "
                                 f"{sorted(expected.inputs)}")
            extra = sorted(set(request.inputs) - set(expected.inputs))
            if extra:
                raise ValueError(f"input(s) {extra} are not in the signature, which takes {sorted(expected.inputs)}")
            unknown = sorted(set(request.output_filter) - set(expected.outputs))
            if unknown:
                raise ValueError(f"output tensor alias(es) {unknown} not found in the signature's outputs "
                                 f"{sorted(expected.outputs)}")
            feeds = {name: to_array(tensor_values(proto, name), expected.inputs[name], name)
                     for name, proto in request.inputs.items()}
            outputs = model.run(signature, feeds, timeout_ms=_timeout_ms(context))
            version = model.version
        wanted = set(request.output_filter) or set(outputs)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = version
        response.model_spec.signature_name = signature
        for name, value in outputs.items():
            if name in wanted:
                response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
        return response

    def Classify(self, request, context):
        """A classify signature on tf.Examples: per example, (label, score) pairs from its classes and scores."""
        with _Errors(context), self.models[request.model_spec.name].use(_version(request.model_spec)) as model:
            outputs, name = _run_on_examples(model, request.model_spec, request.input, CLASSIFY, context)
            version = model.version
        classes, scores = outputs.get("classes"), outputs.get("scores")
        rows = len(classes if classes is not None else scores)
        response = classification_pb2.ClassificationResponse()
        response.model_spec.name, response.model_spec.signature_name = request.model_spec.name, name
        response.model_spec.version.value = version
        for i in range(rows):
            result = response.result.classifications.add()
            for j in range(len(classes[i] if classes is not None else scores[i])):
                pair = result.classes.add()
                if classes is not None:
                    pair.label = classes[i][j].decode("utf-8", "replace")
                if scores is not None:
                    pair.score = float(scores[i][j])
        return response

    def Regress(self, request, context):
        """A regress signature on tf.Examples: one value per example."""
        with _Errors(context), self.models[request.model_spec.name].use(_version(request.model_spec)) as model:
            outputs, name = _run_on_examples(model, request.model_spec, request.input, REGRESS, context)
            version = model.version
        response = regression_pb2.RegressionResponse()
        response.model_spec.name, response.model_spec.signature_name = request.model_spec.name, name
        response.model_spec.version.value = version
        for value in np.asarray(outputs["outputs"]).reshape(-1):
            response.result.regressions.add().value = float(value)
        return response

    def GetModelMetadata(self, request, context):
        if list(request.metadata_field) != ["signature_def"]:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Metadata field(s) other than signature_def "
                                                            "are not supported")
        with _Errors(context), self.models[request.model_spec.name].use(_version(request.model_spec)) as model:
            defs = get_model_metadata_pb2.SignatureDefMap()
            for name, proto in model.signature_defs.items():
                defs.signature_def[name].CopyFrom(proto)
            version = model.version
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = version
        response.metadata["signature_def"].Pack(defs)
        return response


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, models: Models):
        self.models = models

    def GetModelStatus(self, request, context):
        version = _version(request.model_spec)
        with _Errors(context):
            store = self.models[request.model_spec.name]
            store.get(version)                       # NOT_FOUND when that version is not served
        response = get_model_status_pb2.GetModelStatusResponse()
        for served in ([version] if version is not None else reversed(store.serving_versions)):
            status = response.model_version_status.add()
            status.version = served
            status.state = get_model_status_pb2.ModelVersionStatus.AVAILABLE
        return response


def make_grpc_server(models: Models, host: str, port: int, threads: int = 8) -> grpc.Server:
    """A started gRPC server on host:port; raises OSError if the port cannot be bound."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=threads),
                         options=[("grpc.max_receive_message_length", 64 * 1024 * 1024),
                                  ("grpc.so_reuseport", 0)])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(models), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(models), server)
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError as e:
        raise OSError(str(e)) from None
    if bound == 0:
        raise OSError(f"cannot bind {host}:{port}")
    server.start()
    return server
