"""Lessons 30-32 in --fast mode: a first model seen whole, variable sharing, control flow and debugging.
Each test checks the mechanism a lesson shows (and that its verdicts follow from their numbers), never
which way a seed happened to fall."""
import math

import numpy as np

from lowtf.verdicts import follows


def test_30_linear_regression(run_lesson):
    summary, logdir = run_lesson("30")
    # tf.gradients is the formula worked by hand; the hand step is minimize's step
    assert summary["gradient_tf_vs_hand_max_diff"] < 1e-5
    assert summary["hand_step_vs_minimize_max_diff"] < 1e-6
    before, after = summary["loss_before_and_after_one_step"]
    assert after < before
    # the loop converged to least squares' closed form, at the grid's lowest cell
    assert summary["loss_end"] < summary["loss_start"]
    assert summary["descent_vs_closed_form_max_diff"] < 1e-3
    fit = (summary["fitted_w"], summary["fitted_b"])
    assert all(abs(g - f) <= summary["grid_cell"] for g, f in zip(summary["grid_minimum"], fit))
    assert (logdir / "loss_surface.png").stat().st_size > 10_000
    # below 2 / L descent settles; above it the loss explodes
    assert summary["loss_below_limit"] < summary["loss_start"] < summary["loss_above_limit"]
    assert summary["loss_above_limit"] > 100 * summary["loss_start"]
    # standard errors from the regression, and three verdicts read from them
    se = summary["standard_errors"]
    assert 0 < se["w"] < 1 and 0 < se["b"] < 1 and 0 < summary["noise_estimate"] < 1
    assert len(summary["verdicts"]) == 3 and all(follows(v) for v in summary["verdicts"])
    assert math.isclose(summary["verdicts"][0]["se"], round(se["w"], 4))


def test_31_variable_sharing(run_lesson):
    summary, _ = run_lesson("31")
    assert summary["tf_variable_twice"] == ["layer/weights", "layer_1/weights"]      # two layers, unasked
    assert summary["get_variable_name"] == "layer1/weights"
    assert "already exists, disallowed" in summary["second_create_error"]
    assert "reuse=True" in summary["second_create_error"]
    assert summary["reuse_is_same_object"] and summary["reuse_variables"] == ["layer1/weights"]
    assert "does not exist" in summary["reuse_errors"]["missing"]
    assert "Trying to share variable layer1/weights" in summary["reuse_errors"]["other shape"]
    assert summary["auto_reuse_variables"] == ["shared/weights", "shared/biases"]
    assert summary["auto_reuse_same_output"]
    # name_scope does not prefix get_variable; variable_scope prefixes both; reuse reopens ops as vs_1/
    names = summary["scope_names"]
    assert names["inside name_scope('ns')"] == {"get_variable('v')": "v", "tf.Variable(name='u')": "ns/u",
                                                "an op": "ns/op"}
    assert names["inside variable_scope('vs')"]["get_variable('v')"] == "vs/v"
    assert names["variable_scope('vs', reuse=True)"] == {"get_variable('v')": "vs/v", "an op": "vs_1/op"}
    assert summary["scope_variables"] == ["v", "ns/u", "vs/v", "vs/u"]
    # two towers on two devices, one set of Variables, the averaged gradient = the whole batch's
    assert summary["tower_variables"] == ["hidden/weights", "hidden/biases", "output/weights", "output/biases"]
    assert summary["tower_devices"] == ["/device:CPU:0", "/device:CPU:1"]
    assert summary["averaged_vs_whole_batch_grad_max_diff"] < 1e-5
    assert len(summary["verdicts"]) == 1 and follows(summary["verdicts"][0])


def test_32_control_flow_and_debugging(run_lesson):
    summary, logdir = run_lesson("32")
    assert "OperatorNotAllowedInGraphError" in summary["python_if_error"]
    assert summary["python_if_ops"].count("Mul") == 1 and "Neg" not in summary["python_if_ops"]
    assert summary["cond_values"] == [6.0, 3.0, 5.0]
    assert summary["cond_counts"] == {"outside": 3, "inside": 2}       # 3 runs; the op inside ran twice
    counts = summary["loop_op_counts"]
    (small, *_), (large, *_) = counts[min(counts)], counts[max(counts)]
    assert large - small >= 2 * (max(counts) - min(counts))            # unrolled: ops grow with n
    assert len({loop for _, loop in counts.values()}) == 1              # tf.while_loop: the same graph
    for a, found in summary["newton"].items():
        assert abs(found["root"] ** 2 - a) / a < 1e-3 and found["iterations"] >= 1
    assert summary["scan_vs_python_max_diff"] < 1e-5 and summary["scan_length"] == 50
    # tf.print: silent with nothing depending on it; printed under a control dependency, to the file
    assert summary["print_without_dependency"] == ""
    assert summary["print_with_dependency"].startswith("x = [4 5 6] sum = 15")
    assert (logdir / "tf_print.txt").read_text().strip() == summary["print_with_dependency"]
    assert "tf.Print says x = [7 8 9]" in summary["tf_Print_logged"]           # caught on file descriptor 2
    found = summary["numerics"]
    assert found["naive, the loss alone"] == {"loss": 1000.0}          # Grappler's log_softmax rewrite
    assert math.isnan(found["naive, loss and gradient"]["loss"])
    assert np.isnan(found["naive, loss and gradient"]["dloss/dz"]).all()
    assert "dloss/dz : Tensor had NaN values" in found["naive, check_numerics(dloss/dz)"]
    assert found["naive, add_check_numerics_ops()"].startswith("log_probs:0 : Tensor had Inf values")
    fused = found["fused, add_check_numerics_ops()"]
    assert fused["loss"] == 1000.0 and np.isfinite(fused["dloss/dz"]).all()
    asserted = summary["asserts"]
    assert asserted["labels [3, 7]"] == "[0.1 0.1]"
    assert "labels must be 0-9" in asserted["labels [3, 12]"] and "[3 12]" in asserted["labels [3, 12]"]
    assert "each row of probs sums to 1" in asserted["rows summing to 2"]
