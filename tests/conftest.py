"""Shared fixtures and the one module of test helpers: graph mode, a fresh graph per test, lessons run
in-process, free ports, a real tensorboard, processes left behind, a tiny SavedModel."""
from __future__ import annotations

import contextlib
import json
import os
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import lowtf  # noqa: F401  (sets TensorFlow's environment before TensorFlow is imported)
import pytest
from lowtf import console
from lowtf.ports import free_ports

console.load_tensorflow()   # quietly: pytest-xdist's workers would print TensorFlow's start-up lines
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_v2_behavior()

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


# The longest test files first: `--dist loadfile` hands whole files to the two workers in collection
# order, so the run then ends on short files rather than with one worker still in a long one while the
# other waits. (From --durations; the rest keep their order.)
LONGEST_FILES = ("test_lessons_models.py", "test_lessons_strategies.py", "test_trainer.py", "test_legacy_run.py",
                 "test_exercises.py", "test_exercises_keras.py", "test_serve.py", "test_lessons_basics.py",
                 "test_serve_hardened.py", "test_serve_ops.py", "test_orphans.py", "test_notebooks.py",
                 "test_bench.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))      # stable: tests keep their order


@pytest.fixture(autouse=True)
def fresh_graph():
    """Every test starts (and leaves) an empty default graph."""
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()


def unsound_claims(root: Path, seen: set) -> list:
    """Every claim (``ctx.verdict``) in the summary.json files under ``root`` not in ``seen``, checked against
    its numbers by ``lowtf.verdicts.problems``: the reading against a, b, se and the cut, the cut against
    the degrees of freedom, the reading against the one the lesson expects. Returns the problems found."""
    from lowtf.verdicts import problems

    found = []
    for path in sorted(root.rglob("summary.json")):
        if path in seen:
            continue
        seen.add(path)
        try:
            claims = json.loads(path.read_text()).get("verdicts") or []
        except (OSError, ValueError, AttributeError):
            continue      # not a lesson's summary (or one a test broke on purpose)
        found += [f"{path}: {problem}" for claim in claims for problem in problems(claim)]
    return found


CHECKED_SUMMARIES: set = set()


@pytest.fixture(autouse=True, scope="module")
def claims_follow_from_their_numbers(tmp_path_factory):
    """The claims test: after each test module, every claim in every summary.json the module's lesson runs
    wrote (in-process, in a subprocess, or in a shared fixture) is checked against its numbers, once; a
    claim that does not follow fails the module's last test. The lesson tests need not re-check them."""
    yield
    problems = unsound_claims(tmp_path_factory.getbasetemp(), CHECKED_SUMMARIES)
    if problems:
        pytest.fail("claims that do not follow from their numbers:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def run_lesson(tmp_path):
    """run_lesson("04") runs that lesson in --fast mode into a temporary logdir; returns (summary, logdir)."""
    from lowtf.catalog import find_lessons, load_lesson

    def run(number: str, fast: bool = True):
        logdir = tmp_path / f"lesson{number}"
        summary = load_lesson(find_lessons()[number]).run(fast=fast, logdir=logdir, out=lambda s: None)
        return summary, logdir

    return run


@pytest.fixture(scope="session")
def lesson10_fast(tmp_path_factory):
    """Lesson 10 in --fast mode, run once for the tests that read what it wrote: (summary, logdir)."""
    from lowtf.catalog import find_lessons, load_lesson

    logdir = tmp_path_factory.mktemp("lesson10")
    tf.reset_default_graph()
    summary = load_lesson(find_lessons()["10"]).run(fast=True, logdir=logdir, out=lambda s: None)
    return summary, logdir


@pytest.fixture(scope="session")
def lesson04_fast(tmp_path_factory):
    """Lesson 04 in --fast mode, run once for the tests that read what it wrote (its events, what its
    notebook TensorBoard served): (summary, logdir)."""
    from lowtf.catalog import find_lessons, load_lesson

    logdir = tmp_path_factory.mktemp("lesson04")
    tf.reset_default_graph()
    summary = load_lesson(find_lessons()["04"]).run(fast=True, logdir=logdir, out=lambda s: None)
    tf.reset_default_graph()
    return summary, logdir


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    return free_ports(1)[0]


def get(url: str, timeout: float = 10.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        body = r.read()
    return json.loads(body) if body[:1] in (b"[", b"{") else body.decode()


@contextlib.contextmanager
def tensorboard(logdir: Path):
    """A tensorboard process on 127.0.0.1 serving ``logdir``; yields its base URL once scalars load."""
    from lowtf import child

    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def serves_scalars() -> bool:
        try:
            return bool(get(base + "/data/plugin/scalars/tags", timeout=2))
        except OSError:
            return False

    with child.start([str(Path(sys.executable).with_name("tensorboard")), "--logdir", str(logdir),
                      "--host", "127.0.0.1", "--port", str(port)]) as board:
        try:
            board.wait_until(serves_scalars, 90, "tensorboard")
        except child.ChildFailed as e:
            pytest.fail(str(e))
        yield base


def scalars(base: str, run: str, tag: str) -> list:
    query = urllib.parse.urlencode({"run": run, "tag": tag})
    return get(f"{base}/data/plugin/scalars/scalars?{query}")


def processes_mentioning(text: str) -> list:
    """PIDs of live processes whose command line contains ``text`` (to check nothing is left)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return [pid for pid in found if pid != os.getpid()]


def export_affine(base, version: int, scale: float) -> None:
    """y = scale * x + 1 as version `version` (simple_save, the TF 1.x way)."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None], name="x")
        y = tf.identity(scale * x + 1.0, name="y")
        with tf.Session() as sess:
            tf.saved_model.simple_save(sess, str(base / str(version)), inputs={"x": x}, outputs={"y": y})
