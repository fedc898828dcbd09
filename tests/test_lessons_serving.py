"""Lessons 17-21 in --fast mode."""


def test_21_export_cli_serve_and_new_version(run_lesson):
    s, logdir = run_lesson("21")
    assert "inputs['images'] tensor_info" in s["cli_show"] and "shape: (-1, 28, 28, 1)" in s["cli_show"]
    assert "outputs['probabilities']" in s["cli_show"] and "name: classes:0" in s["cli_show"]
    assert s["cli_run"].startswith("Result for output key classes:")
    assert s["served_class"] == s["true_label"] == 7
    assert s["served_accuracy"] > 0.8 and s["requests_per_second"] > 0
    assert s["served_version"] == 2
    assert (logdir / "models" / "lenet5" / "1" / "saved_model.pb").exists()
