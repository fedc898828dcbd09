"""lowtf.child's wait with progress lines (lessons 21 and 26 wait so for saved_model_cli): a line while
the child runs, its exit code and output at the end, and a child past its time stopped, not waited for."""
import sys

import pytest

from lowtf.child import ChildFailed, start


def test_wait_saying_prints_while_the_child_runs_and_returns_its_exit_code(capsys):
    child = start([sys.executable, "-c", "import time; print('done', flush=True); time.sleep(0.8); raise SystemExit(3)"])
    assert child.wait_saying("the sleeper", every=0.2) == 3
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) >= 2 and all(line.startswith("   ... the sleeper, ") for line in lines), lines
    assert lines[-1].endswith(" s since it started")
    assert child.output() == "done"


def test_wait_saying_stops_a_child_past_its_time():
    child = start([sys.executable, "-c", "import time; print('stuck', flush=True); time.sleep(60)"])
    with pytest.raises(ChildFailed, match="the stuck one: not done within 2 s"):
        child.wait_saying("the stuck one", timeout=2, every=0.5)
    assert child.process.poll() is not None      # stopped, not left running
