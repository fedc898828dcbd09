"""The step-through lesson runner.

A lesson is a script made of named steps. Each step is a function whose docstring is
its explanation and whose body is the code being taught; it receives the shared
``LessonContext`` and may return a dict of what it produced, which the runner prints::

    lesson = Lesson("01", "graphs and sessions")

    @lesson.step("a + b is a Tensor, not a number")
    def add(ctx):
        '''Explanation shown before the step runs in --step mode.'''
        ctx.total = tf.add(2.0, 3.0)
        return {"total": ctx.total}

    if __name__ == "__main__":
        lesson.main()

Command line: each step's explanation is printed, then what it made; ``--step`` also shows its
code and waits for Enter (``q`` quits); ``--quiet`` prints numbers only; ``--fast`` shrinks the
work (for tests); ``--logdir`` chooses where TensorBoard events go (default ``runs/NN_name/``).
A lesson declares each claim with ``ctx.verdict(lowtf.verdicts.X(...), expects=...)`` and records
its numbers with ``ctx.record``; both go to ``LOGDIR/summary.json`` (``seconds`` there is computing
time, not reading time), and the run ends with a short table of what it found (``findings``).

A lesson that uses Keras says so, ``Lesson("23", "keras lenet5", keras=True)``; one that starts
TensorFlow servers, ``private_network=True``. The runner acts on both before step 1.

The package: ``runner`` (steps, the run loop, the command line), ``presentation`` (values and
explanations wrapped to the terminal), ``findings`` (the end of a run), ``logdir`` (where a run writes), ``signals`` (Ctrl-C,
SIGTERM, keys typed ahead). Importing it loads TensorFlow quietly (``lowtf.console``): that is
why a lesson's first line is ``from lowtf.lesson import Lesson``, before its ``import tensorflow``.
"""
from lowtf import console

console.load_tensorflow(keras_eagerly=False)   # stated once, here; Keras loads when a lesson imports it

from lowtf.lesson.logdir import LogdirError, remove_abandoned_checkpoint_writes  # noqa: E402
from lowtf.lesson.presentation import plain, show, source  # noqa: E402
from lowtf.lesson.runner import Lesson, LessonContext, Step, WrongModeError, read_summary  # noqa: E402
from lowtf.lesson.signals import INTERRUPTED_EXIT, Terminated, stop_on_termination  # noqa: E402

__all__ = ["INTERRUPTED_EXIT", "Lesson", "LessonContext", "LogdirError", "Step", "Terminated", "WrongModeError",
           "plain", "read_summary", "remove_abandoned_checkpoint_writes", "show", "source", "stop_on_termination"]
