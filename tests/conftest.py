"""Shared fixtures: graph mode, a fresh graph per test, lessons run in-process, free ports."""
from __future__ import annotations

import subprocess
import sys
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


@pytest.fixture(autouse=True)
def fresh_graph():
    """Every test starts (and leaves) an empty default graph."""
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()


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


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    return free_ports(1)[0]


def stop_process(proc: subprocess.Popen, grace: float = 15.0) -> None:
    """Stop a process this test started: SIGTERM, then SIGKILL after ``grace`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)
