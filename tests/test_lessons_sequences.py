"""Lessons 33 (sequences: a GRU by hand over tf.scan, embeddings) and 34 (weight decay, a learning-rate sweep
read by TensorBoard's HParams plugin) in --fast mode: the mechanisms, and verdicts that follow their numbers."""
import json
import urllib.request

import pytest

from conftest import REPO, tensorboard
from lowtf.verdicts import follows


def test_33_sequences_gru_over_scan_and_embeddings(run_lesson):
    summary, _ = run_lesson("33")
    # Keras 3 took tf.nn.rnn_cell: the lesson shows the error (or says a legacy Keras was switched on)
    assert "not available with Keras 3" in summary["rnn_cell_error"] or "legacy" in summary["rnn_cell_error"]
    assert summary["gru_parameters"] == 3 * ((28 + 64) * 64 + 64)
    # scan, while_loop and the unrolled Python loop compute the same states; only unrolling grows the graph
    assert summary["loop_max_difference"] < 1e-5
    assert summary["ops_unrolled"] > 5 * summary["ops_scan"]
    assert summary["gru_test_accuracy"] >= 0.8                  # 28 rows read in order name the digit
    assert summary["lookup_vs_one_hot_max_difference"] == 0.0   # embedding_lookup = one_hot @ E
    # GRU vs chance, vs the cell without memory, in order vs reversed, word groups: each verdict from its numbers
    assert len(summary["verdicts"]) == 4 and all(follows(v) for v in summary["verdicts"])
    source = (REPO / "lessons/33_sequences.py").read_text()
    assert "tf.scan(" in source and "tf.while_loop(" in source and "tf.nn.embedding_lookup(" in source
    assert "tf.variable_scope(" in source and "tf.get_variable(" in source


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


@pytest.mark.slow   # default suite: exercise 21 checks L2 in the loss; lesson 35's test reads an HParams sweep over the HTTP API
def test_34_weight_decay_and_a_sweep_the_hparams_dashboard_reads(run_lesson):
    summary, _ = run_lesson("34")
    # one descent step on the penalty alone multiplies every weight by (1 - rate * lambda)
    assert summary["decay_step_max_difference"] < 1e-6
    runs = summary["decay_comparison"]
    assert runs["decay"]["sum of squared weights"] < runs["no decay"]["sum of squared weights"]
    assert len(summary["verdicts"]) == 3 and all(follows(v) for v in summary["verdicts"])
    assert len(summary["sweep"]) == 6
    # the real TensorBoard's HParams plugin sees the sweep: the hyperparameter, the metric, one group per rate
    with tensorboard(summary["sweep_dir"]) as base:
        experiment = _post(base + "/data/plugin/hparams/experiment", {"experimentName": ""})
        assert [h["name"] for h in experiment["hparamInfos"]] == ["learning_rate"]
        assert [m["name"]["tag"] for m in experiment["metricInfos"]] == ["test_accuracy"]
        groups = _post(base + "/data/plugin/hparams/session_groups", {
            "experimentName": "", "startIndex": 0, "sliceSize": 100, "colParams": [],
            "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]})
    rates = sorted(g["hparams"]["learning_rate"] for g in groups["sessionGroups"])
    assert rates == pytest.approx([0.01, 0.03, 0.1, 0.3, 1.0, 3.0])
    for group in groups["sessionGroups"]:
        (metric,) = group["metricValues"]
        shown = summary["sweep"][f"lr={group['hparams']['learning_rate']:g}"]
        assert f"test accuracy {metric['value']:.4f}" in shown      # the table and the dashboard agree
