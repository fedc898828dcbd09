"""How an exercise is checked: each check is a pytest test taking the learner's module ``ex``.

A check that fails raises ``CheckFailed`` with what was expected, what came back, a hint and
the lesson step to re-read, so the learner reads plain words, not a traceback. The ``check``
decorator turns the learner's own exceptions (``NotImplementedError`` in an untouched
template, or any error their code raises) into the same kind of report, and runs each check
in a fresh TensorFlow graph.
"""
from __future__ import annotations

import contextlib
import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lowtf.practice.pointers import Pointer, describe


@dataclass
class CheckFailed(Exception):
    """A check that did not pass, in the learner's terms.

    Hints come in tiers: ``nudge`` (a recognised mistake, or where to look) is always shown; ``hint``,
    the check's worked hint (close to the answer), only when the learner asks (``lowtf check NN --hint``),
    and never for an untouched template."""

    expected: str
    got: str
    hint: str = ""
    lesson: Any = ""          # a pointer (lowtf.practice.pointers): ("07", "the training loop")
    nudge: str = ""

    def render(self, show_hint: bool = False) -> str:
        lines = [f"expected: {self.expected}", f"got:      {self.got}"]
        if self.nudge:
            lines.append(f"nudge:    {self.nudge}")
        if self.hint and show_hint:
            lines.append(f"hint:     {self.hint}")
        elif self.hint:
            lines.append("hint:     stuck? add --hint to the check command for a worked hint")
        if self.lesson:
            lines.append(f"re-read:  {describe(self.lesson)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render(show_hint=True)


def expect(condition: bool, expected: str, got: Any, nudge: str = "") -> None:
    """Raise CheckFailed(expected, got) unless ``condition`` (the decorator adds hint and lesson); ``nudge``
    names the likely mistake when the wrong answer points to one."""
    if not condition:
        raise CheckFailed(expected, got if isinstance(got, str) else repr(got), nudge=nudge)


def accuracy_nudge(accuracy: float, classes: int = 10) -> str:
    """What a wrong test accuracy usually means: at chance, nothing was learned (a NaN loss, most often:
    the log of a softmax that reached 0); close to the target, softmax applied twice (the fused loss
    takes logits and applies its own)."""
    if accuracy != accuracy or accuracy < 1.5 / classes:
        return ("chance level: the model learned nothing. Is the loss NaN? (log of a softmax that reached 0: "
                "use the fused softmax_cross_entropy_with_logits on the logits, lesson 07)")
    if accuracy >= 0.8:
        return ("close: is softmax applied twice? The fused loss takes the logits and applies softmax itself; "
                "give it logits, not tf.nn.softmax(logits)")
    return ""


def expect_close(got: Any, want: Any, what: str, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """``got`` matches ``want`` elementwise (shapes too)."""
    got_a, want_a = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    expect(got_a.shape == want_a.shape, f"{what} of shape {want_a.shape}", f"shape {got_a.shape}")
    expect(np.allclose(got_a, want_a, atol=atol, rtol=rtol), f"{what} = {np.round(want_a, 4).tolist()}"[:300],
           np.round(got_a, 4).tolist().__repr__()[:300])


@contextlib.contextmanager
def served(base_path: Path, name: str):
    """``lowtf serve`` on the learner's export (REST on a free port of 127.0.0.1), stopped afterwards; a
    server that cannot load it is a failed check, with the server's last words."""
    from lowtf.ports import free_ports
    from lowtf.serve.process import ServerDidNotStart, start_server

    port = free_ports(1)[0]
    try:
        server = start_server([f"--model_base_path={base_path}", f"--model_name={name}", f"--rest_api_port={port}"],
                              port, ready_model=name, timeout=60)
    except ServerDidNotStart as e:
        raise CheckFailed("lowtf serve to load your export and answer", str(e)[-300:]) from None
    with server:
        yield server


def check(hint: str, lesson: Pointer, keras: bool = False) -> Callable:
    """Decorate a check ``fn(ex)``: a fresh graph (Keras checks: eager mode, as Keras runs), and every
    failure reported as CheckFailed. ``lesson`` is where to re-read: ``("07", "the training loop")``,
    a lesson and words of one of its step titles (a list for several)."""
    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(ex, *args, **kwargs) -> None:
            import tensorflow.compat.v1 as tf

            if keras and not tf.executing_eagerly():
                raise CheckFailed("a process with eager execution on (Keras runs eagerly)",
                                  "graph mode: something in this process called tf.disable_v2_behavior()", hint,
                                  lesson, nudge="a Keras exercise file must not call tf.disable_v2_behavior() or "
                                                "import tensorflow.compat.v1's graph-mode helpers")
            with (contextlib.nullcontext() if keras else tf.Graph().as_default()):
                try:
                    fn(ex, *args, **kwargs)
                except CheckFailed as e:
                    e.hint, e.lesson = e.hint or hint, e.lesson or lesson
                    raise
                except NotImplementedError as e:   # an untouched template: where to look, not the answer
                    raise CheckFailed("your code in place of the TODO", str(e) or "NotImplementedError", hint,
                                      lesson, nudge="fill in the function marked TODO; the lesson below shows "
                                                    "how it is done") from None
                except Exception as e:  # the learner's code raised: say what, where, and what usually causes it
                    nudge, worked = hint_for(e), worked_hint_for(e)
                    # a recognised mistake: --hint shows the fix for it, not the check's hint for another step
                    raise CheckFailed("your code to run", what_went_wrong(e, getattr(ex, "__file__", None)),
                                      worked or hint, lesson, nudge=nudge) from None
        run.hint, run.lesson, run.keras = hint, lesson, keras
        return run
    return wrap


# Common mistakes, recognised by their TensorFlow message: (words in the message, what to do, the worked
# fix that --hint shows in place of the check's own hint, which is about another step)
KNOWN_MISTAKES = [
    ("uninitialized", "a Variable was read before it had a value: run tf.global_variables_initializer() "
                      "in your Session before the first step (lesson 02)",
     "build the graph, then in the Session, once, before the loop: "
     "sess.run(tf.global_variables_initializer())"),
    ("You must feed a value for placeholder", "a placeholder the fetch depends on was not fed: pass it in "
                                              "feed_dict (lesson 02)",
     "sess.run(fetch, feed_dict={x: batch_xs, y_: batch_ys}): a value for every placeholder "
     "the fetch depends on"),
    ("Eager execution", "you handed back a Tensor, not its value: run it, value = sess.run(tensor), and "
                        "return the value (lesson 01)",
     "with tf.Session() as sess: return sess.run(tensor)"),
    ("@tf.function", "you handed back a Tensor, not its value: run it, value = sess.run(tensor), and "
                     "return the value (lesson 01)",
     "with tf.Session() as sess: return sess.run(tensor)"),
]


def _cause(error: Exception) -> str:
    """The informative line of an error: TensorFlow's messages start with "Graph execution error:" and
    put the cause ("Attempting to use uninitialized value ...") further down."""
    from lowtf.error_text import is_boilerplate, what_tf_stopped_at

    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    useful = [line for line in lines if not is_boilerplate(line)]
    if not useful and lines:          # "Graph execution error:" and where, nothing on what
        return what_tf_stopped_at(error)[:300]
    return (useful or [""])[0][:300]


def what_went_wrong(error: Exception, learner_file: str | None) -> str:
    """``it raised KIND: cause (your file, line N: code)``: the learner's own last line in the traceback."""
    import traceback

    said = f"it raised {type(error).__name__}: {_cause(error)}"
    if learner_file:
        mine = [f for f in traceback.extract_tb(error.__traceback__)
                if Path(f.filename).resolve() == Path(learner_file).resolve()]
        if mine:
            said += f" (your file, line {mine[-1].lineno}: {(mine[-1].line or '').strip()[:120]})"
    return said


def hint_for(error: Exception) -> str:
    """The hint for a mistake recognised by its message, or "" (the check's own hint then applies)."""
    text = str(error)
    return next((advice for words, advice, _ in KNOWN_MISTAKES if words in text), "")


def worked_hint_for(error: Exception) -> str:
    """The worked fix for a mistake recognised by its message, or ""."""
    text = str(error)
    return next((fix for words, _, fix in KNOWN_MISTAKES if words in text), "")


def load_module(path: Path):
    """Import the learner's file (any name) as a module."""
    spec = importlib.util.spec_from_file_location(f"exercise_{Path(path).stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
