"""Lesson 04's events, and a real TensorBoard reading them over its HTTP API (lesson 10's run:
test_lessons_models). Both tests in this one file, so one test worker runs lesson 04 once."""
import time

import pytest

from conftest import get, processes_mentioning, scalars, tensorboard


def test_04_writes_events(lesson04_fast):
    summary, logdir = lesson04_fast     # one run, shared with the test below
    assert summary["scoped_names"][2] == "model/layer1_1/same_scope_name_again"
    assert list(logdir.glob("events.out.tfevents.*"))
    assert {"random_walk/distance", "pictures/drifting_normal", "pictures/note"} <= set(summary["merge_all_tags"])
    # the notebook's %tensorboard, called from the lesson: it served the lesson's events, and it is gone
    assert summary["notebook_tensorboard_runs"] == ["."]
    deadline = time.monotonic() + 10
    while processes_mentioning(f"--logdir {logdir} ") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not processes_mentioning(f"--logdir {logdir} ")


def test_04_scalar_series_and_graph_scopes(lesson04_fast):
    summary, logdir = lesson04_fast     # one run, shared with the test above
    with tensorboard(logdir) as base:
        tags = get(base + "/data/plugin/scalars/tags")
        run = next(iter(tags))
        assert summary["walk_tag"] in tags[run]
        series = scalars(base, run, summary["walk_tag"])
        assert [point[1] for point in series] == list(range(summary["walk_steps"]))
        values = [point[2] for point in series]
        steps = [b - a for a, b in zip(values, values[1:])]
        assert min(steps) < 0 < max(steps)          # the walk goes both ways
        assert values[-1] == pytest.approx(summary["walk_final"], abs=1e-3)
        assert get(base + "/data/plugin/graphs/info")[run]["run_graph"] is True
        graph = get(f"{base}/data/plugin/graphs/graph?run={run}&conceptual=false")
        assert 'name: "model/layer1/weights"' in graph and 'name: "model/layer1_1/same_scope_name_again"' in graph
