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


def is_keras(exercise) -> bool:
    """A Keras exercise's checks run eagerly, in a process of their own (this one is in graph mode)."""
    return any(getattr(fn, "keras", False) for _, fn in checks_of(exercise))


KERAS = sorted(n for n, e in EXERCISES.items() if is_keras(e))


def cases(slow: bool):
    for number, exercise in EXERCISES.items():
        if number in KERAS:
            continue
        for name, fn in checks_of(exercise):
            is_slow = any(m.name == "slow" for m in getattr(fn, "pytestmark", []))
            if is_slow == slow:
                yield pytest.param(exercise, fn, id=f"{number}-{name}")


def call(fn, module, tmp_path):
    extra = [p for p in inspect.signature(fn).parameters if p != "ex"]
    fn(module, **({"tmp_path": tmp_path} if "tmp_path" in extra else {}))


def test_sixteen_exercises_each_complete_five_of_them_keras():
    assert len(EXERCISES) >= 16 and KERAS == ["13", "14", "15", "16", "27"]
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


@pytest.mark.slow
def test_exercise_and_check_commands(tmp_path):
    workspace = tmp_path / "practice"
    run = lambda *args: subprocess.run([PYTHON, "-m", "lowtf", *args], capture_output=True, text=True,  # noqa: E731
                                       timeout=180, cwd=tmp_path)
    first = run("exercise", "11", "--workspace", str(workspace))
    copied = workspace / EXERCISES["11"].template.name
    assert first.returncode == 0 and copied.exists()
    failing = run("check", "11", "--workspace", str(workspace))
    assert failing.returncode == 1 and "FAIL  cluster and devices" in failing.stdout
    assert "re-read:  lesson 14" in failing.stdout and "Traceback" not in failing.stdout
    # the untouched template gets a nudge; the worked hint (close to the answer) only when asked for
    (_, the_check), = checks_of(EXERCISES["11"])
    assert "nudge:" in failing.stdout and "add --hint" in failing.stdout and the_check.hint not in failing.stdout
    asked = run("check", "11", "--workspace", str(workspace), "--hint")
    assert " ".join(f"hint: {the_check.hint}".split()) in " ".join(asked.stdout.split())   # wrapped to 80
    copied.write_text(EXERCISES["11"].solution.read_text())
    again = run("exercise", "11", "--workspace", str(workspace))           # never overwrites the learner's work
    assert "already there" in again.stdout and "TODO" not in copied.read_text()
    passing = run("check", "11", "--workspace", str(workspace))
    assert passing.returncode == 0 and "All 1 check passed. Next: lowtf exercise 12" in passing.stdout


# Known ways to get a green check without doing the exercise: each must keep failing.
CHEATS = {
    "02": {
        "the fused op inside tf.function": '''
import tensorflow as tf2
@tf2.function
def fused(labels, logits):
    return tf2.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
def cross_entropy(labels, logits):
    return fused(labels, logits)
''',
        "tf.nn.log_softmax": '''
def cross_entropy(labels, logits):
    return -tf.reduce_sum(labels * tf.nn.log_softmax(logits), axis=1)
''',
        "tf.reduce_logsumexp": '''
def cross_entropy(labels, logits):
    return -tf.reduce_sum(labels * (logits - tf.reduce_logsumexp(logits, axis=1, keepdims=True)), axis=1)
''',
        "the loss in numpy through tf.numpy_function": '''
import numpy as np
def _np(labels, logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return (-(labels * (shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))).sum(axis=1)).astype(np.float32)
def cross_entropy(labels, logits):
    return tf.numpy_function(_np, [labels, logits], tf.float32)
''',
    },
    "04": {
        "an optimizer on resource Variables": '''
tf.enable_resource_variables()
def gradient_step(loss, variables, rate):
    return tf.train.GradientDescentOptimizer(rate).minimize(loss, var_list=variables)
''',
    },
    "05": {
        "a number, no training": '''
def train_and_test(mnist, steps=1000):
    return 0.92
''',
        "least squares in numpy, no TensorFlow": '''
import numpy as np
def train_and_test(mnist, steps=1000):
    x, y = np.c_[mnist.train.images[:20000], np.ones(20000)], mnist.train.labels[:20000]
    w = np.linalg.solve(x.T @ x + 0.1 * np.eye(x.shape[1]), x.T @ y)   # the normal equations: 0.86, in 1 s
    guess = np.c_[mnist.test.images, np.ones(len(mnist.test.images))] @ w
    return float((guess.argmax(1) == mnist.test.labels.argmax(1)).mean())
''',
    },
}


def _on_the_solution(number: str, cheat: str) -> str:
    """The exercise's solution with one function replaced by ``cheat``: the red-team test then fails only
    if the cheat itself is caught (a missing function would fail every check for the wrong reason)."""
    return EXERCISES[number].solution.read_text() + "\n\n# the cheat, in place of the function above\n" + cheat


