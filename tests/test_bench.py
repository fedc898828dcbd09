"""The benchmark's variants run and measure something (speed targets live in the benchmark, not here)."""
import pytest

from lowtf.bench import throughput, variants


@pytest.mark.parametrize("mode", ["feed_dict", "tf.data"])
def test_raw_graph_variants(mode):
    assert variants.raw_graph(steps=2, batch=16, input_mode=mode) > 0


def test_trainer_variant():
    assert variants.lowtf_trainer(steps=2, batch=16) > 0


def test_keras_variant_in_its_own_process():
    assert throughput._subprocess_variant("keras", 2, 16) > 0


def test_profiler_counts_lenet5_training_flops():
    mflop = throughput.lenet5_train_flops_per_image(batch=16) / 1e6
    assert 75 < mflop < 95  # forward + backward + Adam for 3.27 M parameters: ~83 MFLOP


def test_bfloat16_entries_measure_something():
    assert variants.lowtf_trainer(steps=2, batch=16, precision="bfloat16") > 0
    assert throughput.matmul_gflops(n=256, repeats=2, dtype="bfloat16") > 0
    assert "lowtf trainer, bfloat16" in throughput.available_variants(("float32", "bfloat16"))
