"""lowtf.bench.reliability: its sections are a list other modules extend, its tally sums what must be
zero, and (make test-all) the whole replay against real servers reports all zeros."""
import json
import subprocess

import pytest

from conftest import PYTHON, REPO
from lowtf.bench import reliability


def test_sections_are_named_and_another_module_can_add_one(monkeypatch):
    monkeypatch.setattr(reliability, "SECTIONS", list(reliability.SECTIONS))
    names = [s.name for s in reliability.SECTIONS]
    assert {"bad inputs", "smuggling", "deep brackets", "idle sockets", "big bodies"} <= set(names)
    reliability.add_section(reliability.Section("processes", lambda work: {"orphans": 0, "denied": 2}, slow=True))
    reliability.add_section(reliability.Section("processes", lambda work: {"denied": 1}, slow=True))   # replaces
    assert [s.name for s in reliability.SECTIONS].count("processes") == 1
    results = reliability.tally(only=("processes",))
    assert results["processes"]["denied"] == 1 and results["total"]["denied"] == 1
    assert set(results["total"]) == set(reliability.ZERO_KEYS)
    assert reliability.tally(quick=True, only=("processes",))["total"]["denied"] == 0   # slow: skipped
    lines = []
    reliability.print_tally(results, lines.append)
    assert lines[-1] == "NOT all zero: denied 1"


@pytest.mark.slow
def test_the_whole_replay_reports_all_zeros(tmp_path):
    """Every section against real servers (the toy models and LeNet-5): 0 smuggled, 0 wrong answers,
    0 500/UNKNOWN for bad input, 0 good requests denied, every request within its memory budget."""
    out = tmp_path / "reliability.json"
    run = subprocess.run([PYTHON, "-m", "lowtf.bench.reliability", "--out", str(out)], cwd=REPO,
                         capture_output=True, text=True, timeout=900)
    results = json.loads(out.read_text())
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert results["total"] == {k: 0 for k in reliability.ZERO_KEYS}
    assert results["big bodies"]["grpc_code"] == "RESOURCE_EXHAUSTED"
    assert results["big bodies"]["rest_peak_mb"] <= results["big bodies"]["rest_budget_mb"]
    assert "all zero" in run.stdout
