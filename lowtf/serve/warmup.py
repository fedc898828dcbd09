"""Model warm-up, as TF Serving does it: requests recorded in the SavedModel are replayed when a
version loads, before it is served, so the first real request does not pay for TensorFlow's
lazy start (graph optimisation, kernel selection, memory pools).

The file is ``VERSION/assets.extra/tf_serving_warmup_requests``: a TFRecord file whose records
are ``tensorflow_serving.apis.prediction_log_pb2.PredictionLog`` messages, each holding one
``predict_log``, ``classify_log`` or ``regress_log`` request (TF Serving's
``saved_model_warmup.cc``); the model name in a request is not used (the version being loaded
answers it). As in TF Serving: no file is no warm-up; at most ``MAX_RECORDS`` records (1000); a
record that is not a PredictionLog, a file that is not TFRecord, a request the model refuses or a
``session_run_log`` fails the version's load, and the versions already served keep serving.
Written by a client, for example::

    log = prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=predict_request))
    with tf.io.TFRecordWriter(f"{export}/assets.extra/tf_serving_warmup_requests") as writer:
        writer.write(log.SerializeToString())
"""
from __future__ import annotations

import time
from pathlib import Path

import tensorflow.compat.v1 as tf
from google.protobuf.message import DecodeError

from lowtf.serve.core.servable import LoadedModel, ServingOptions, load_version
from lowtf.serve.errors import ServingError
from lowtf.serve.export import DEFAULT_SIGNATURE
from lowtf.serve.tensors import to_array

WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"
MAX_RECORDS = 1000          # TF Serving's WarmupConsts::kMaxNumRecords
CLASSIFY, REGRESS = "tensorflow/serving/classify", "tensorflow/serving/regress"


class WarmupFailed(RuntimeError):
    """A warm-up file the version cannot replay; the message names the record and the fix."""


def _signature(model: LoadedModel, name: str):
    name = name or DEFAULT_SIGNATURE
    if name not in model.signatures:
        raise WarmupFailed(f"signature '{name}' is not in the model (it has {sorted(model.signatures)})")
    return name, model.signatures[name]


def _predict(model: LoadedModel, request) -> None:
    from lowtf.serve.grpc_server import tensor_values

    name, signature = _signature(model, request.model_spec.signature_name)
    given, wanted = set(request.inputs), set(signature.inputs)
    if given != wanted:
        raise WarmupFailed(f"signature '{name}' takes inputs {sorted(wanted)}; the request has {sorted(given)}")
    feeds = {k: to_array(tensor_values(proto, k), signature.inputs[k], k) for k, proto in request.inputs.items()}
    model.run(name, feeds)


def _examples(model: LoadedModel, request, method: str) -> None:
    from lowtf.serve.grpc_server import _serialized_examples

    name, signature = _signature(model, request.model_spec.signature_name)
    if signature.method_name != method:
        raise WarmupFailed(f"signature '{name}' is a {signature.method_name} signature, not {method}")
    (input_name,) = signature.inputs
    model.run(name, {input_name: _serialized_examples(request.input)})


def _replay(model: LoadedModel, log) -> None:
    kind = log.WhichOneof("log_type")
    if kind == "predict_log":
        _predict(model, log.predict_log.request)
    elif kind == "classify_log":
        _examples(model, log.classify_log.request, CLASSIFY)
    elif kind == "regress_log":
        _examples(model, log.regress_log.request, REGRESS)
    elif kind is not None:      # TF Serving skips a record with no request; session_run_log it refuses
        raise WarmupFailed(f"unsupported log_type for warm-up: {kind}; use predict_log, classify_log or "
                           "regress_log")


def replay_warmup(model: LoadedModel, export_dir: Path) -> int:
    """Replay ``export_dir``'s warm-up requests on ``model``; returns how many records ran (0: no file).
    Raises ``WarmupFailed`` naming the file, the record and what to change."""
    from tensorflow_serving.apis import prediction_log_pb2

    path = Path(export_dir) / WARMUP_FILE
    if not path.is_file():
        return 0
    count = 0
    records = tf.io.tf_record_iterator(str(path))
    while True:
        try:
            record = next(records)
        except StopIteration:
            return count
        except tf.errors.DataLossError as e:
            raise WarmupFailed(f"{path}: {e.message.strip().splitlines()[0]}; the warm-up file must be "
                               "TFRecord (tf.io.TFRecordWriter)") from None
        count += 1
        if count > MAX_RECORDS:
            raise WarmupFailed(f"Number of warmup records exceeds the maximum ({MAX_RECORDS}) at {path}; "
                               f"keep at most {MAX_RECORDS}")
        log = prediction_log_pb2.PredictionLog()
        try:
            log.ParseFromString(record)
        except DecodeError:
            raise WarmupFailed(f"record {count} of {path} is not a PredictionLog; write "
                               "PredictionLog(predict_log=PredictLog(request=...)).SerializeToString()") from None
        try:
            _replay(model, log)
        except WarmupFailed as e:
            raise WarmupFailed(f"record {count} of {path}: {e}") from None
        except (ServingError, tf.errors.OpError, ValueError) as e:
            reason = getattr(e, "message", None) or str(e)
            raise WarmupFailed(f"record {count} of {path}: the model refused it "
                               f"({reason.strip().splitlines()[0][:300]}); fix or remove the record") from None


def warm_up(model: LoadedModel, export_dir: Path, log) -> None:
    """``replay_warmup``, with a line saying how many records ran and how long they took."""
    started = time.perf_counter()
    count = replay_warmup(model, export_dir)
    if count:
        log(f"lowtf serve: warm-up of {export_dir}: {count} record(s) replayed in "
            f"{(time.perf_counter() - started) * 1000:.0f} ms")


def load_warmed(path: Path, version: int, options: ServingOptions, log) -> LoadedModel:
    """``load_version``, then its warm-up (when ``options.warmup``): the version is handed to the
    manager, and served, only once its warm-up requests have run; a failed warm-up closes it."""
    model = load_version(path, version, options)
    if options.warmup:
        try:
            warm_up(model, path, log)
        except BaseException:
            model.close()
            raise
    return model
