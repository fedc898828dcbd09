"""A real TensorBoard serves each dashboard lesson 35 feeds, read over its HTTP API: the images of the
errors at every evaluation, the PR curves, the projector's points, the HParams sweep, the profile and
Debugger V2's alert. (The real-browser check of the same dashboards is test_dashboards_in_a_browser.)"""
from __future__ import annotations

import gzip
import json
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest

from conftest import tensorboard


@pytest.fixture(scope="module")
def lesson35(tmp_path_factory):
    """Lesson 35 in --fast mode, run once for this file's tests: (summary, logdir)."""
    import tensorflow.compat.v1 as tf
    from lowtf.catalog import find_lessons, load_lesson

    logdir = tmp_path_factory.mktemp("lesson35")
    tf.reset_default_graph()
    summary = load_lesson(find_lessons()["35"]).run(fast=True, logdir=logdir, out=lambda s: None)
    return summary, logdir


@pytest.fixture(scope="module")
def board(lesson35):
    with tensorboard(lesson35[1]) as base:
        yield base


def post(url: str, body: dict):
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.loads(r.read())


def get(url: str):
    """GET ``url``: JSON decoded, text as str (gunzipped where the plugin compresses its answer)."""
    with urllib.request.urlopen(url, timeout=30) as r:
        body = r.read()
        if r.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
    return json.loads(body) if body[:1] in (b"[", b"{") else body.decode()


def polled(fetch, ready, seconds: float = 60):
    """``fetch()`` again every half second until ``ready`` of it (a plugin that loads its data in a
    thread of its own answers empty at first, as the browser's page polls too); the last answer."""
    deadline = time.monotonic() + seconds
    answer = fetch()
    while not ready(answer) and time.monotonic() < deadline:
        time.sleep(0.5)
        answer = fetch()
    return answer


def query(**args) -> str:
    return urllib.parse.urlencode(args)


def test_images_dashboard_has_the_errors_at_every_evaluation(lesson35, board):
    summary, _ = lesson35
    tags = get(board + "/data/plugin/images/tags")["test"]
    assert {"eval/confusion/image/0", "eval/misclassified/image/0"} <= set(tags)
    confusion = "eval/confusion/image/0"
    entries = get(f"{board}/data/plugin/images/images?{query(run='test', tag=confusion)}")
    assert len(entries) == summary["evaluations"]          # one picture per evaluation, a step slider
    assert len({e["step"] for e in entries}) == summary["evaluations"]
    wrong = get(f"{board}/data/plugin/images/images?{query(run='test', tag='eval/misclassified/image/0')}")
    assert wrong, "the first misclassified digit is logged at each evaluation"


def test_pr_curves_one_per_digit(lesson35, board):
    summary, _ = lesson35
    tags = get(board + "/data/plugin/pr_curves/tags")["test"]
    digits = sorted(t for t in tags if t.startswith("eval/digit_"))
    assert len(digits) == 10
    curves = get(f"{board}/data/plugin/pr_curves/pr_curves?{query(run='test', tag=digits[3])}")
    points = curves["test"]
    assert len(points) == summary["evaluations"]
    last = points[-1]
    # 101 thresholds; the plugin drops the top ones where no image is called a 3 (precision undefined)
    assert len(last["precision"]) == len(last["recall"]) and 50 < len(last["recall"]) <= 101
    # recall falls from 1 (threshold 0: every image called a 3) as the threshold rises
    recall = last["recall"]
    assert recall[0] == pytest.approx(1.0) and recall[-1] < recall[0]
    assert all(b <= a + 1e-9 for a, b in zip(recall, recall[1:]))


def test_projector_serves_the_points_with_labels_and_sprite(lesson35, board):
    summary, _ = lesson35
    runs = polled(lambda: get(board + "/data/plugin/projector/runs"), bool)
    assert runs == ["projector"]
    info = get(f"{board}/data/plugin/projector/info?{query(run='projector')}")
    embedding = info["embeddings"][0]
    assert embedding["tensorName"] == "test_digits"
    assert embedding["tensorShape"] == [summary["embedded"], summary["embedding_width"]]
    labels = get(f"{board}/data/plugin/projector/metadata?{query(run='projector', name='test_digits')}")
    assert len(labels.strip().splitlines()) == summary["embedded"]
    with urllib.request.urlopen(f"{board}/data/plugin/projector/sprite_image?"
                                f"{query(run='projector', name='test_digits')}", timeout=30) as r:
        assert r.read(8) == b"\x89PNG\r\n\x1a\n"


def test_hparams_session_groups_carry_their_metric(lesson35, board):
    summary, _ = lesson35
    experiment = post(board + "/data/plugin/hparams/experiment", {"experimentName": ""})
    names = {h["name"] for h in experiment["hparamInfos"]}
    assert names == {"learning_rate", "hidden_units"}
    groups = post(board + "/data/plugin/hparams/session_groups",
                  {"experimentName": "", "startIndex": 0, "sliceSize": 100,
                   "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
                   "colParams": [{"hparam": "learning_rate"}, {"hparam": "hidden_units"},
                                 {"metric": {"tag": "test_accuracy"}}]})
    assert groups["totalSize"] == summary["trials"]
    recorded = {v["claim"]: v for v in summary["verdicts"]}
    best = next(iter(recorded.values()))
    accuracies = sorted(g["metricValues"][0]["value"] for g in groups["sessionGroups"])
    # the dashboard's best and runner-up are the figures the lesson's verdict compared
    assert accuracies[-1] == pytest.approx(best["a"], abs=1e-4)
    assert accuracies[-2] == pytest.approx(best["b"], abs=1e-4)


