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
from typing import Callable, Iterator, Optional

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.serve.core.admission import UNSIZED_RUN_FACTOR
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
    held_bytes: int = 0                  # what the front end keeps of the request while it runs (a protobuf)
    converted: Optional[Callable[[], None]] = None   # called once the inputs are arrays (REST frees its
                                                     # decoding reservation: the JSON values are dropped)


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


def _nbytes(array: np.ndarray) -> int:
    """An array's bytes, with the strings of an object array counted."""
    if array.dtype == object:
        return sum(len(v) if isinstance(v, (bytes, str)) else 8 for v in array.reshape(-1)) + array.nbytes
    return array.nbytes


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

    @contextlib.contextmanager
    def _admitted(self, model: LoadedModel, signature: Signature, feeds: dict, held_bytes: int,
                  timeout_ms: Optional[int]) -> Iterator[None]:
        """Within the memory budget and (without batching) a run slot; ResourceExhausted when this
        one request is larger than a request may be."""
        admission = self.models.admission
        sizes = [len(v) for v in feeds.values() if v.ndim]
        examples = max(sizes) if sizes else 1
        inputs = sum(_nbytes(v) for v in feeds.values())
        per_example = signature.bytes_per_example
        if per_example is None:
            per_example = UNSIZED_RUN_FACTOR * inputs // max(1, examples)
        need = admission.check(examples, per_example, inputs + held_bytes)
        timeout_s = None if timeout_ms is None else timeout_ms / 1000
        with admission.reserve(need, timeout_s):
            if model.batcher is not None:      # with batching, its threads are the runs at once
                yield
            else:
                with admission.run_slot(timeout_s):
                    yield

    def refuse_oversized(self, call: PredictCall, examples: int, input_bytes: int) -> None:
        """ResourceExhausted before the inputs are converted, when the call's size alone (as its
        wire says) is more than one request may run; the same check ``predict`` makes after."""
        with self.models[call.model].use(call.version) as model:
            signature = _signature(model, call.signature)
        per_example = signature.bytes_per_example
        if per_example is None:
            per_example = UNSIZED_RUN_FACTOR * input_bytes // max(1, examples)
        self.models.admission.check(examples, per_example, input_bytes + call.held_bytes)

    def predict(self, call: PredictCall) -> Answer:
        with self.models[call.model].use(call.version) as model:
            signature = _signature(model, call.signature)
            try:
                feeds = _feeds(call, signature)
            finally:
                call.inputs = {}                 # the request's values are arrays now, or refused
                if call.converted is not None:
                    call.converted()
            with self._admitted(model, signature, feeds, call.held_bytes, call.timeout_ms), _tensorflow_errors():
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
            feeds = {input_name: call.examples}
            with self._admitted(model, signature, feeds, 0, call.timeout_ms), _tensorflow_errors():
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
