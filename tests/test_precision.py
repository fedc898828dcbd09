"""Number formats: auto chooses as documented, the bfloat16 rewrite happens when asked on a CPU that has
bfloat16 units, float32 is left untouched, and the trainer scores a bfloat16 run in float32."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf
from tensorflow.core.protobuf import rewriter_config_pb2

from lowtf.data.splits import load_splits
from lowtf.host import Host, this_host
from lowtf.models import mlp
from lowtf.train import TrainConfig, train
from lowtf.train import precision

HAS_BF16_UNITS = any(precision.cpu_flags()[f] for f in precision.BF16_FLAGS)
TRAINS_BF16 = this_host().bfloat16_trains      # not under ONEDNN_MAX_CPU_ISA=AVX2, nor on an AVX2 CPU
AVX512_BF16 = Host("test CPU", 2, "x86_64", frozenset({"avx2", "avx512f", "avx512_bf16"}), "test")


def test_cpu_flags_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 sse\n")
    assert precision.cpu_flags(cpuinfo) == {"avx2": True, "avx512f": True, "avx512_bf16": True, "amx_bf16": False}
    assert not any(precision.cpu_flags(tmp_path / "missing").values())


def test_auto_chooses_as_documented():
    """With bfloat16 units, auto follows the probe (tests/test_host.py: every class of host)."""
    gain = precision.choose("auto", AVX512_BF16, lambda: {"ratio": 1.54, "spread": 0.05})
    assert gain.precision == "bfloat16" and "avx512_bf16" in gain.reason and "1.54x" in gain.reason
    assert len(gain.reason) < 77     # printed on a line of its own
    small = precision.choose("auto", AVX512_BF16, lambda: {"ratio": 1.10, "spread": 0.02})
    assert small.precision == "float32" and "1.10x" in small.reason
    noisy = precision.choose("auto", AVX512_BF16, lambda: {"ratio": 1.3, "spread": 0.2})   # gain < 2 spreads
    assert noisy.precision == "float32"
    with pytest.raises(ValueError, match="not one of"):
        precision.choose("float16", AVX512_BF16)


def test_session_config_sets_the_rewrite_and_keeps_the_rest():
    base = tf.ConfigProto(intra_op_parallelism_threads=1)
    on = precision.session_config("bfloat16", base)
    assert on.graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16 == rewriter_config_pb2.RewriterConfig.ON
    assert on.intra_op_parallelism_threads == 1 and base.graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16 == 0
    off = precision.session_config("float32")
    assert off.graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16 == rewriter_config_pb2.RewriterConfig.OFF
    with pytest.raises(ValueError, match="choose"):
        precision.session_config("auto")


def _ops_in(precision_name: str) -> dict:
    images = tf.constant(np.random.RandomState(0).rand(16, 28, 28, 1).astype(np.float32))
    labels = tf.constant(np.arange(16) % 10)
    logits, _ = mlp(images, tf.constant(True))
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
    with tf.Session(config=precision.session_config(precision_name)) as sess:
        sess.run(tf.global_variables_initializer())
        metadata = tf.RunMetadata()
        sess.run(train_op, options=tf.RunOptions(output_partition_graphs=True), run_metadata=metadata)
        assert metadata.partition_graphs    # the optimized graphs came back: a count of 0 means 0
        return precision.bfloat16_ops(metadata)


def test_float32_is_untouched():
    assert _ops_in("float32") == {}


@pytest.mark.skipif(not (HAS_BF16_UNITS and TRAINS_BF16), reason="this CPU has no bfloat16 units, or oneDNN is capped")
def test_the_rewrite_puts_the_matrix_products_in_bfloat16_when_asked():
    ops = _ops_in("bfloat16")
    assert any("MatMul" in op for op in ops) and ops.get("Cast", 0) > 0


def test_trainer_records_its_precision_and_scores_bfloat16_in_float32(tmp_path):
    small = load_splits(validation_size=0, train_size=1000, test_size=500)
    adam = lambda step: tf.train.AdamOptimizer(1e-3)  # noqa: E731
    if not TRAINS_BF16:      # an AVX2 host (or the capped proxy): the trainer refuses, naming the fix
        config = TrainConfig(steps=3, batch_size=32, eval_every=3, progress=False, precision="bfloat16")
        with pytest.raises(precision.BFloat16Unavailable, match="'float32' or 'auto'"):
            train(mlp, small, adam, config, tmp_path / "refused")
        pytest.skip("bfloat16 does not train on this host: " + this_host().line())
    runs = {}
    for name in ("float32", "bfloat16"):
        config = TrainConfig(steps=30, batch_size=32, eval_every=30, histogram_every=30, trace_step=None,
                             progress=False, seed=1, precision=name)      # what precision changes, not the extras
        runs[name] = train(mlp, small, adam, config, tmp_path / name)
    fp32, bf16 = runs["float32"], runs["bfloat16"]
    assert fp32.precision == "float32" and fp32.bfloat16_ops == {} and fp32.low_precision_test_accuracy is None
    assert bf16.precision == "bfloat16" and "asked for bfloat16" in bf16.precision_reason
    assert bf16.low_precision_test_accuracy is not None and 0.5 < bf16.final_test_accuracy <= 1
    assert abs(bf16.loss[-1] - fp32.loss[-1]) < 0.5   # the same model on the same batches: close
    if HAS_BF16_UNITS:       # and, rounded to bfloat16, not equal
        assert sum(bf16.bfloat16_ops.values()) > 0 and bf16.loss != fp32.loss
