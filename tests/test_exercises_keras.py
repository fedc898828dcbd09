"""The Keras exercises (their checks run eagerly, in a process of their own: tests/keras_practice.py). A
file of their own, apart from test_exercises.py: `--dist loadfile` can then run this ~20 s process on one
worker while the other runs the graph-mode exercises."""
import subprocess

import pytest

from conftest import PYTHON, REPO
from test_exercises import KERAS


def _keras_practice(*flags) -> dict:
    """tests/keras_practice.py in a process of its own (Keras runs eagerly; this one is in graph mode)."""
    import json

    run = subprocess.run([PYTHON, str(REPO / "tests" / "keras_practice.py"), *flags, *KERAS], capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_keras_exercises_solutions_pass_and_templates_nudge():
    """Each Keras exercise's solution passes every check; each untouched template fails every check with a
    nudge and no worked hint."""
    results = _keras_practice("--no-cheats")
    for number in KERAS:
        solution, template = results[f"{number} solution"], results[f"{number} template"]
        assert solution and all(passed for _, passed, _ in solution), (number, solution)
        assert all(not passed and "nudge:" in report and "add --hint" in report for _, passed, report in template)


@pytest.mark.slow   # make test-all: a process of its own, ~10 s; the graph-mode cheats run in the default suite
def test_keras_exercises_known_cheats_fail():
    """Each known cheat of the Keras exercises (listed in tests/keras_practice.py) fails at least one check,
    with a report in words."""
    results = _keras_practice("--cheats-only")
    for number in KERAS:
        cheats = {k: v for k, v in results.items() if k.startswith(f"{number} cheat")}
        assert len(cheats) >= 2, number
        for name, outcome in cheats.items():
            failed = [report for _, passed, report in outcome if not passed]
            assert failed and all("expected:" in report and "Traceback" not in report for report in failed), name
