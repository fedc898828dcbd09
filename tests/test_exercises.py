"""Every check passes on every solution, and fails with its hint (never a checker traceback) on every
untouched template; `lowtf exercise` never overwrites the learner's file; `lowtf check` reports in words."""
import importlib.util
import inspect
import subprocess

import pytest

from conftest import PYTHON
from lowtf.practice.checking import CheckFailed, load_module
from lowtf.practice.exercises import find_exercises

EXERCISES = find_exercises()


def checks_of(exercise):
    spec = importlib.util.spec_from_file_location(f"checks_{exercise.number}", exercise.checks)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [(name, fn) for name, fn in vars(module).items() if name.startswith("test_") and callable(fn)]


def cases(slow: bool):
    for number, exercise in EXERCISES.items():
        for name, fn in checks_of(exercise):
            is_slow = any(m.name == "slow" for m in getattr(fn, "pytestmark", []))
            if is_slow == slow:
                yield pytest.param(exercise, fn, id=f"{number}-{name}")


def call(fn, module, tmp_path):
    extra = [p for p in inspect.signature(fn).parameters if p != "ex"]
    fn(module, **({"tmp_path": tmp_path} if "tmp_path" in extra else {}))


def test_there_are_at_least_twelve_exercises_each_complete():
    assert len(EXERCISES) >= 12
    for exercise in EXERCISES.values():
        assert exercise.solution.is_file() and exercise.checks.is_file(), exercise.number
        assert "TODO" in exercise.template.read_text() and "TODO" not in exercise.solution.read_text()
        assert checks_of(exercise), f"exercise {exercise.number} has no checks"


@pytest.mark.parametrize("exercise,check", list(cases(slow=False)))
def test_solution_passes_and_template_fails_with_a_hint(exercise, check, tmp_path):
    call(check, load_module(exercise.solution), tmp_path / "solution")
    with pytest.raises(CheckFailed) as failed:
        call(check, load_module(exercise.template), tmp_path / "template")
    assert failed.value.hint and failed.value.lesson
    assert "TODO" in failed.value.expected or "not written yet" in failed.value.got


@pytest.mark.slow
@pytest.mark.parametrize("exercise,check", list(cases(slow=True)))
def test_slow_checks_on_solutions_and_templates(exercise, check, tmp_path):
    call(check, load_module(exercise.solution), tmp_path / "solution")
    with pytest.raises(CheckFailed):
        call(check, load_module(exercise.template), tmp_path / "template")


def test_exercise_and_check_commands(tmp_path):
    workspace = tmp_path / "practice"
    run = lambda *args: subprocess.run([PYTHON, "-m", "lowtf", *args], capture_output=True, text=True,  # noqa: E731
                                       timeout=180, cwd=tmp_path)
    first = run("exercise", "11", "--workspace", str(workspace))
    copied = workspace / EXERCISES["11"].template.name
    assert first.returncode == 0 and copied.exists()
    failing = run("check", "11", "--workspace", str(workspace))
    assert failing.returncode == 1 and "FAIL  cluster and devices" in failing.stdout
    assert "hint:" in failing.stdout and "re-read:  lesson 14" in failing.stdout and "Traceback" not in failing.stdout
    copied.write_text(EXERCISES["11"].solution.read_text())
    again = run("exercise", "11", "--workspace", str(workspace))           # never overwrites the learner's work
    assert "already there" in again.stdout and "TODO" not in copied.read_text()
    passing = run("check", "11", "--workspace", str(workspace))
    assert passing.returncode == 0 and "All 1 checks passed. Next: lowtf exercise 12" in passing.stdout
