"""What a learner reads fits the terminal: explanations re-flowed, paths whole, the end of a run a short
table of what it found; and an 80-column run of a few lessons shows no line wider than 79 columns."""
import re
import textwrap

import pytest

from lowtf import verdicts
from lowtf.catalog import find_lessons, load_lesson
from lowtf.lesson.findings import findings
from lowtf.lesson.presentation import reflow, shown

LESSONS = find_lessons()
WIDTH = 76            # an explanation's room in an 80-column terminal: 79, less its indent of 3


def test_prose_is_refilled_and_a_line_starting_with_a_number_is_prose():
    text = ("An accuracy measured on\n10,000 test images carries a standard error of about 0.003, which a\n"
            "reader should\nkeep in mind.")
    out = reflow(text, 40)
    assert out.split() == text.split() and all(len(line) <= 40 for line in out.splitlines())
    assert out == textwrap.fill(" ".join(text.split()), 40)      # filled, not kept at the source's breaks


def test_list_items_hang_under_their_marker_and_indented_rows_keep_their_columns():
    text = ("Three things:\n- first, a long item that goes on well past the width of the terminal\n"
            "  and continues here;\n- second.\nThen prose again,\nfilled.\n\n"
            "  float32   1, 8, 23\n  bfloat16  1, 8,  7")
    out = reflow(text, 40).splitlines()
    assert out[0] == "Three things:" and out[1].startswith("- first,") and out[2].startswith("  ")
    assert "- second." in out and "Then prose again, filled." in out
    assert out[-2:] == ["  float32   1, 8, 23", "  bfloat16  1, 8,  7"]
    assert all(len(line) <= 40 for line in out)


ITEM = re.compile(r"\s*([-*]|\d{1,2}[.)])\s")


def _orphans(text: str, width: int) -> list:
    """Lines of 1-3 words followed by more prose whose first word would have fitted after them: a break
    kept from the source, not made by the fill."""
    lines = reflow(text, width).splitlines()
    prose = [bool(line.strip()) and not line[:1].isspace() and not ITEM.match(line) for line in lines]
    return [line for line, after, is_prose, next_is_prose in zip(lines, lines[1:], prose, prose[1:])
            if is_prose and next_is_prose and len(line.split()) <= 3 and len(line) + 1 + len(after.split()[0]) <= width]


@pytest.mark.parametrize("number", sorted(LESSONS))
def test_every_explanation_fits_76_columns_without_orphans(number):
    lesson = load_lesson(LESSONS[number])
    for step in lesson.steps:
        out = reflow(step.explanation, WIDTH)
        too_wide = [line for line in out.splitlines() if len(line) > WIDTH and " " in line.strip()]
        assert not too_wide, (step.title, too_wide)
        assert out.split() == step.explanation.split(), step.title          # every word kept, in order
        assert not _orphans(step.explanation, WIDTH), (step.title, _orphans(step.explanation, WIDTH))


def test_a_path_is_printed_whole_on_its_own_line_and_a_picture_says_how_to_open_it(tmp_path):
    path = tmp_path / "a-long-folder-name-with-hyphens" / "runs" / "11_dropout_and_overfitting" / "overfit.png"
    out = shown("plot", path, 60).splitlines()
    assert out[0] == "   plot:" and out[1].strip() == str(path) and "open" in out[2]
    listed = shown("GIFs", {"conv1": str(path), "conv2": str(path)}, 60)
    assert listed.count(str(path)) == 2 and all(str(path) in line or len(line) <= 60 for line in listed.splitlines())
    assert shown("short", "a/b.png", 60) == "   short: a/b.png"


def test_the_end_of_a_run_is_a_table_of_claims_and_numbers_not_a_dump(tmp_path):
    claim = verdicts.paired("test accuracy, dropout vs none", [1, 1, 0, 1] * 500, [1, 0, 0, 1] * 500,
                            names=("dropout", "none")).as_dict()
    summary = {"verdicts": [{**claim, "expects": "dropout"}], "test_accuracy": 0.98765, "steps": 1200,
               "executed_ops": ["a", "b"] * 50, "error": "x" * 300, "seconds": 3.2,
               "plot": str(tmp_path / "runs" / "11_dropout" / "overfitting.png")}
    out = findings(summary, tmp_path / "runs" / "11_dropout", 79)
    lines = out.splitlines()
    assert "Key numbers" not in out and "{" not in out
    assert "dropout ahead of none" in out and "paired SE, 2,000 items; as the lesson expected" in out
    assert any(re.fullmatch(r"\s+test accuracy\s+0\.9877", line) for line in lines)
    assert "executed ops" not in out and "(2 too long to show here)" in out
    assert lines[-1].strip() == str(tmp_path / "runs" / "11_dropout" / "summary.json")
    assert str(tmp_path / "runs" / "11_dropout" / "overfitting.png") in [line.strip() for line in lines]
    assert "xdg-open" in out or "open" in out
    assert all(len(line) <= 79 or line.strip() == summary["plot"] for line in lines[:-1])


@pytest.mark.parametrize("number", ["00", "02", "03"])
def test_an_80_column_run_shows_no_line_wider_than_the_terminal(number, tmp_path, monkeypatch):
    """--step in an 80-column terminal (COLUMNS=80, as shutil.get_terminal_size reads it): every line
    shown (explanations, code, numbers, the end table) fits 79 columns; the run's paths are short here
    (a relative logdir), as a learner's runs/NN_name is."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(tmp_path)
    shown_lines = []
    lesson = load_lesson(LESSONS[number])
    lesson.run(fast=True, logdir=f"runs/{lesson.slug}", interactive=True, ask=lambda prompt: "",
               out=lambda text: shown_lines.extend(str(text).splitlines()))
    too_wide = [line for line in shown_lines if len(line) > 79]
    assert not too_wide, too_wide
    text = "\n".join(shown_lines)
    assert "Key numbers" not in text and "Every value it recorded" in text
    assert all(" ".join(s.explanation.split()[:8]) in " ".join(text.split()) for s in lesson.steps)


def test_a_plain_run_shows_the_words_and_quiet_only_the_numbers(tmp_path):
    lesson = load_lesson(LESSONS["03"])
    words = " ".join(lesson.steps[0].explanation.split()[:10])
    runs = {}
    for quiet in (False, True):
        said = []
        lesson.run(fast=True, logdir=tmp_path / str(quiet), quiet=quiet, out=said.append)
        runs[quiet] = " ".join("\n".join(said).split())
    assert words in runs[False] and words not in runs[True]
    assert all("Step 1/" in run and "Every value it recorded" in run for run in runs.values())
