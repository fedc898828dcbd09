"""Which number format a Session computes in: float32, or bfloat16 through Grappler's oneDNN rewrite.

Taught in lesson 27 (number formats and mixed precision). One line of ``ConfigProto`` turns the
rewrite on: ``graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16 = ON``. Grappler
then rewrites the graph it is given before the first run: the ops on its allow list (convolutions,
matrix products and their gradients) and the cheap ops between them compute in bfloat16, with
``Cast`` ops at the borders; the Variables (the master weights), the loss and the softmax stay
float32. How many ops it changed is read back from the optimized graph (``bfloat16_ops``).

``choose("auto")`` picks bfloat16 only where it can pay: the CPU has bfloat16 units (``amx_bf16``,
or ``avx512_bf16``: ``lowtf.host`` class "native") and a short probe, a LeNet-5 training step in
both formats, measures a gain beyond the probe's own noise. Anything else (``float32``, AVX-512
without the units, an AVX2-only CPU, no gain) is float32, and the choice says why in one line.
bfloat16 is never trained where TensorFlow would run it on Eigen's fallback kernels (~0.09x
float32) or where ``ONEDNN_MAX_CPU_ISA`` caps oneDNN below AVX-512 (it fails there): asking for it
there raises ``BFloat16Unavailable``, naming the host and the fix.
"""
from __future__ import annotations

import collections
import functools
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import tensorflow.compat.v1 as tf
from tensorflow.core.protobuf import rewriter_config_pb2

from lowtf.host import BF16_UNITS, Host, this_host

PRECISIONS = ("float32", "bfloat16", "auto")
BF16_FLAGS = BF16_UNITS                      # CPU flags of units that compute in bfloat16
PROBE_GAIN = 1.15                            # auto needs bfloat16 this much faster (probe spreads measured: 3-9%)


@dataclass(frozen=True)
class Choice:
    precision: str      # "float32" or "bfloat16": what the Session computes in
    reason: str         # why, in under 80 characters


class BFloat16Unavailable(ValueError):
    """bfloat16 asked for on a host where TensorFlow cannot train in it on oneDNN."""


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict:
    """{flag: present} for the flags that decide speed here: avx2, avx512f, avx512_bf16, amx_bf16."""
    from lowtf.host import detect

    words = detect(cpuinfo, system="Linux").flags if cpuinfo != Path("/proc/cpuinfo") else this_host().flags
    return {flag: flag in words for flag in ("avx2", "avx512f", *reversed(BF16_FLAGS))}


def session_config(precision: str, config: tf.ConfigProto | None = None) -> tf.ConfigProto:
    """A copy of ``config`` whose graph rewrite computes in ``precision`` ("float32" or "bfloat16")."""
    if precision not in ("float32", "bfloat16"):
        raise ValueError(f"precision {precision!r}: a Session computes in 'float32' or 'bfloat16' "
                         "(resolve 'auto' with choose() first)")
    out = tf.ConfigProto()
    if config is not None:
        out.CopyFrom(config)
    on = rewriter_config_pb2.RewriterConfig.ON if precision == "bfloat16" else rewriter_config_pb2.RewriterConfig.OFF
    out.graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16 = on
    return out


def rewritten_graph(graph: tf.Graph, keep, precision: str = "bfloat16") -> tf.GraphDef:
    """``graph`` as Grappler rewrites it for a Session configured by ``session_config(precision)``,
    without running anything (TensorFlow's own Grappler entry point, ``tf_optimizer.OptimizeGraph``).
    ``keep``: the ops the Session would run (its fetches); Grappler prunes what they do not need."""
    from tensorflow.python.grappler import tf_optimizer

    with graph.as_default():
        for op in keep:
            tf.add_to_collection("train_op", op)      # the fetches Grappler must keep
        meta = tf.train.export_meta_graph(graph=graph)
    return tf_optimizer.OptimizeGraph(session_config(precision), meta)


def bfloat16_ops(metadata) -> dict:
    """{op type: how many} of the ops that compute in bfloat16 in the graphs a run executed
    (a ``RunMetadata``), or in one optimized ``GraphDef``.

    A run needs ``RunOptions(output_partition_graphs=True)``: the partition graphs are the optimized
    graphs, after Grappler's rewrites. An op counts when a type attribute of it is bfloat16
    (``T``, or ``DstT`` for the casts into bfloat16)."""
    found = collections.Counter()
    graphs = [metadata] if isinstance(metadata, tf.GraphDef) else metadata.partition_graphs
    for graph in graphs:
        for node in graph.node:
            if any(node.attr[key].type == tf.bfloat16.as_datatype_enum for key in ("T", "DstT") if key in node.attr):
                found[node.op] += 1
    return dict(sorted(found.items(), key=lambda kv: -kv[1]))