CHEATS.update({
    "17": {
        "tf.gradients in place of the formula": _on_the_solution("17", '''
def gradients_by_hand(x, y, w, b):
    return tuple(tf.gradients(tf.reduce_mean(tf.square(w * x + b - y)), [w, b]))
'''),
        "a GradientTape in place of the formula": _on_the_solution("17", '''
import tensorflow as tf2
tf.enable_resource_variables()   # a tape in a graph needs them
def gradients_by_hand(x, y, w, b):
    with tf2.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(w * x + b - y))
    return tuple(tape.gradient(loss, [w, b]))
'''),
        "the gradient in numpy through tf.numpy_function": _on_the_solution("17", '''
import numpy as np
def _grads(x, y, w, b):
    r = w * x + b - y
    return np.float32(2 * np.mean(r * x)), np.float32(2 * np.mean(r))
def gradients_by_hand(x, y, w, b):
    return tuple(tf.numpy_function(_grads, [x, y, w, b], [tf.float32, tf.float32]))
'''),
        "least squares in numpy, no loop": _on_the_solution("17", '''
def fit_line(xs, ys, steps, rate):
    w, b = np.polyfit(xs, ys, 1)
    return float(w), float(b)
'''),
        "the descent in numpy, no Session": _on_the_solution("17", '''
def fit_line(xs, ys, steps, rate):
    w = b = 0.0
    for _ in range(steps):
        r = w * xs + b - ys
        w, b = w - rate * 2 * np.mean(r * xs), b - rate * 2 * np.mean(r)
    return float(w), float(b)
'''),
        "an optimizer's minimize in the loop": _on_the_solution("17", '''
def fit_line(xs, ys, steps, rate):
    x, y = tf.placeholder(tf.float32, [None]), tf.placeholder(tf.float32, [None])
    w, b = tf.Variable(0.0), tf.Variable(0.0)
    step = tf.train.GradientDescentOptimizer(rate).minimize(tf.reduce_mean(tf.square(w * x + b - y)))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            sess.run(step, {x: xs, y: ys})
        return tuple(float(v) for v in sess.run([w, b]))
'''),
    },
    "18": {
        "tf.Variable in a name_scope": _on_the_solution("18", '''
def dense(x, units, name):
    with tf.name_scope(name):
        w = tf.Variable(tf.glorot_uniform_initializer()([int(x.shape[-1]), units]), name="weights")
        b = tf.Variable(tf.zeros([units]), name="biases")
        return tf.matmul(x, w) + b
'''),
        "a Python dict of Variables made once": _on_the_solution("18", '''
_made = {}
def dense(x, units, name):
    if name not in _made:
        with tf.name_scope(None):
            _made[name] = (tf.Variable(tf.glorot_uniform_initializer()([int(x.shape[-1]), units]),
                                       name=name + "/weights"),
                           tf.Variable(tf.zeros([units]), name=name + "/biases"))
    w, b = _made[name]
    return tf.matmul(x, w) + b
'''),
        "get_variable under a name_scope": _on_the_solution("18", '''
def dense(x, units, name):
    with tf.name_scope(name), tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
        w = tf.get_variable("weights", [x.shape[-1], units])
        b = tf.get_variable("biases", [units], initializer=tf.zeros_initializer())
        return tf.matmul(x, w) + b
'''),
        "a variable_scope without reuse": _on_the_solution("18", '''
def dense(x, units, name):
    with tf.variable_scope(name):
        w = tf.get_variable("weights", [x.shape[-1], units])
        b = tf.get_variable("biases", [units], initializer=tf.zeros_initializer())
        return tf.matmul(x, w) + b
'''),
        "two towers with two sets of weights": _on_the_solution("18", '''
def siamese(left, right):
    return tuple(dense(tf.tanh(dense(x, 8, "hidden_" + side)), 2, "embedding_" + side)
                 for x, side in ((left, "left"), (right, "right")))
'''),
    },
    "19": {
        "a lookup table computed in Python": _on_the_solution("19", '''
def _collatz(n):
    count = 0
    while n > 1:
        n, count = (n // 2 if n % 2 == 0 else 3 * n + 1), count + 1
    return count
def collatz_steps(n):
    return tf.gather(tf.constant([0] + [_collatz(i) for i in range(1, 5000)]), n)
'''),
        "the loop in numpy through tf.numpy_function": _on_the_solution("19", '''
import numpy as np
def _collatz(n):
    count = 0
    while n > 1:
        n, count = (n // 2 if n % 2 == 0 else 3 * n + 1), count + 1
    return np.int32(count)
def collatz_steps(n):
    return tf.numpy_function(_collatz, [n], tf.int32)
'''),
        "check_numerics in place of an assertion": _on_the_solution("19", '''
def checked_sqrt(x):
    return tf.debugging.check_numerics(tf.sqrt(x), "x must be non-negative")
'''),
        "an assertion nothing depends on": _on_the_solution("19", '''
def checked_sqrt(x):
    tf.debugging.assert_non_negative(x, message="x must be non-negative")
    return tf.sqrt(x)
'''),
        "the answer to lesson 07's graph, hard-coded": _on_the_solution("19", '''
def first_bad_op(fetch, feed):
    return "log_probs"
'''),
        "every op fetched and tested in numpy": _on_the_solution("19", '''
import numpy as np
def first_bad_op(fetch, feed):
    ops = [op for op in tf.get_default_graph().get_operations()
           if op.outputs and op.outputs[0].dtype == tf.float32 and op.type != "Placeholder"]
    with tf.Session() as sess:
        for op in ops:
            if not np.all(np.isfinite(sess.run(op.outputs[0], feed))):
                return op.name
    return ""
'''),
    },
})


