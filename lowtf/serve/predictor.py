"""The one code path below the wire formats (TF Serving's predictor, classifier and regressor).

REST (``rest_server``) and gRPC (``grpc_server``) only translate: a JSON body or a protobuf
becomes a ``PredictCall`` or an ``ExamplesCall``, the ``Predictor`` answers it, and the answer
goes back in the front end's own format. Finding the model version and the signature, checking
every input against it, running the model (through the batcher when batching is on) and turning
TensorFlow's errors into status codes happen here, once::

    answer = Predictor(models).predict(PredictCall("lenet5", {"images": images}))
    answer.outputs["probabilities"]          # [N, 10]
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Optional

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.serve.core.manager import Models
from lowtf.serve.core.servable import LoadedModel, Signature
from lowtf.serve.errors import DeadlineExceeded, InvalidArgument, NotFound
from lowtf.serve.export import DEFAULT_SIGNATURE
from lowtf.serve.tensors import to_array

CLASSIFY, REGRESS = "tensorflow/serving/classify", "tensorflow/serving/regress"
ONLY_INPUT = None     # a key of PredictCall.inputs: the value of the signature's only input (REST's bare list)


@dataclass
class PredictCall:
    model: str
    inputs: dict                         # {input name: JSON value or numpy array}
    version: Optional[int] = None        # None: the newest served
    signature: str = DEFAULT_SIGNATURE
    output_filter: tuple = ()            # output names to return; () for all
    same_batch: bool = False             # REST's row format: every input has the same dimension 0
    timeout_ms: Optional[int] = None


@dataclass
class ExamplesCall:
    """A classify or regress request: serialized tf.Examples, one per example, as [N] bytes."""

    model: str
    examples: np.ndarray
    version: Optional[int] = None
    signature: str = DEFAULT_SIGNATURE
    timeout_ms: Optional[int] = None


@dataclass
class Answer:
    outputs: dict                        # {output name: array}, for predict
    version: int
    signature: str


@dataclass
class Classes:
    rows: list                           # per example, [(label, score), ...]; label "" or score None if absent
    version: int
    signature: str


@dataclass
class Values:
    values: list                         # one regression value per example
    version: int
    signature: str


@contextlib.contextmanager
def _tensorflow_errors() -> Iterator[None]:
    """TensorFlow's errors from a run, as the status codes TF Serving gives them (first line only:
    the rest is a graph trace a client cannot use)."""
    try:
        yield
    except (tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError) as e:
        raise InvalidArgument(e.message.strip().splitlines()[0][:500]) from None
    except tf.errors.DeadlineExceededError:
        raise DeadlineExceeded("Deadline exceeded while running the model") from None


def _signature(model: LoadedModel, name: str) -> Signature:
    if name not in model.signatures:
        raise NotFound(f"Serving signature name: \"{name}\" not found in signature def; "
                       f"available: {sorted(model.signatures)}")
    return model.signatures[name]


def _feeds(call: PredictCall, signature: Signature) -> dict:
    """Every input the signature takes, converted and checked; InvalidArgument names what is wrong."""
    names, inputs = sorted(signature.inputs), call.inputs
    if ONLY_INPUT in inputs:
        if len(names) != 1:
            raise InvalidArgument(f"the signature has inputs {names}: name each one (each instance, or "
                                  "'inputs', an object keyed by them)")
        inputs = {names[0]: inputs[ONLY_INPUT]}
    missing, extra = sorted(set(names) - set(inputs)), sorted(set(inputs) - set(names))
    if missing or extra:
        raise InvalidArgument(f"the signature takes inputs {names}; "
                              + (f"missing {missing}" if missing else f"unknown {extra}"))
    unknown = sorted(set(call.output_filter) - set(signature.outputs))
    if unknown:
        raise InvalidArgument(f"output tensor alias(es) {unknown} not found in the signature's outputs "
                              f"{sorted(signature.outputs)}")
    feeds = {k: to_array(v, signature.inputs[k], k) for k, v in inputs.items()}
    if call.same_batch and len({len(v) if v.ndim else 0 for v in feeds.values()}) > 1:
        raise InvalidArgument("all inputs must have the same number of instances (dimension 0)")
    return feeds


class Predictor:
    """Answers predict, classify, regress, metadata and status for every model in ``models``."""

    def __init__(self, models: Models):
        self.models = models

    def predict(self, call: PredictCall) -> Answer:
        with self.models[call.model].use(call.version) as model:
            signature = _signature(model, call.signature)
            feeds = _feeds(call, signature)
            with _tensorflow_errors():
                outputs = model.run(call.signature, feeds, call.timeout_ms)
            wanted = set(call.output_filter) or set(outputs)
            return Answer({k: v for k, v in outputs.items() if k in wanted}, model.version, call.signature)

    def _run_examples(self, call: ExamplesCall, method: str) -> tuple[dict, int]:
        if len(call.examples) == 0:
            raise InvalidArgument("Input has no examples")
        with self.models[call.model].use(call.version) as model:
            signature = _signature(model, call.signature)
            if signature.method_name != method:
                raise InvalidArgument(f"Expected {method.rsplit('/', 1)[1]} signature method_name to be {method}. "
                                      f"Was: {signature.method_name}")
            (input_name,) = signature.inputs
            with _tensorflow_errors():
                return model.run(call.signature, {input_name: call.examples}, call.timeout_ms), model.version

    def classify(self, call: ExamplesCall) -> Classes:
        """Per example, (label, score) pairs from the signature's ``classes`` and ``scores``."""
        outputs, version = self._run_examples(call, CLASSIFY)
        classes, scores = outputs.get("classes"), outputs.get("scores")
        rows = []
        for i in range(len(classes if classes is not None else scores)):
            width = len(classes[i] if classes is not None else scores[i])
            rows.append([(classes[i][j].decode("utf-8", "replace") if classes is not None else "",
                          float(scores[i][j]) if scores is not None else None) for j in range(width)])
        return Classes(rows, version, call.signature)

    def regress(self, call: ExamplesCall) -> Values:
        """One value per example, from the signature's ``outputs``."""
        outputs, version = self._run_examples(call, REGRESS)
        return Values([float(v) for v in np.asarray(outputs["outputs"]).reshape(-1)], version, call.signature)

    def metadata(self, model_name: str, version: Optional[int]) -> LoadedModel:
        """The version asked for (or the newest), for its signatures; it is not run."""
        return self.models[model_name].get(version)

    def status(self, model_name: str, version: Optional[int]) -> list[int]:
        """The versions to report, newest first; NotFound when that version is not served."""
        store = self.models[model_name]
        store.get(version)
        return [version] if version is not None else list(reversed(store.serving_versions))