def test_profile_lists_the_run_and_its_tools(lesson35, board):
    runs = get(board + "/data/plugin/profile/runs")
    assert runs, "the profiler's run is listed"
    tools = get(f"{board}/data/plugin/profile/run_tools?{query(run=runs[0])}")
    assert "trace_viewer" in tools or "trace_viewer@" in tools, tools


def test_debugger_v2_alerts_on_the_first_non_finite_op(lesson35, board):
    summary, _ = lesson35
    assert summary["first_non_finite"] == "Log (Log)"        # log(0) of the rounded softmax
    runs = polled(lambda: get(board + "/data/plugin/debugger-v2/runs"), bool)
    assert len(runs) == 1
    run = next(iter(runs))
    alerts = polled(lambda: get(f"{board}/data/plugin/debugger-v2/alerts?{query(run=run, begin=0, end=-1)}"),
                    lambda a: a["num_alerts"] > 0)
    assert alerts["num_alerts"] >= 1
    first = alerts["alerts"][0]
    assert first["alert_type"] == "InfNanAlert" and first["op_type"] == "Log"
    assert first["num_neg_inf"] == 1


# What each dashboard shows once it has the lesson's data: words of the page, read through shadow roots
# and the profile's frame, as a learner would see them (never on a "no data" page).
DASHBOARDS = {
    "images": ["eval/confusion/image/0", "eval/misclassified/image/0"],
    "pr_curves": ["eval/digit_3/pr_curves"],
    "projector": ["test_digits", "Points: {embedded}", "Dimension: {embedding_width}"],
    "hparams": ["learning_rate", "hidden_units", "test accuracy", "lr=0.003"],
    "profile": ["Tools (", "Hosts (1)"],
    "debugger-v2": ["Alerts", "Log:0", "naive_loss:0"],
}
DEEP_TEXT = """
function deep(node) {
  let text = '';
  if (node.shadowRoot) text += deep(node.shadowRoot);
  if (node.tagName === 'IFRAME') { try { text += deep(node.contentDocument.body); } catch (e) {} }
  for (const child of node.childNodes) {
    if (child.nodeType === 3) text += child.textContent + ' ';
    else if (child.nodeType === 1 || child.nodeType === 11) text += deep(child);
  }
  return text;
}
return deep(document.body).replace(/\\s+/g, ' ');
"""


def browser():
    """Headless Chromium from Debian's packages driven by its chromedriver through Selenium, kept off the
    network it cannot reach (the flags of this workplace's notes)."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,900"]:
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver")
    return webdriver.Chrome(options=options, service=service)


@pytest.mark.slow
def test_dashboards_in_a_browser(lesson35, board, tmp_path):
    """Each dashboard, loaded in a real browser (headless Chromium; make test-all installs Debian's
    chromium and chromium-driver), shows the lesson's data: the words each shows only when populated
    appear on the page within a minute; a screenshot of each is kept in the test's folder."""
    import os

    for program in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not os.path.exists(program):
            pytest.fail(f"{program} is missing: make test-all installs Debian's chromium and chromium-driver")
    summary, _ = lesson35
    driver = browser()
    missing = {}
    try:
        for name, words in DASHBOARDS.items():
            words = [w.format(**summary) for w in words]
            driver.get(f"{board}/#{name}")
            text = polled(lambda: driver.execute_script(DEEP_TEXT),
                          lambda t: all(w in t for w in words), seconds=60)
            driver.save_screenshot(str(tmp_path / f"{name}.png"))
            missing[name] = [w for w in words if w not in text]
    finally:
        driver.quit()
    assert not any(missing.values()), missing


@pytest.mark.slow   # default suite: lesson 35 profiles Session runs and reads them back with op_times
def test_bench_profile_says_where_lenet5_step_time_goes(tmp_path):
    """`lowtf bench --profile DIR` records LeNet-5's training steps for the PROFILE dashboard and prints the
    time by op type, read back from the same file: the convolutions' backward kernels are among them."""
    import subprocess

    from conftest import PYTHON, REPO
    from lowtf.bench.profile import op_times

    run = subprocess.run([PYTHON, "-m", "lowtf", "bench", "--profile", str(tmp_path), "--batch", "50"],
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    shares = [line.split() for line in run.stdout.splitlines() if line.startswith("  ") and "%" in line]
    assert len(shares) == 8
    assert any("Conv2DBackpropFilter" in kind for _, kind in shares)
    printed = sum(float(share.rstrip("%")) for share, _ in shares)
    assert 50 < printed <= 100.1                        # the top 8 of all op time, as shares of it
    assert op_times(tmp_path)                           # the file TensorBoard's PROFILE dashboard reads
