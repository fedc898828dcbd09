"""One version of a model, loaded: its Session, its signatures, and how it runs a request.

``load_version(path, version, options)`` loads a SavedModel into a Session of its own graph
(TF Serving's ``SavedModelBundle``); ``LoadedModel.run`` runs one signature on numpy feeds,
through the batcher when batching is on.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import tensorflow.compat.v1 as tf
from tensorflow.core.framework import types_pb2

from lowtf.serve.batching import Batcher
from lowtf.serve.core.memory import bytes_per_example
from lowtf.serve.export import SERVING_TAG


@dataclass
class TensorSpec:
    name: str              # graph tensor name, e.g. "images:0"
    dtype: tf.DType
    shape: Optional[list]  # None for unknown rank; -1 for unknown dims

    def to_json(self) -> dict:
        shape = {"dim": [{"size": str(d), "name": ""} for d in (self.shape or [])],
                 "unknown_rank": self.shape is None}
        return {"dtype": types_pb2.DataType.Name(self.dtype.as_datatype_enum), "tensor_shape": shape,
                "name": self.name}


@dataclass
class Signature:
    inputs: dict           # {input name: TensorSpec}
    outputs: dict
    method_name: str
    bytes_per_example: Optional[int] = None   # a run's peak memory per example (core.memory); None: unknown


def default_batch_threads() -> int:
    """Batches run at once by default: half the CPUs this process may use, at least one.

    TF Serving's default (num_batch_threads) is every CPU, beside a C++ front that costs little.
    lowtf's fronts are Python, one core at a time (the GIL): measured on 2 cores with 16 clients,
    two batching threads took the requests as they came (2.5 a batch) and starved the front,
    one left it a core and batches grew (4-7, less CPU per request)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:          # not Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus // 2)


@dataclass(frozen=True)
class Batching:
    """``--enable_batching``: up to ``max_batch_size`` examples per run, waiting ``timeout_s`` for more.

    TF Serving's defaults are max_batch_size 1000, batch_timeout_micros 0 and num_batch_threads
    one per CPU; lowtf keeps 32 examples (a REST request thread per two examples, below) and
    ``default_batch_threads``."""

    max_batch_size: int = 32
    timeout_s: float = 0.0          # batch_timeout_micros / 1e6
    threads: int = field(default_factory=default_batch_threads)   # batches run at once (num_batch_threads)

    def request_threads(self) -> int:
        """Request threads a front needs to fill batches: TF Serving's batching guide recommends
        "the number of client threads to roughly twice the maximum batch size"."""
        return 2 * self.max_batch_size


@dataclass(frozen=True)
class ServingOptions:
    """How each version's Session runs: TF Serving's ``--tensorflow_intra_op_parallelism`` and
    ``--tensorflow_inter_op_parallelism`` (0: TensorFlow's choice, a thread per core) and batching."""

    intra_op_threads: int = 0
    inter_op_threads: int = 0
    batching: Optional[Batching] = None
    warmup: bool = True             # --enable_model_warmup: replay assets.extra's requests at load (warmup.py)

    def session_config(self) -> tf.ConfigProto:
        return tf.ConfigProto(intra_op_parallelism_threads=self.intra_op_threads,
                              inter_op_parallelism_threads=self.inter_op_threads)


@dataclass
class LoadedModel:
    version: int
    session: tf.Session
    signatures: dict       # {signature name: Signature}
    signature_defs: dict = field(default_factory=dict)   # {name: SignatureDef proto}, for metadata
    in_flight: int = 0     # requests running on this version now
    retired: bool = False  # a newer version took over: close the Session when the last request ends
    batcher: Optional[Batcher] = None   # --enable_batching: concurrent requests share Session runs

    def run(self, signature: str, feeds: dict[str, np.ndarray], timeout_ms: Optional[int] = None
            ) -> dict[str, np.ndarray]:
        """Run ``signature`` on ``feeds``; past ``timeout_ms`` it raises ``tf.errors.DeadlineExceededError``."""
        if self.batcher is not None:
            return self.batcher.run(signature, feeds, timeout_ms)
        return self.run_now(signature, feeds, timeout_ms)

    def run_now(self, signature: str, feeds: dict[str, np.ndarray], timeout_ms: Optional[int] = None
                ) -> dict[str, np.ndarray]:
        """One Session.run for these feeds, never merged with other requests."""
        sig = self.signatures[signature]
        fetch = {k: spec.name for k, spec in sig.outputs.items()}
        options = tf.RunOptions(timeout_in_ms=max(1, timeout_ms)) if timeout_ms is not None else None
        return self.session.run(fetch, {sig.inputs[k].name: v for k, v in feeds.items()}, options=options)

    def close(self) -> None:
        if self.batcher is not None:
            self.batcher.close()
        self.session.close()


def _spec(info) -> TensorSpec:
    shape = None if info.tensor_shape.unknown_rank else [int(d.size) for d in info.tensor_shape.dim]
    return TensorSpec(info.name, tf.dtypes.as_dtype(info.dtype), shape)


def load_version(path: Path, version: int, options: ServingOptions = ServingOptions()) -> LoadedModel:
    graph = tf.Graph()
    session = tf.Session(graph=graph, config=options.session_config())
    with graph.as_default():
        meta = tf.saved_model.loader.load(session, [SERVING_TAG], str(path))
    # Object-based SavedModels (Keras 3 `model.export`, `tf.saved_model.save`) also carry
    # `__saved_model_init_op`: the loader has already run it, and its output has no dtype
    # (DT_INVALID), so it is no signature to serve, as in TF Serving.
    signatures = {name: Signature({k: _spec(v) for k, v in sd.inputs.items()},
                                  {k: _spec(v) for k, v in sd.outputs.items()}, sd.method_name)
                  for name, sd in meta.signature_def.items()
                  if all(v.dtype != types_pb2.DT_INVALID for v in (*sd.inputs.values(), *sd.outputs.values()))}
    for signature in signatures.values():
        signature.bytes_per_example = bytes_per_example(
            graph, [v.name for v in signature.inputs.values()], [v.name for v in signature.outputs.values()])
    model = LoadedModel(version, session, signatures, {name: meta.signature_def[name] for name in signatures})
    if options.batching is not None:
        b = options.batching
        model.batcher = Batcher(model.run_now, b.max_batch_size, b.timeout_s, b.threads)
    return model
