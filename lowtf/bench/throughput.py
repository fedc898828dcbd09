"""``lowtf bench``: LeNet-5 training throughput, every variant interleaved over several rounds.

Reports the median images/s of each variant, its ratio to the raw tf.data graph, and the
achieved GFLOP/s (the training step's FLOPs counted by TensorFlow's profiler) against a
2048x2048 matmul measured in the same run. Prints a table and writes JSON.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import platform
import statistics
import sys
import time
from pathlib import Path

from lowtf.bench import variants
from lowtf.child import run_json


def matmul_gflops(n: int = 2048, repeats: int = 10, dtype: str = "float32") -> float:
    """GFLOP/s of an n x n matrix product in ``dtype`` (float32 or bfloat16): the machine's peak for it."""
    import tensorflow.compat.v1 as tf

    with tf.Graph().as_default():
        m = tf.Variable(tf.cast(tf.random_normal([n, n], seed=0), dtype))
        product = tf.reduce_sum(tf.cast(tf.matmul(m, m), tf.float32))
        with tf.Session() as sess:
            sess.run(m.initializer)
            sess.run(product)
            t0 = time.perf_counter()
            for _ in range(repeats):
                sess.run(product)
            return repeats * 2 * n ** 3 / (time.perf_counter() - t0) / 1e9


def lenet5_train_flops_per_image(batch: int = 128) -> float:
    """FLOPs of one training step (forward, backward, Adam) / batch, from the profiler."""
    import tensorflow.compat.v1 as tf

    from lowtf.models import lenet5

    with tf.Graph().as_default() as g:
        images = tf.zeros([batch, 28, 28, 1])
        labels = tf.zeros([batch], tf.int64)
        logits, _ = lenet5(images, tf.constant(True))
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        tf.train.AdamOptimizer(1e-3).minimize(loss)
        opts = tf.profiler.ProfileOptionBuilder(tf.profiler.ProfileOptionBuilder.float_operation()).with_empty_output().build()
        return tf.profiler.profile(g, options=opts).total_float_ops / batch


def _subprocess_variant(name: str, steps: int, batch: int) -> float:
    """A variant that needs a process of its own (Keras's eager mode, PyTorch)."""
    return run_json([sys.executable, "-m", "lowtf.bench.variants", name, str(steps), str(batch)],
                    timeout=900)["images_per_second"]


def available_variants(precisions=("float32",)) -> dict:
    found = {
        "lowtf trainer": lambda s, b: variants.lowtf_trainer(s, b),
        **{f"lowtf trainer, {p}": functools.partial(variants.lowtf_trainer, precision=p)
           for p in precisions if p != "float32"},
        "raw graph, feed_dict": lambda s, b: variants.raw_graph(s, b, "feed_dict"),
        "raw graph, tf.data": lambda s, b: variants.raw_graph(s, b, "tf.data"),
        "Keras 3 train_on_batch": lambda s, b: _subprocess_variant("keras", s, b),
    }
    if importlib.util.find_spec("torch") is not None:
        found["PyTorch"] = lambda s, b: _subprocess_variant("torch", s, b)
    return found


def measure_throughput(batches=(50, 128), steps: int = 40, rounds: int = 3, out: Path = Path("runs/bench/throughput.json"),
                       precisions=("float32",)) -> dict:
    """Every variant interleaved over ``rounds``; with "bfloat16" in ``precisions`` the trainer runs in
    both formats in the same rounds, and the matmul peak is measured in both."""
    from lowtf.host import this_host
    from lowtf.train.precision import cpu_flags

    found = available_variants(precisions)
    rates = {b: {name: [] for name in found} for b in batches}
    for r in range(rounds):
        for b in batches:
            for name, fn in found.items():  # interleaved: machine noise hits every variant alike
                rates[b][name].append(fn(steps, b))
                print(f"round {r + 1}/{rounds} batch {b:>3} {name:<24} {rates[b][name][-1]:8.0f} img/s", flush=True)
    peaks = {p: round(matmul_gflops(dtype=p), 1) for p in dict.fromkeys(("float32", *precisions))}
    peak = peaks["float32"]
    flops = lenet5_train_flops_per_image()
    result = {"machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                          "python": platform.python_version()},
              "cpu_flags": cpu_flags(), "host": this_host().as_dict(), "matmul_gflops_by_precision": peaks,
              "steps": steps, "rounds": rounds, "matmul_gflops": round(peak, 1),
              "lenet5_train_mflop_per_image": round(flops / 1e6, 1), "batches": {}}
    for b in batches:
        base = statistics.median(rates[b]["raw graph, tf.data"])
        result["batches"][b] = {name: {"median_images_per_second": round(statistics.median(v)),
                                       "all": [round(x) for x in v],
                                       "ratio_to_raw_tf_data": round(statistics.median(v) / base, 2),
                                       "gflops": round(statistics.median(v) * flops / 1e9, 1)}
                                for name, v in rates[b].items()}
        for name, row in result["batches"][b].items():
            if name.startswith("lowtf trainer, "):   # the same trainer in another number format, same rounds
                row["ratio_to_float32_trainer"] = round(
                    statistics.median(rates[b][name]) / statistics.median(rates[b]["lowtf trainer"]), 2)
    print_table(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"\nJSON: {out}")
    return result


def print_table(result: dict) -> None:
    print(f"\nLeNet-5 training, median of {result['rounds']} rounds x {result['steps']} steps; "
          f"{result['lenet5_train_mflop_per_image']} MFLOP/image; matmul peak {result['matmul_gflops']} GFLOP/s")
    flags = [f for f, on in result.get("cpu_flags", {}).items() if on]
    peaks = ", ".join(f"{p} {g} GFLOP/s" for p, g in result.get("matmul_gflops_by_precision", {}).items())
    print(f"CPU flags: {', '.join(flags) or 'none of avx2, avx512f, avx512_bf16, amx_bf16'}; matmul: {peaks}")
    for b, table in result["batches"].items():
        print(f"\nbatch {b}")
        print(f"  {'variant':<26}{'img/s':>8}{'x raw tf.data':>15}{'GFLOP/s':>9}{'% of peak':>11}"
              "   (peak: the matmul of the same precision)")
        for name, row in table.items():
            own = name.split(", ")[-1] if name.startswith("lowtf trainer, ") else "float32"
            pct = 100 * row["gflops"] / result.get("matmul_gflops_by_precision", {}).get(own, result["matmul_gflops"])
            versus = f"  {row['ratio_to_float32_trainer']:.2f}x float32" if "ratio_to_float32_trainer" in row else ""
            print(f"  {name:<26}{row['median_images_per_second']:>8}{row['ratio_to_raw_tf_data']:>15.2f}"
                  f"{row['gflops']:>9.1f}{pct:>10.0f}%{versus}")
