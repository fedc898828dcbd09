"""Every lesson on disk keeps the course's shape, and some test runs it: a new lesson is covered the day it lands."""
import ast
import re

import pytest

from conftest import REPO
from lowtf.catalog import describe, find_lessons, load_lesson

LESSONS = find_lessons()
FIRST_LINE = "from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on"
TESTS = "\n".join(p.read_text() for p in (REPO / "tests").glob("test_*.py"))


@pytest.mark.parametrize("number", sorted(LESSONS))
def test_lesson_shape(number):
    path = LESSONS[number]
    source = path.read_text()
    tree = ast.parse(source)
    assert describe(path) and not describe(path).startswith(path.stem), "a one-line docstring says what it teaches"
    assert source.splitlines()[1] == FIRST_LINE, "TensorFlow is loaded by the runner before the lesson imports it"
    assert source.rstrip().endswith("raise SystemExit(lesson.main())"), "the script exits with the runner's status"
    lesson = load_lesson(path)
    assert lesson.number == number and path.name.startswith(f"{number}_{lesson.name.replace(' ', '_')}")
    assert lesson.steps, "a lesson has steps"
    for step in lesson.steps:
        assert step.explanation, f"step {step.title!r} explains itself in a docstring"
        assert step.code, f"step {step.title!r} has code to show"
        # what a lesson needs from the runner is declared in Lesson(...), not taught as a step's first line
        assert not step.code.lstrip().startswith(("require_eager", "enter_private_network", "ctx.record")), step.title
    # Knobs, when a lesson has them, are plain constants at the top, before the first step.
    first_step = min(n.lineno for n in tree.body if isinstance(n, ast.FunctionDef))
    knobs = [n for n in tree.body if isinstance(n, ast.Assign)
             and all(isinstance(t, ast.Name) and t.id.isupper() for t in n.targets)]
    assert all(n.lineno < first_step for n in knobs)


@pytest.mark.parametrize("number", sorted(LESSONS))
def test_some_test_runs_the_lesson(number):
    runs = (re.search(rf'run_lesson\("{number}"', TESTS) or re.search(rf'"lesson", "{number}"', TESTS)
            or re.search(rf'run_keras_lesson\("{number}"', TESTS) or re.search(rf'time_lesson\("{number}"', TESTS)
            or re.search(rf'load_lesson\(find_lessons\(\)\["{number}"\]\)\.run\(', TESTS)
            or (number in ("04", "10") and f"lesson{number}_fast" in TESTS))   # conftest's shared runs
    assert runs, f"no test runs lesson {number}"


def test_step_mode_shows_the_helpers_a_step_runs_the_first_time():
    """What a step runs in a helper of the lesson file is shown before the step's code, once: lesson 22's
    read/decode/resize (passed to map, not called), its PyDataset class and its TFRecord parse; lesson 10's
    evaluate()."""
    from lowtf.lesson.runner import helpers_called

    def first_shown(number):
        lesson = load_lesson(LESSONS[number])
        seen, shown = {s.fn for s in lesson.steps}, {}
        for step in lesson.steps:
            found = helpers_called(step.fn, seen)
            seen.update(found)
            shown[step.title] = [h.__name__ for h in found]
        return shown
    shown22 = first_shown("22")
    assert shown22["tf.data from files: list the files, read_file, decode_png, resize"] == ["load_png"]
    assert "CsvImages" in shown22["a keras.utils.PyDataset: batches read from the CSV's file names"]
    assert "parse" in shown22["TFRecord: thousands of small files become a few large ones"]
    assert sum(names.count("load_png") for names in shown22.values()) == 1      # once
    assert "evaluate" in first_shown("10")["the training loop, written out"]


# What the source articles explain, and the step whose explanation (shown by --step) now says it:
# (lesson, step function, words that must be in its explanation).
EXPLAINED = [
    ("01", "eager", "Why graphs at all"), ("01", "eager", 'pip install "tensorflow[and-cuda]"'),
    ("01", "build", "its rank is its number of dimensions"), ("01", "run_it", "interface and implementation"),
    ("05", "devices", "without being asked"), ("07", "model", "Logistic regression"),
    ("07", "train", "stochastic gradient"), ("09", "filters", "Weight sharing"),
    ("10", "model", "dead unit"), ("10", "model", "Batch size meets memory"),
    ("11", "fit", "Its cost"), ("12", "record", "more abstract"), ("17", "buffer", "sits in memory"),
    ("21", "serve", "a manager serves the versions"), ("23", "fit", "val_accuracy can sit above accuracy"),
    ("26", "serve", "tensorflow-model-server"), ("26", "serve", "absolute"),
    ("07", "squared_error", "confidently wrong"), ("08", "nonlinearity", "one matrix, one bias"),
    ("08", "batch_norm", "tf.GraphKeys.UPDATE_OPS"), ("03", "several_graphs", "the default graph"),
    ("22", "read_the_csv", "multi-hot"), ("22", "jpeg_and_mean", "mean image"),
    ("23", "fit", "validation_steps"), ("04", "in_a_notebook", "%load_ext tensorboard"),
    ("01", "tf2_map", "TensorFlow 2.16 removed it"), ("01", "tf2_map", "input_fn became the tf.data.Dataset"),
]


@pytest.mark.parametrize("number,step,words", EXPLAINED)
def test_the_sources_explanations_are_in_the_lessons(number, step, words):
    lesson = load_lesson(LESSONS[number])
    (found,) = [s for s in lesson.steps if s.fn.__name__ == step]
    assert words in " ".join(found.explanation.split()), (number, step, words)


def test_code_too_wide_for_the_terminal_is_continued_not_cut():
    """--step shows every lesson's code within the terminal: a long line goes on under a marked gutter, and
    nothing of it is lost (the pieces, joined, are the line)."""
    from lowtf.lesson.runner import CONTINUED, GUTTER, _gutter

    for lesson_path in LESSONS.values():
        code = lesson_path.read_text()
        shown = _gutter(code, 79).splitlines()
        assert all(len(line) <= 79 for line in shown)
        joined, original = "".join(line[len(GUTTER):] for line in shown), code
        assert "".join(joined.split()) == "".join(original.split())
    long_lines = _gutter(LESSONS["10"].read_text(), 79).splitlines()      # lesson 10 has lines over 74 characters
    assert any(line.startswith(CONTINUED) for line in long_lines)
