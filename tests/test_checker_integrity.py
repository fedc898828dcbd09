"""Red team for `lowtf check` itself: a learner's file that fakes a pass (printed, or written to every
descriptor), or that replaces the checker's functions, fails; a check stopped at its time limit leaves
nothing running (the checker's `lowtf serve`, the learner's own processes); the output kept is bounded."""
import threading
import time
import uuid

import pytest

from lowtf.bench import reliability_processes
from lowtf.practice.exercises import find_exercises, run_checks_in_a_process
from test_orphans import cleanup, serving, settle

EXERCISES = find_exercises()
SOLUTION_01 = EXERCISES["01"].solution.read_text()

FAKE_PASS = """
import json, os
fake = json.dumps({"results": [{"name": "placeholders take any length", "passed": True, "report": "",
                                "skipped": ""},
                               {"name": "dot product in a session", "passed": True, "report": "",
                                "skipped": ""}]})
"""


def check(tmp_path, source: str, number: str = "01", **kwargs):
    learner = tmp_path / f"learner_{number}.py"
    learner.write_text(source)
    return run_checks_in_a_process(EXERCISES[number], learner, include_slow=False, **kwargs)


@pytest.mark.slow   # default suite: every solution passes lowtf's checker in test_exercises.py
def test_the_solution_still_passes(tmp_path):
    results = check(tmp_path, SOLUTION_01)
    assert len(results) == 2 and all(r.passed for r in results), results


@pytest.mark.slow   # default suite: the descriptor and replaced-function attacks run in the default suite
def test_a_printed_pass_is_not_a_pass(tmp_path):
    """The results line `lowtf check` used to read from the child's output, printed by the file itself."""
    results = check(tmp_path, FAKE_PASS + "print(fake, flush=True)\nos._exit(0)\n")
    assert not any(r.passed for r in results)
    assert "before any check reported" in results[0].report


def test_a_pass_written_to_every_descriptor_is_refused(tmp_path):
    """The file writes a results line to every descriptor it has: the checker's own standard output
    (which pytest had saved away) passed it before; now the results pipe is found too, and refused."""
    results = check(tmp_path, FAKE_PASS + """
for fd in map(int, os.listdir("/proc/self/fd")):
    for text in (fake, "0" * 64 + " " + fake):
        try:
            os.write(fd, text.encode() + b"\\n")
        except OSError:
            pass
os._exit(0)
""")
    assert not any(r.passed for r in results)
    assert "not the checker's" in results[0].report or "before any check reported" in results[0].report


REPLACE_THE_CHECKS = SOLUTION_01 + """
import sys
import lowtf.practice.checking as checking

def run(a_values, b_values):      # a wrong answer, which the patched checks wave through
    return 0.0

def nothing(*args, **kwargs):
    return None

checking.expect = checking.expect_close = nothing
for module in list(sys.modules.values()):
    if "check_" in (getattr(module, "__file__", None) or ""):
        module.expect = module.expect_close = nothing
"""


def test_a_file_that_replaces_the_check_functions_fails(tmp_path):
    results = check(tmp_path, REPLACE_THE_CHECKS)
    assert results and not any(r.passed for r in results)
    assert all("changed the checker's own code" in r.report for r in results)
    assert "expect" in results[0].report


REPLACE_THE_COLLECTOR = SOLUTION_01.replace("import numpy", """
import lowtf.practice.exercises as exercises

def record_a_pass(self, item, call):
    if call.when == "call":
        self.results.append(exercises.Result(item.name, True))

exercises._Collector.pytest_runtest_makereport = record_a_pass
import numpy""", 1)


@pytest.mark.slow   # the same guard as above, on a class: make test-all
def test_a_file_that_rewrites_the_collector_fails(tmp_path):
    assert "record_a_pass" in REPLACE_THE_COLLECTOR
    results = check(tmp_path, REPLACE_THE_COLLECTOR.replace("return", "return None #", 1))
    assert results and not any(r.passed for r in results)
    assert "_Collector.pytest_runtest_makereport" in results[0].report


# Exercise 12's check starts `lowtf serve` on the file's export; this file, once the export is written,
# starts processes of its own (one detached with setsid) and, once the check's server has started, stops
# the checking process dead (the reliability tally's scenario, one text for both).
STALLS_WITH_A_SERVER_UP = EXERCISES["12"].solution.read_text() + reliability_processes.STALLS_WITH_A_SERVER_UP


@pytest.mark.slow   # waits out a 45 s time limit: make test-all
def test_a_check_stopped_at_its_time_limit_leaves_nothing_running(tmp_path, monkeypatch):
    token = uuid.uuid4().hex
    monkeypatch.setenv("ORPHAN_TEST", token)
    seen_serving, done = [], threading.Event()

    def watch():
        while not done.is_set():
            seen_serving.extend(serving(token))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        (result,) = check(tmp_path, STALLS_WITH_A_SERVER_UP, "12", limit=45)
        done.set()
        watcher.join()
        assert not result.passed and "did not finish within 45 s" in result.report
        assert seen_serving, "the checker's lowtf serve never started: the scenario did not happen"
        assert settle(token) == []
    finally:
        done.set()
        cleanup(token)


def test_the_output_kept_is_bounded_and_says_what_was_cut(tmp_path):
    from lowtf.practice import checker_process

    learner = tmp_path / "loud.py"
    learner.write_text("import sys\nfor _ in range(400):\n    sys.stdout.write('x' * 10000 + '\\n')\n"
                       + SOLUTION_01)
    results, why, said = checker_process.run("01", learner, ["--quick"], limit=120)
    assert results and all(r["passed"] for r in results), why
    assert len(said) < checker_process.TAIL_BYTES + 200
    assert said.startswith("[3,9") and "bytes of earlier output cut" in said
