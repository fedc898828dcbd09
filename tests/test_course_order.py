"""The course's order: every lesson on disk in it once, and `lowtf lessons` lists them in it, fitting the terminal."""
import os
import re
import subprocess

from conftest import PYTHON, REPO
from lowtf.catalog import course_order, find_lessons


def test_every_lesson_has_one_place_in_the_course():
    order = course_order()
    assert len(order) == len(set(order))
    assert sorted(order) == sorted(find_lessons())


def test_lowtf_lessons_lists_them_in_that_order_within_80_columns():
    run = subprocess.run([PYTHON, "-m", "lowtf", "lessons"], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "COLUMNS": "80"}, timeout=60)
    assert run.returncode == 0, run.stderr
    listed = [m.group(1) for m in re.finditer(r"^  (\d\d)  ", run.stdout, re.M)]
    assert listed == course_order()
    assert max(len(line) for line in run.stdout.splitlines()) <= 79
