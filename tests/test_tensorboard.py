"""A real TensorBoard reads what lesson 04 wrote, over its HTTP API (lesson 10's run: test_lessons_models)."""
import contextlib
import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port, stop_process


def get(url: str, timeout: float = 10.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        body = r.read()
    return json.loads(body) if body[:1] in (b"[", b"{") else body.decode()


@contextlib.contextmanager
def tensorboard(logdir: Path):
    """A tensorboard process on 127.0.0.1 serving ``logdir``; yields its base URL once scalars load."""
    port = free_port()
    exe = Path(sys.executable).with_name("tensorboard")
    proc = subprocess.Popen([str(exe), "--logdir", str(logdir), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"tensorboard exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                if get(base + "/data/plugin/scalars/tags", timeout=2):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("tensorboard did not serve scalars within 90 s")
            time.sleep(0.5)
        yield base
    finally:
        stop_process(proc)


def scalars(base: str, run: str, tag: str) -> list:
    query = urllib.parse.urlencode({"run": run, "tag": tag})
    return get(f"{base}/data/plugin/scalars/scalars?{query}")


def test_04_scalar_series_and_graph_scopes(run_lesson):
    summary, logdir = run_lesson("04")
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
