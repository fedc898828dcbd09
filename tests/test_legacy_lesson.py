"""Lesson 38 runs an old script both ways and shows tf_upgrade_v2's report: its numbers say what happened."""
from __future__ import annotations

import re

import pytest


@pytest.mark.slow   # default suite: test_legacy_run runs every script style unedited under lowtf run
def test_38_edited_imports_stop_at_contrib_lowtf_run_trains_and_the_upgrader_reports(run_lesson):
    s, logdir = run_lesson("38")
    # way 1: the README's import edits get the script past its imports, then tf.contrib stops it
    assert s["edited_exit"] == 1 and "contrib" in s["edited_error"], s["edited_error"]
    assert s["edited_tensorflow_lines"] >= 1          # what a run prints with no filter
    # way 2: unedited under lowtf run: trained, and only lowtf's one summary line on standard error
    assert s["unedited_exit"] == 0 and s["test_accuracy"] >= 0.90, s
    assert len(s["unedited_stderr"]) == 1 and re.match(r"lowtf run: \d+ lines", s["unedited_stderr"][0])
    # tf_upgrade_v2 on the same file: one error (tf.contrib) left for a person, tf.layers.dense left as it was
    assert s["upgrade_errors"] == 1 and s["upgrade_findings"] > s["upgrade_errors"]
    assert s["upgrade_leaves_layers"] is True
    upgraded = (logdir / "old_mnist_upgraded.py").read_text()
    assert "tf.compat.v1.placeholder" in upgraded and "tf.contrib.layers.flatten" in upgraded
