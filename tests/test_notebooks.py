"""Lessons as notebooks: generated from the lesson files, executed top to bottom in a fresh kernel
(nbclient + ipykernel), their outputs holding the lessons' key numbers."""
import re

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import processes_mentioning
from lowtf.catalog import find_lessons
from lowtf.practice.notebooks import TENSORBOARD_TAG, lesson_notebook


def execute(number: str, tmp_path, with_tensorboard: bool = False, then: str = "") -> str:
    """Run lesson ``number``'s fast notebook in a fresh kernel; return all its text output.
    The TensorBoard cell starts a server for a person to look at: it runs only ``with_tensorboard``,
    followed by the code ``then`` (in the same kernel, while the server is up)."""
    notebook = lesson_notebook(find_lessons()[number], fast=True, logdir=str(tmp_path / "run"))
    if not with_tensorboard:
        notebook.cells = [c for c in notebook.cells if TENSORBOARD_TAG not in c.metadata.get("tags", [])]
    if then:
        notebook.cells.append(nbformat.v4.new_code_cell(then))
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute()
    nbformat.validate(notebook)
    return "\n".join(output.get("text", "") + output.get("data", {}).get("text/html", "")
                     for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", []))


def test_every_lesson_becomes_a_notebook_with_its_steps():
    for number, path in find_lessons().items():
        notebook = lesson_notebook(path)
        headings = [c.source for c in notebook.cells if c.cell_type == "markdown" and c.source.startswith("## Step")]
        assert headings and headings[0].startswith("## Step 1:"), number
        code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
        assert "@lesson.step" not in code and 'if __name__ == "__main__"' not in code
        if "ctx.tensorboard(" in path.read_text():
            assert any(TENSORBOARD_TAG in c.metadata.get("tags", []) for c in notebook.cells), number


def test_basics_notebook_runs(tmp_path):
    text = execute("03", tmp_path)
    assert "a new op after finalize(): RuntimeError" in text           # a step's output
    assert re.search(r"branch a ran\s+no", text) and "Every value it recorded" in text   # the findings table


@pytest.mark.slow
def test_the_tensorboard_magic_serves_the_lessons_run(tmp_path):
    """%load_ext tensorboard and %tensorboard, run in a real kernel: the cell shows TensorBoard's frame,
    the server it started answers on 127.0.0.1 with the lesson's run (asked from the kernel, while it is
    up), and it stops with the kernel: no tensorboard is left serving the logdir."""
    logdir = str(tmp_path / "run")
    ask = ("import json, urllib.request\nfrom tensorboard import manager\n"
           f"info = [i for i in manager.get_all() if i.logdir == {logdir!r}][0]\n"
           "with urllib.request.urlopen(f'http://127.0.0.1:{info.port}/data/runs', timeout=30) as r:\n"
           "    print('served on', info.port, 'runs', json.loads(r.read()))")
    text = execute("04", tmp_path, with_tensorboard=True, then=ask)
    served = re.search(r"served on (\d+) runs (\[.*\])", text)
    assert served and served.group(2) != "[]", text[-2000:]
    assert "<iframe" in text and f"const port = {served.group(1)};" in text   # the frame a person would see
    assert not processes_mentioning(f"--logdir {logdir}")


@pytest.mark.slow   # default suite: a graph-mode lesson notebook and an exercise notebook run in the default suite
def test_a_keras_notebook_runs(tmp_path):
    """A Keras lesson's notebook: eager TensorFlow 2 in its kernel, no graph to reset (it used to fail in cell 1)."""
    text = execute("24", tmp_path)
    assert "test kind accuracy" in text and "Traceback" not in text


@pytest.mark.slow
@pytest.mark.parametrize("number", sorted(n for n in find_lessons() if n != "14"))
def test_every_lesson_notebook_runs(number, tmp_path):
    """make test-all: every lesson's notebook top to bottom in a fresh kernel (14 starts TensorFlow servers,
    which the course runs only in a private network namespace: its notebook says so and stops, tested below)."""
    text = execute(number, tmp_path)
    assert "Traceback" not in text


@pytest.mark.slow
def test_lesson_14_notebook_refuses_to_start_servers_on_a_reachable_network(tmp_path):
    """Lesson 14 starts TensorFlow servers, which run any op for anyone who connects: from a notebook
    kernel (no private network namespace) its first step stops with the reason and the command to use."""
    from nbclient.exceptions import CellExecutionError
    with pytest.raises(CellExecutionError, match=r"(?s)ExposedServerError.*a TensorFlow server.*private network namespace"):
        execute("14", tmp_path)


@pytest.mark.slow   # the default suite executes a lesson notebook (03), a Keras one (24) and an exercise notebook
def test_training_notebook_runs(tmp_path):
    text = execute("07", tmp_path, then="print('naive_loss_confident_wrong:', ctx.summary['naive_loss_confident_wrong'])")
    accuracy = float(re.search(r"test accuracy \(graph\): ([0-9.]+)", text).group(1))
    assert accuracy >= 0.90 and "naive_loss_confident_wrong: nan" in text


@pytest.mark.slow
def test_serving_notebook_runs(tmp_path):
    text = execute("21", tmp_path, then="print('served_version:', ctx.summary['served_version'], "
                                        "'served_class:', ctx.summary['served_class'])")
    assert "served_version: 2 served_class: 7" in text


def test_exercise_notebook_saves_the_learners_code_and_checks_it(tmp_path):
    """The exercise notebook's code cell writes the learner's file; its last cell runs lowtf check on it."""
    import shutil
    from lowtf.practice.exercises import find_exercises
    from lowtf.practice.notebooks import exercise_notebook
    exercise = find_exercises()["11"]
    copy = tmp_path / exercise.template.name
    shutil.copyfile(exercise.template, copy)
    notebook = exercise_notebook(copy, "11")
    code = [c for c in notebook.cells if c.cell_type == "code"]
    header = code[1].source.splitlines()[0]                     # %%save_exercise PATH SHA256
    code[1].source = header + "\n" + exercise.solution.read_text()    # the learner solves it
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    assert "TODO" not in copy.read_text()
    output = "".join(o.get("text", "") for o in code[-1].outputs)
    assert "All 1 check passed" in output
    # work done in an editor afterwards is never overwritten by the notebook's copy: the cell refuses
    fresh = exercise_notebook(copy, "11")                           # a notebook made from the solved file
    copy.write_text(copy.read_text() + "\n# edited in an editor\n")
    from nbclient.exceptions import CellExecutionError
    with pytest.raises(CellExecutionError, match="changed outside this notebook"):
        NotebookClient(fresh, timeout=300, kernel_name="python3").execute()
    assert copy.read_text().endswith("# edited in an editor\n")


def _exercise_numbers():
    from lowtf.practice.exercises import find_exercises
    return sorted(find_exercises())


@pytest.mark.slow
@pytest.mark.parametrize("number", _exercise_numbers())
def test_every_exercise_notebook_runs_and_checks_the_solution(number, tmp_path):
    """Each exercise's notebook, top to bottom in a fresh kernel, with the solution typed into its code cell:
    the cell saves the file and the last cell's lowtf check passes every check (Keras exercises included:
    the check runs in a process of its own)."""
    import shutil
    from lowtf.practice.exercises import find_exercises
    from lowtf.practice.notebooks import exercise_notebook
    exercise = find_exercises()[number]
    copy = tmp_path / exercise.template.name
    shutil.copyfile(exercise.template, copy)
    notebook = exercise_notebook(copy, number)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    code[1].source = code[1].source.splitlines()[0] + "\n" + exercise.solution.read_text()
    NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute()
    output = "".join(o.get("text", "") for o in code[-1].outputs)
    assert re.search(r"All \d+ checks? passed", output), output[-1500:]
