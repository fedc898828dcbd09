"""Which number format a Session computes in: float32, or bfloat16 through Grappler's oneDNN rewrite.

Taught in lesson 27 (number formats and mixed precision). One line of ``ConfigProto`` turns the
rewrite on: ``graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16 = ON``. Grappler
then rewrites the graph it is given before the first run: the ops on its allow list (convolutions,
matrix products and their gradients) and the cheap ops between them compute in bfloat16, with
``Cast`` ops at the borders; the Variables (the master weights), the loss and the softmax stay
float32. How many ops it changed is read back from the optimized graph (``bfloat16_ops``).

``choose("auto")`` picks bfloat16 only where it can pay: the CPU has bfloat16 units (``amx_bf16``,
or ``avx512_bf16``) and a short probe, a LeNet-5 training step in both formats, measures a gain
beyond the probe's own noise. Anything else (``float32``, an AVX2-only CPU, no gain) is float32,
and the choice says why in one line.
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

PRECISIONS = ("float32", "bfloat16", "auto")
BF16_FLAGS = ("amx_bf16", "avx512_bf16")     # CPU flags of units that compute in bfloat16
PROBE_GAIN = 1.15                            # auto needs bfloat16 this much faster (probe spreads measured: 3-9%)


@dataclass(frozen=True)
class Choice:
    precision: str      # "float32" or "bfloat16": what the Session computes in
    reason: str         # why, in under 80 characters


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict:
    """{flag: present} for the flags that decide speed here: avx2, avx512f, avx512_bf16, amx_bf16."""
    try:
        words = set(next((line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")), "").split())
    except OSError:
        words = set()
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


def bfloat16_ops(metadata: tf.RunMetadata) -> dict:
    """{op type: how many} of the ops that compute in bfloat16 in the graphs a run executed.

    Needs ``RunOptions(output_partition_graphs=True)``: the partition graphs are the optimized
    graphs, after Grappler's rewrites. An op counts when a type attribute of it is bfloat16
    (``T``, or ``DstT`` for the casts into bfloat16)."""
    found = collections.Counter()
    for graph in metadata.partition_graphs:
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


def choose(requested: str, flags: dict | None = None, measure=_probe_once) -> Choice:
    """Resolve ``requested`` ("float32", "bfloat16" or "auto") to the precision a run uses, and why."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision {requested!r} is not one of {', '.join(PRECISIONS)}")
    flags = cpu_flags() if flags is None else flags
    units = [f for f in BF16_FLAGS if flags.get(f)]
    if requested == "float32":
        return Choice("float32", "asked for float32")
    if requested == "bfloat16":
        where = f"the CPU has {units[0]}" if units else "this CPU has no bfloat16 units: expect it slower"
        return Choice("bfloat16", f"asked for bfloat16; {where}")
    if not units:
        return Choice("float32", "auto: no bfloat16 units here (no amx_bf16, no avx512_bf16)")
    found = measure()
    gain = f"probe: bfloat16 at {found['ratio']:.2f}x float32 (spread {found['spread']:.0%})"
    if found["ratio"] >= max(PROBE_GAIN, 1 + 2 * found["spread"]):
        return Choice("bfloat16", f"auto: {units[0]} here; {gain}")
    return Choice("float32", f"auto: {units[0]}; {gain}: too little")