def probe(batch: int = 128, steps: int = 8, rounds: int = 3) -> dict:
    """Images/s of a LeNet-5 training step in float32 and in bfloat16, interleaved over ``rounds``.

    Returns {"float32": median, "bfloat16": median, "ratio": bf16/fp32, "spread": the larger
    relative spread (max-min)/median of the two, "rounds": {precision: [images/s per round]}}.
    Takes ~2 s on 2 cores with the defaults."""
    import numpy as np

    from lowtf.models import lenet5

    rates = {"float32": [], "bfloat16": []}
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        images = tf.constant(np.random.RandomState(0).rand(batch, 28, 28, 1).astype(np.float32))
        labels = tf.constant(np.random.RandomState(1).randint(0, 10, batch).astype(np.int64))
        logits, _ = lenet5(images, tf.constant(True))
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
        init = tf.global_variables_initializer()
        sessions = {p: tf.Session(config=session_config(p)) for p in rates}
        try:
            for sess in sessions.values():
                sess.run(init)
                for _ in range(2):      # the first runs optimise the graph and pick kernels
                    sess.run(train_op)
            for _ in range(rounds):
                for precision, sess in sessions.items():
                    t0 = time.perf_counter()
                    for _ in range(steps):
                        sess.run(train_op)
                    rates[precision].append(steps * batch / (time.perf_counter() - t0))
        finally:
            for sess in sessions.values():
                sess.close()
    medians = {p: statistics.median(r) for p, r in rates.items()}
    spread = max((max(r) - min(r)) / statistics.median(r) for r in rates.values())
    return {**{p: round(m, 1) for p, m in medians.items()},
            "ratio": round(medians["bfloat16"] / medians["float32"], 3), "spread": round(spread, 3),
            "rounds": {p: [round(x, 1) for x in r] for p, r in rates.items()}}


@functools.lru_cache(maxsize=None)
def _probe_once() -> dict:
    return probe()      # once per process: the CPU does not change during a run


def choose(requested: str, host: Host | None = None, measure=_probe_once) -> Choice:
    """Resolve ``requested`` ("float32", "bfloat16" or "auto") to the precision a run uses, and why.

    ``host``: ``lowtf.host.this_host()`` by default. Raises ``BFloat16Unavailable`` for "bfloat16"
    on a host whose class is "fallback" or "unknown"."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision {requested!r} is not one of {', '.join(PRECISIONS)}")
    host = this_host() if host is None else host
    kind, units = host.bfloat16_class, host.bfloat16_units
    if requested == "float32":
        return Choice("float32", "asked for float32")
    if requested == "bfloat16":
        if not host.bfloat16_trains:
            why = ("oneDNN is capped below AVX-512 (ONEDNN_MAX_CPU_ISA), where its bfloat16 kernels fail"
                   if host.isa_cap and host.cap_level < 2 and "avx512f" in host.flags else
                   "TensorFlow would run it on its Eigen fallback, ~10x slower than float32"
                   if kind == "fallback" else "this CPU's features could not be read")
            raise BFloat16Unavailable(
                f"bfloat16 does not train on this host ({host.line()[6:]}): {why}. It needs AVX-512, "
                "best with bfloat16 units (avx512_bf16 or amx_bf16): use precision 'float32' or 'auto'")
        where = f"the CPU has {units}" if kind == "native" else "emulated on AVX-512: expect it slower"
        return Choice("bfloat16", f"asked for bfloat16; {where}")
    if kind != "native":
        return Choice("float32", {"emulated": "auto: AVX-512 without bfloat16 units",
                                  "fallback": "auto: bfloat16 would run on Eigen's fallback here",
                                  "unknown": "auto: CPU features unknown"}[kind])
    found = measure()
    gain = f"probe: bfloat16 at {found['ratio']:.2f}x float32 (spread {found['spread']:.0%})"
    if found["ratio"] >= max(PROBE_GAIN, 1 + 2 * found["spread"]):
        return Choice("bfloat16", f"auto: {units} here; {gain}")
    return Choice("float32", f"auto: {units}; {gain}: too little")
