"""``CourseError``: an error the learner can fix, whose message names the problem and the fix.

The command line (``lowtf ...``) and the lesson runner each catch it once and print it as one
line, ``error: ...``, exit status 2: no traceback for a wrong flag, a missing dataset, a busy port
or a logdir that holds something else. Each kind subclasses it beside the built-in error it has
always been (``FolderError`` is still a ``ValueError``), so older ``except`` clauses keep working.
"""


class CourseError(Exception):
    """Something the learner can fix; the message says what and how."""
