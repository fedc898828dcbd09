"""Lessons and exercises as Jupyter notebooks, generated from their files so the two never drift.

A lesson notebook: its title and introduction; a set-up cell (the lesson file's imports, knobs
and helpers, then a ``LessonContext``); for each step its explanation as markdown and its
function as a code cell that ends by running it and showing what it made, pictures inline;
and, where the lesson points to TensorBoard, the notebook extension's two magic lines.
"""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

TENSORBOARD_TAG = "tensorboard"


def _segments(source: str) -> tuple[str, list[ast.FunctionDef], str]:
    """(module docstring, the step functions in order, the rest of the module's code as set-up)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    doc = ast.get_docstring(tree) or ""
    steps, setup = [], []
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and node is tree.body[0]:
            continue   # the docstring
        if isinstance(node, ast.If):   # if __name__ == "__main__": the script's entry, not the notebook's
            continue
        start = (node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno) - 1
        text = "\n".join(lines[start:node.end_lineno])
        is_step = isinstance(node, ast.FunctionDef) and any(
            isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "step" for d in node.decorator_list)
        (steps if is_step else setup).append(node if is_step else text)
    return doc, steps, "\n".join(setup)


def lesson_notebook(path: Path, fast: bool = False, logdir: str | None = None) -> nbformat.NotebookNode:
    """The notebook of the lesson at ``path`` (``fast``: the smaller work the tests run)."""
    from lowtf.catalog import load_lesson

    source = path.read_text()
    doc, step_nodes, setup = _segments(source)
    lesson = load_lesson(path)
    lines = source.splitlines()
    logdir = logdir or f"runs/{lesson.slug}"
    title, _, intro = doc.partition("\n")
    cells = [new_markdown_cell(f"# Lesson {lesson.number}: {lesson.name}\n\n{title}\n{intro}".rstrip() +
                               "\n\nGenerated from the lesson file; `lowtf lesson "
                               f"{lesson.number} --step` runs the same steps in a terminal."),
             new_code_cell(setup.strip() + "\n\n# The lesson's shared state, as the lesson runner gives it:\n"
                           "from pathlib import Path\nfrom lowtf.lesson import LessonContext\n"
                           "from lowtf.lesson.logdir import make_logdir, move_previous_run\n"
                           "from lowtf.practice.notebooks import show\n"
                           # Keras lessons run eagerly: no default graph to reset (their tf is TensorFlow 2)
                           + ("" if lesson.keras else "import tensorflow.compat.v1\n"
                                                       "tensorflow.compat.v1.reset_default_graph()\n") +
                           f"ctx = LessonContext(fast={fast}, logdir=Path({logdir!r}))\n"
                           "make_logdir(ctx.logdir)\n"
                           "move_previous_run(ctx.logdir)   # a re-run starts a new run, as `lowtf lesson` does")]
    for i, (step, node) in enumerate(zip(lesson.steps, step_nodes), 1):
        cells.append(new_markdown_cell(f"## Step {i}: {step.title}\n\n{step.explanation}"))
        function = "\n".join(lines[node.lineno - 1:node.end_lineno])   # without the decorator
        cells.append(new_code_cell(f"{function}\n\n\nshow({node.name}(ctx))"))
    cells.append(new_code_cell("# what the run found: its claims read against their noise, and its numbers\n"
                               "from lowtf.lesson.findings import findings\n"
                               "print(findings(ctx.summary, ctx.logdir, 79))"))
    if "ctx.tensorboard(" in source or "tensorboard --logdir" in source:
        cells.append(new_markdown_cell("TensorBoard inside the notebook (it starts `tensorboard` on 127.0.0.1):"))
        cells.append(new_code_cell(
            "import os, sys   # %tensorboard runs `tensorboard` from PATH: this kernel's virtualenv first\n"
            "os.environ['PATH'] = os.path.dirname(sys.executable) + os.pathsep + os.environ['PATH']\n"
            f"%load_ext tensorboard\n%tensorboard --logdir {logdir} --host 127.0.0.1",
            metadata={"tags": [TENSORBOARD_TAG]}))
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


SAVE_MAGIC = "save_exercise"


def exercise_notebook(copy: Path, number: str) -> nbformat.NotebookNode:
    """An exercise as a notebook: the task, then the learner's file as a cell that saves itself when
    run (``%%save_exercise``: never over a file changed outside the notebook), and the check, run
    with this kernel's own Python (no activated virtualenv needed)."""
    import hashlib

    source = copy.read_text()
    doc = ast.get_docstring(ast.parse(source)) or ""
    digest = hashlib.sha256(source.encode()).hexdigest()
    cells = [new_markdown_cell(f"# {doc.splitlines()[0]}\n\n" + "\n".join(doc.splitlines()[1:]).strip()),
             new_code_cell("from lowtf.practice.notebooks import register_save_magic\nregister_save_magic()"),
             new_markdown_cell("Complete the functions marked TODO in the cell below; running it saves them "
                               f"to `{copy}` (it refuses if that file was changed outside this notebook)."),
             new_code_cell(f"%%{SAVE_MAGIC} {copy} {digest}\n{source}"),
             new_markdown_cell("Then check them:"),
             new_code_cell(f"import sys\n!{{sys.executable}} -m lowtf check {number} --file {copy}")]
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def register_save_magic() -> None:
    """``%%save_exercise PATH SHA256``: write the cell to PATH if PATH still holds what the notebook
    started from (SHA256) or what this cell last wrote; otherwise refuse, naming the newer file, so
    work done in an editor is never replaced by the notebook's older copy."""
    import hashlib

    from IPython import get_ipython
    from IPython.core.magic import register_cell_magic

    written: dict = {}

    def save_exercise(line: str, cell: str) -> None:
        path_text, started = line.rsplit(maxsplit=1)
        path = Path(path_text)
        on_disk = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else started
        if on_disk not in (started, written.get(path)):
            raise RuntimeError(f"{path} was changed outside this notebook since it was made, so this cell "
                               "would overwrite that work: copy it from the file into this cell (then delete "
                               "the file and run again), or keep working in the file and run the check cell")
        path.write_text(cell)
        written[path] = hashlib.sha256(cell.encode()).hexdigest()
        print(f"Saved {path}")

    if get_ipython() is not None:
        register_cell_magic(SAVE_MAGIC)(save_exercise)


def write(notebook: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path


def show(produced) -> None:
    """Print a step's results as the lesson runner does, and display the pictures it names."""
    from lowtf.lesson import show as as_text

    for key, value in (produced or {}).items():
        print(textwrap.indent(f"{key}: {as_text(value)}", "   "))
    try:
        from IPython.display import Image, display
    except ImportError:
        return
    for value in (produced or {}).values():
        for item in (value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]):
            if isinstance(item, (str, Path)) and str(item).endswith((".png", ".gif")) and Path(item).is_file():
                display(Image(filename=item))
