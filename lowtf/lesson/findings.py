"""The end of a lesson run: what it found, readable at a glance in an 80-column terminal.

Each claim the lesson read against its noise (``ctx.verdict``) with its reading and the noise it used,
then the run's single numbers, then where all of them are (``summary.json``, a path on its own line).
A value too long to read at a glance (a list, an error text) stays in summary.json only.
"""
from __future__ import annotations

from pathlib import Path

from lowtf.lesson.presentation import PICTURES, fill, is_path, opener, plain
from lowtf.verdicts import A_DIFFERENCE, NO_DIFFERENCE, WHICHEVER

NOT_NUMBERS = {"verdicts", "seconds", "interrupted", "stopped_at_step"}
MOST_NUMBERS = 12


def _expected(claim: dict) -> str:
    """Whether the reading is the one the lesson expected, in words ("" when it expected whichever)."""
    expects = claim.get("expects", WHICHEVER)
    if expects == WHICHEVER:
        return ""
    said_none = claim["verdict"].startswith(NO_DIFFERENCE)
    met = (said_none if expects == NO_DIFFERENCE else not said_none if expects == A_DIFFERENCE
           else claim["verdict"].startswith(f"{expects} "))
    wanted = expects if expects in (NO_DIFFERENCE, A_DIFFERENCE) else f"{expects} ahead"
    return "as the lesson expected" if met else f"NOT as the lesson expected ({wanted})"


def claims_table(verdicts: list[dict], width: int) -> list[str]:
    """Each claim: a numbered line of what was compared, its reading below, then the noise it used."""
    lines = []
    for i, claim in enumerate(verdicts, 1):
        lines.append(fill(claim.get("claim", "?"), width, initial_indent=f"{i:2}. ", subsequent_indent="    "))
        lines.append(fill(claim["verdict"], width, initial_indent="    ", subsequent_indent="      "))
        noise = claim.get("noise") or f"SE {claim.get('se')}"
        expected = _expected(claim)
        lines.append(fill(f"noise: {noise}" + (f"; {expected}" if expected else ""), width,
                          initial_indent="    ", subsequent_indent="      "))
    return lines


def _short(value) -> str | None:
    """A value worth a row of the table: a number, a yes/no, a short word; None for the rest."""
    value = plain(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 1e5 or (value and abs(value) < 1e-3) else f"{round(value, 4)}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, str) and len(value) <= 30 and "\n" not in value:
        return value
    return None


def _paths(value) -> list:
    """[(name, path)] when ``value`` is a path, or a dict or list of paths only; [] otherwise."""
    if is_path(value):
        return [("", value)]
    items = list(value.items()) if isinstance(value, dict) else list(enumerate(value, 1)) \
        if isinstance(value, list) else []
    return [(str(k), v) for k, v in items] if items and all(is_path(v) for _, v in items) else []


def numbers_table(summary: dict, width: int) -> tuple[list[str], int]:
    """The summary's single numbers as ``name  value`` rows (names in words); and how many values were left
    to summary.json."""
    rows, left = [], 0
    for key, value in summary.items():
        if key in NOT_NUMBERS:
            continue
        text = _short(value)
        if _paths(value):
            continue                      # in the files' list
        if text is None or len(rows) >= MOST_NUMBERS:
            left += 1
            continue
        rows.append((key.replace("_", " "), text))
    if not rows:
        return [], left
    name_width = min(max(len(name) for name, _ in rows), width // 2)
    return [f"   {name:<{name_width}}  {text}" if len(name) <= name_width else f"   {name}\n   {'':<{name_width}}  {text}"
            for name, text in rows], left


def findings(summary: dict, logdir: Path, width: int) -> str:
    """The end of a run: claims and readings, single numbers, computing time, and where summary.json is."""
    lines: list[str] = []
    verdicts = summary.get("verdicts") or []
    if summary.get("interrupted") or summary.get("stopped_at_step"):
        lines.append(fill(f"(The run stopped at step {summary.get('stopped_at_step')}: what follows is from the "
                          "steps that ran.)", width))
    if verdicts:
        lines.append("What this run found, each claim read against its noise:")
        lines += claims_table(verdicts, width)
    numbers, left = numbers_table(summary, width)
    if numbers:
        lines.append("Numbers this run recorded:" if not verdicts else "And its numbers:")
        lines += numbers
    files = [(f"{key} {name}".strip(), path) for key, value in summary.items() if key not in NOT_NUMBERS
             for name, path in _paths(value)]
    if files:
        lines.append("Files it wrote:")
        for key, value in files:
            lines += [f"   {key.replace('_', ' ')}:", f"      {value}"]
        if any(str(value).lower().endswith(PICTURES) for _, value in files):
            lines.append(f"   (a picture: {opener()} and its path opens it)")
    if "seconds" in summary:
        lines.append(f"Computing time: {summary['seconds']} s (time inside the steps, not reading time).")
    lines.append(f"Every value it recorded ({left} too long to show here) is in:" if left
                 else "Every value it recorded is in:")
    lines.append(f"   {Path(logdir) / 'summary.json'}")
    return "\n".join(lines)