@pytest.mark.parametrize("number,name", [(n, name) for n, cheats in CHEATS.items() for name in cheats])
def test_known_cheats_keep_failing(number, name, tmp_path):
    """Red team: each cheat fails at least one of its exercise's checks, with a report in words."""
    cheat = tmp_path / f"cheat_{number}.py"
    cheat.write_text("import tensorflow.compat.v1 as tf\ntf.disable_v2_behavior()\n" + CHEATS[number][name])
    failures = []
    try:
        module = load_module(cheat)
        for check_name, check in checks_of(EXERCISES[number]):
            try:
                call(check, module, tmp_path / check_name)
            except CheckFailed as e:
                failures.append((check_name, e))
    finally:
        import tensorflow.compat.v1 as tf

        tf.disable_resource_variables()   # a cheat may have switched them on for the whole process
    assert failures, f"exercise {number}: '{name}' passed every check"


def test_lowtf_check_survives_a_file_that_loops_or_ends_the_process(tmp_path):
    """`lowtf check` runs the checks in a child process with a time limit: a file that loops forever at
    import is stopped and named; one that calls os._exit(0) is not reported as a pass."""
    from concurrent.futures import ThreadPoolExecutor

    from lowtf.practice.exercises import find_exercises, report, run_checks_in_a_process
    exercise = find_exercises()["01"]
    looping = tmp_path / "loop.py"
    looping.write_text("import time\nwhile True:\n    time.sleep(0.05)\n")   # forever, without taking a core
    ending = tmp_path / "ends.py"
    ending.write_text("import os\nos._exit(0)\n")
    with ThreadPoolExecutor(2) as pool:        # both checking processes at once: the wait is the 8 s limit
        checks = [pool.submit(run_checks_in_a_process, exercise, looping, include_slow=False, limit=8),
                  pool.submit(run_checks_in_a_process, exercise, ending, include_slow=False)]
        (looped,), (ended,) = (check.result() for check in checks)
    assert not looped.passed and "did not finish within 8 s" in looped.report and "loop" in looped.report
    assert not ended.passed and "os._exit()" in ended.report
    lines = []
    assert report(exercise, [ended], out=lines.append) is False and lines[-1] == "0 of 1 check passed."


def test_lowtf_check_refuses_a_file_that_is_not_python(tmp_path):
    notes = tmp_path / "answer.txt"
    notes.write_text("42")
    run = subprocess.run([PYTHON, "-m", "lowtf", "check", "01", "--file", str(notes)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "is not a Python file" in run.stderr and "Traceback" not in run.stderr


def test_feedback_names_the_cause_the_line_and_the_usual_mistake(tmp_path):
    """A forgotten initializer and a Tensor handed back instead of its value: the report gives TensorFlow's
    cause line (not "Graph execution error:"), the learner's file and line, and the hint for that mistake."""
    from lowtf.practice.checking import check
    learner = tmp_path / "mine.py"
    learner.write_text(
        "import tensorflow.compat.v1 as tf\n"
        "def value_of_w():\n"
        "    w = tf.Variable(3.0)\n"
        "    with tf.Session() as sess:\n"
        "        return sess.run(w)\n")
    module = load_module(learner)

    @check("the exercise's own hint", "02")
    def reads_w(ex):
        ex.value_of_w()
    with pytest.raises(CheckFailed) as failed:
        reads_w(module)
    report = str(failed.value)
    assert "FailedPreconditionError" in report and "uninitialized" in report
    assert "Graph execution error" not in report.splitlines()[1]
    assert "your file, line 5: return sess.run(w)" in report and "global_variables_initializer" in report


def test_a_wrong_accuracy_gets_the_nudge_of_its_usual_mistake():
    """Exercise 05's two classic wrong answers: a NaN loss leaves the model at chance (0.098) and a doubled
    softmax stops it short (0.906); each gets the nudge for its mistake, not the next_batch hint."""
    from lowtf.practice.checking import accuracy_nudge
    assert "NaN" in accuracy_nudge(0.098) and "NaN" in accuracy_nudge(float("nan"))
    assert "softmax applied twice" in accuracy_nudge(0.906)
    assert accuracy_nudge(0.5) == ""
