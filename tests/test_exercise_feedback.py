"""What a failed check tells the learner: where to re-read (a step that exists and is about what the
pointer says), in lines that fit, with the nudge and the worked hint for the mistake actually made."""
import importlib.util
import re

import pytest

from lowtf.catalog import find_lessons
from lowtf.practice.checking import CheckFailed, check, load_module
from lowtf.practice.exercises import find_exercises, wrapped
from lowtf.practice.pointers import describe, find_step, pointers, step_titles

EXERCISES = find_exercises()
LESSONS = find_lessons()


def checks_of(exercise):
    spec = importlib.util.spec_from_file_location(f"feedback_checks_{exercise.number}", exercise.checks)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [(name, fn) for name, fn in vars(module).items() if name.startswith("test_") and callable(fn)]


@pytest.mark.parametrize("number", sorted(EXERCISES))
def test_every_checks_pointer_names_a_step_that_exists(number):
    for name, fn in checks_of(EXERCISES[number]):
        assert fn.lesson, f"check {name} says where to re-read"
        for pointer in pointers(fn.lesson):
            lesson = pointer if isinstance(pointer, str) else pointer[0]
            assert lesson in LESSONS, f"exercise {number}, {name}: no lesson {lesson}"
            if not isinstance(pointer, str):
                assert find_step(*pointer), f"exercise {number}, {name}: no step of lesson {lesson} is titled " \
                                            f"with {pointer[1]!r}: {step_titles(LESSONS[lesson])}"


def reread_line(path) -> str:
    """The file's "Re-read:" sentence, its lines joined."""
    text = path.read_text()
    start = text.index("Re-read:")
    end = text.index("\n\"\"\"", start) if '\n"""' in text[start:] else len(text)
    return " ".join(text[start:end].split())


@pytest.mark.parametrize("number", sorted(EXERCISES))
def test_the_files_reread_lines_name_steps_that_exist(number):
    """Templates and solutions name steps by words of their titles, "lesson 07, step "the training loop"":
    a step renumbered in the lesson leaves them true."""
    for path in (EXERCISES[number].template, EXERCISES[number].solution):
        said = reread_line(path)
        assert not re.search(r"steps? \d", said), f"{path.name}: a step named by number goes stale: {said}"
        chunks = re.split(r"lesson (\d\d)", said)[1:]
        assert chunks, f"{path.name}: the Re-read line names no lesson"
        for lesson, rest in zip(chunks[::2], chunks[1::2]):
            assert lesson in LESSONS, f"{path.name}: no lesson {lesson}"
            for words in re.findall(r'"([^"]+)"', rest):
                assert find_step(lesson, words), f"{path.name}: lesson {lesson} has no step titled with {words!r}"


def test_a_pointer_shows_the_steps_number_and_title():
    assert describe(("07", "the training loop")).startswith("lesson 07, step ")
    number, title = find_step("07", "the training loop")
    assert step_titles(LESSONS["07"])[number - 1] == title and "training loop" in title
    assert describe("14") == "lesson 14"
    report = CheckFailed("x", "y", lesson=[("07", "backprop"), "14"]).render()
    assert f"re-read:  lesson 07, step {find_step('07', 'backprop')[0]}: backprop" in report
    assert report.endswith("; also lesson 14")


def test_feedback_lines_fit_76_columns_and_never_break_a_word():
    long_got = "it raised FailedPreconditionError: " + " ".join(f"word{i}" for i in range(60))
    path = "/home/learner/practice/" + "a_very_long_folder_name/" * 4 + "file.py"
    report = CheckFailed("a dot product of two vectors of any length, fed through placeholders",
                         long_got + " " + path, hint="h " * 50, lesson=("07", "backprop"),
                         nudge="fill in the function marked TODO; the lesson below shows how").render(True)
    shown = wrapped(report)
    for line in shown.splitlines():
        assert len(line) <= 76 or " " not in line.strip(), line      # only a single word may be wider
    assert shown.split() == " ".join("        " + line for line in report.splitlines()).split()   # no word cut
    assert path in shown.split()
    got = [line for line in shown.splitlines() if "word5" in line or line.startswith(" " * 18)]
    assert got and all(line.startswith(" " * 8) for line in got)     # continued under the text, past the label


def test_a_sign_error_in_exercise_04_gets_the_uphill_nudge(tmp_path):
    learner = tmp_path / "mine.py"
    learner.write_text(
        "import tensorflow.compat.v1 as tf\n"
        "def gradient_step(loss, variables, rate):\n"
        "    grads = tf.gradients(loss, variables)\n"
        "    return tf.group(*[tf.assign_add(v, rate * g) for v, g in zip(variables, grads)])\n")
    (_, matches), = [(n, fn) for n, fn in checks_of(EXERCISES["04"]) if "matches" in n]
    with pytest.raises(CheckFailed) as failed:
        matches(load_module(learner))
    assert "uphill" in failed.value.nudge and "minus the gradient" in failed.value.nudge


def test_a_step_twice_too_long_in_exercise_04_is_told_so(tmp_path):
    learner = tmp_path / "mine.py"
    learner.write_text(
        "import tensorflow.compat.v1 as tf\n"
        "def gradient_step(loss, variables, rate):\n"
        "    grads = tf.gradients(loss, variables)\n"
        "    return tf.group(*[tf.assign_sub(v, 2 * rate * g) for v, g in zip(variables, grads)])\n")
    (_, matches), = [(n, fn) for n, fn in checks_of(EXERCISES["04"]) if "matches" in n]
    with pytest.raises(CheckFailed) as failed:
        matches(load_module(learner))
    assert "2 times" in failed.value.got and "size" in failed.value.nudge


def test_hint_after_a_missing_initialiser_is_the_fix_for_it_not_the_checks_hint(tmp_path):
    """Exercise 05's hint is about next_batch; a learner whose loop reads an uninitialised Variable gets,
    with --hint, how to initialise, not that."""
    learner = tmp_path / "mine.py"
    learner.write_text(
        "import tensorflow.compat.v1 as tf\n"
        "def train():\n"
        "    w = tf.Variable(3.0)\n"
        "    with tf.Session() as sess:\n"
        "        return sess.run(w)\n")
    next_batch = "batch_xs, batch_ys = mnist.train.next_batch(100); sess.run(train_step, feed_dict=...)"

    @check(next_batch, ("07", "the training loop"))
    def trains(ex):
        ex.train()
    with pytest.raises(CheckFailed) as failed:
        trains(load_module(learner))
    (hint,) = [line for line in failed.value.render(show_hint=True).splitlines() if line.startswith("hint:")]
    assert "global_variables_initializer" in hint and "next_batch" not in hint
    assert "global_variables_initializer" in failed.value.nudge


def test_an_unrecognised_error_keeps_the_checks_own_hint(tmp_path):
    learner = tmp_path / "mine.py"
    learner.write_text("def train():\n    return 1 / 0\n")

    @check("the check's own hint", ("07", "the training loop"))
    def trains(ex):
        ex.train()
    with pytest.raises(CheckFailed) as failed:
        trains(load_module(learner))
    assert failed.value.hint == "the check's own hint"
