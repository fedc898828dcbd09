"""The code a lesson shows fits an 80-column terminal, line for line.

``--step`` shows each step's body and, the first time a step calls it, each helper of the lesson
file, behind a five-column gutter: a line longer than 75 characters would be split there. A
step that returns a function's source as a value (lesson 10's ``lenet5``, 11's ``convnet``)
returns it as a block, which the runner prints under its key with the indentation kept.
"""
import ast
import inspect
import textwrap

import pytest

from lowtf.catalog import find_lessons, load_lesson
from lowtf.lesson.presentation import shown, source
from lowtf.lesson.runner import helpers_called

LESSONS = find_lessons()
SHOWN = 75              # 79 columns less the gutter "  | "
BLOCK_INDENT = 6        # a block value is printed 6 columns in, under its key
TERMINAL = 79           # the runner's width in an 80-column terminal


def shown_code(lesson):
    """[(what, code)] in the order --step shows them: each step's helpers the first time, then its body."""
    seen, blocks = {s.fn for s in lesson.steps}, []
    for i, step in enumerate(lesson.steps, 1):
        for helper in helpers_called(step.fn, seen):
            seen.add(helper)
            blocks.append((f"{helper.__name__} (shown with step {i})", source(helper)))
        blocks.append((f"step {i}, {step.title!r}", step.code))
    return blocks


@pytest.mark.parametrize("number", sorted(LESSONS))
def test_shown_code_fits_75_columns(number):
    lesson = load_lesson(LESSONS[number])
    too_wide = [f"{what}: {len(line)} columns: {line.strip()[:50]}"
                for what, code in shown_code(lesson) for line in code.splitlines()
                if len(line.rstrip()) > SHOWN]
    assert not too_wide, "\n".join(too_wide)


def returned_sources(path):
    """Every ``inspect.getsource(X)`` / ``source(X)`` in the lesson's steps: (the call's node, its parent)."""
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    steps = [f for f in tree.body if isinstance(f, ast.FunctionDef)
             and any("step" in ast.unparse(d) for d in f.decorator_list)]
    return [(call, parents[call]) for f in steps for call in ast.walk(f)
            if isinstance(call, ast.Call) and ast.unparse(call.func) in ("inspect.getsource", "source")]


@pytest.mark.parametrize("number", sorted(n for n, p in LESSONS.items() if returned_sources(p)))
def test_sources_returned_as_values_keep_their_indentation(number):
    """A source is returned as ``"\\n" + inspect.getsource(f)``: a block, printed as it is; and its
    lines fit once indented under the key."""
    path = LESSONS[number]
    lesson = load_lesson(path)
    module = inspect.getmodule(lesson.steps[0].fn)
    for call, parent in returned_sources(path):
        assert (isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Add)
                and getattr(parent.left, "value", None) == "\n"), \
            f"lesson {number}: {ast.unparse(call)} is not returned as a block (\"\\n\" + ...)"
        code = inspect.getsource(eval(ast.unparse(call.args[0]), vars(module)))
        printed = shown("name", "\n" + code, TERMINAL)
        for line in code.rstrip().splitlines():
            assert " " * BLOCK_INDENT + line in printed.splitlines() or not line.strip(), \
                f"lesson {number}: {line!r} is not printed whole, with its indentation"
            assert len(line) <= TERMINAL - BLOCK_INDENT, \
                f"lesson {number}, {ast.unparse(call.args[0])}: {len(line)} columns: {line.strip()[:50]}"


def test_the_width_check_can_fail():
    """The check reads what --step shows: a long line in a step's body is caught."""
    from lowtf.lesson import Lesson

    lesson = Lesson("99", "width")

    @lesson.step("a long line")
    def long_line(ctx):
        """Explained."""
        return {"a": "a string long enough to take this line past seventy-five columns"}

    assert any(len(line) > SHOWN for _, code in shown_code(lesson) for line in code.splitlines())
    assert textwrap.dedent(lesson.steps[0].code).startswith("return")
