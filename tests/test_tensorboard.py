"""A real TensorBoard reads what lesson 04 wrote, over its HTTP API."""
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port, stop_process


def get(url: str, timeout: float = 10.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        body = r.read()
    return json.loads(body) if body[:1] in (b"[", b"{") else body.decode()


@pytest.fixture
def tensorboard(run_lesson):
    summary, logdir = run_lesson("04")
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
        yield base, summary
    finally:
        stop_process(proc)


def test_scalar_series_and_graph_scopes(tensorboard):
    base, summary = tensorboard
    tags = get(base + "/data/plugin/scalars/tags")
    run = next(iter(tags))
    assert summary["walk_tag"] in tags[run]
    series = get(f"{base}/data/plugin/scalars/scalars?run={run}&tag={summary['walk_tag']}")
    assert [point[1] for point in series] == list(range(summary["walk_steps"]))
    values = [point[2] for point in series]
    assert all(b >= a for a, b in zip(values, values[1:]))  # increments are in [0, 1)
    assert values[-1] == pytest.approx(summary["walk_final"], abs=1e-3)

    assert get(base + "/data/plugin/graphs/info")[run]["run_graph"] is True
    graph = get(f"{base}/data/plugin/graphs/graph?run={run}&conceptual=false")
    assert 'name: "model/layer1/weights"' in graph and 'name: "model/layer1_1/same_scope_name_again"' in graph
