"""``python -m lowtf.bench.lessons [NN ...]``: every lesson's ``--fast`` run timed as a learner runs it.

Each lesson runs as ``python -m lowtf lesson NN --fast`` in a pseudo-terminal (so tqdm and Keras
draw their progress as they would for a person), one after another. For each it records the wall
time, when the first line appeared (TensorFlow's import is most of that), and the longest silence
after it: the longest stretch in which nothing at all reached the terminal. Targets (issue: fast
feedback): wall <= 20 s, silence <= ~3 s. Prints a table and writes JSON; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import fcntl
import pty
import re
import select
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

WALL_TARGET_S = 20.0
SILENCE_TARGET_S = 3.0
COLUMNS = 80


def time_lesson(number: str, logdir: Path, timeout: float = 600.0, step: bool = False, isa: str = "") -> dict:
    """Run one lesson's fast mode in a pseudo-terminal (``step``: with ``--step``, Enter pressed at each
    prompt; ``isa``: ONEDNN_MAX_CPU_ISA for it, "" for none); return its timings, exit code, and the
    lines wider than the terminal."""
    pid, fd = pty.fork()
    if pid == 0:   # the child: the lesson, as a learner starts it
        os.environ.pop("ONEDNN_MAX_CPU_ISA", None)
        if isa:
            os.environ["ONEDNN_MAX_CPU_ISA"] = isa
        os.execvp(sys.executable, [sys.executable, "-m", "lowtf", "lesson", number, "--fast", "--logdir", str(logdir)]
                  + (["--step"] if step else []))
    # An 80 x 50 terminal, as a learner's: with no size set, progress bars draw nothing.
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, COLUMNS, 0, 0))
    started = time.perf_counter()
    first = last = None
    longest, after, text, everything = 0.0, "", "", b""
    while time.perf_counter() - started < timeout:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:   # the lesson closed its terminal: it has ended
            break
        if not chunk:
            break
        everything += chunk
        if step and everything.rstrip().endswith(b"q: quit]"):
            os.write(fd, b"\n")      # the learner presses Enter
            everything += b"\n"
        now = time.perf_counter() - started
        if first is None:
            first = now
        elif chunk.strip() and now - last > longest:
            longest, after = now - last, text
        if chunk.strip():
            last = now
            text = [line for line in chunk.decode("utf-8", "replace").replace("\r", "\n").splitlines()
                    if line.strip()][-1].strip()[:60]
    else:
        os.kill(pid, 9)
    _, status, usage = os.wait4(pid, 0)     # usage: the lesson's CPU time, and its waited-for children's
    wall = time.perf_counter() - started
    # What the terminal shows: lines, and within a line each carriage return's redraw (a progress bar)
    shown = everything.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    wide = [line for line in shown if len(line) > COLUMNS]
    # TensorFlow's C++ log lines (E0000 ..., W0000 ..., I0000 ...): none should reach a learner
    tf_log = [line for line in shown if re.match(r"^[EWIF]\d{4} \d\d:\d\d:\d\d", line)]
    return {"lesson": number, "wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "first_output_s": round(first or wall, 1),
            "longest_silence_s": round(longest, 1), "silent_after": after, "exit_code": os.waitstatus_to_exitcode(status),
            "lines": len(shown), "too_wide": wide, "tf_log_lines": tf_log, "text": "\n".join(shown)}


def main(argv: list[str] | None = None) -> int:
    from lowtf.catalog import find_lessons

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", help="lessons to time (default: all)")
    parser.add_argument("--out", default="runs/bench/lessons.json")
    parser.add_argument("--isa", action="append", default=None, metavar="ISA",
                        help="also time each lesson with ONEDNN_MAX_CPU_ISA=ISA (e.g. AVX2: the proxy for an "
                             "AVX2 host), right after its uncapped run, and report the ratio; repeatable")
    args = parser.parse_args(argv)
    lessons = find_lessons()
    numbers = args.numbers or list(lessons)
    unknown = [n for n in numbers if n not in lessons]
    if unknown:
        print(f"error: no lesson {unknown[0]}; `lowtf lessons` lists them", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    from lowtf.host import this_host

    host = this_host()
    print(host.line())
    isas = ["", *(args.isa or [])]    # interleaved per lesson: a busy spell hits both alike
    print(f"{'lesson':>6} {'wall s':>7} {'first line s':>12} {'longest silence s':>17}  exit")
    with tempfile.TemporaryDirectory(prefix="lowtf-lesson-times-") as scratch:
        for number in numbers:
            for isa in isas:
                row = time_lesson(number, Path(scratch) / f"{number}{isa}", isa=isa)
                row.pop("text")
                row["too_wide"] = len(row["too_wide"])
                if row["tf_log_lines"]:
                    print(f"{'':>8}TensorFlow log line: {row['tf_log_lines'][0][:60]}", flush=True)
                if isa:
                    row["isa"] = isa
                    row["ratio_to_uncapped"] = round(row["wall_s"] / rows[-1]["wall_s"], 2)
                    # CPU seconds change less than wall time when other work shares the cores
                    row["cpu_ratio_to_uncapped"] = round(row["cpu_s"] / max(rows[-1]["cpu_s"], 0.1), 2)
                rows.append(row)
                flags = ("  over 20 s" if row["wall_s"] > WALL_TARGET_S else "") + \
                        ("  silent too long" if row["longest_silence_s"] > SILENCE_TARGET_S else "")
                label = f"{number}{' ' + isa if isa else ''}"
                ratio = (f"  {row['ratio_to_uncapped']}x uncapped (CPU s {row['cpu_s']}, "
                         f"{row['cpu_ratio_to_uncapped']}x)") if isa else f"  (CPU s {row['cpu_s']})"
                print(f"{label:>6} {row['wall_s']:>7} {row['first_output_s']:>12} {row['longest_silence_s']:>17}  "
                      f"{row['exit_code']}{flags}{ratio}", flush=True)
                if row["longest_silence_s"] > SILENCE_TARGET_S:
                    print(f"{'':>8}silent after: {row['silent_after']}", flush=True)
    totals = {}
    for isa in isas:
        mine = [r for r in rows if r.get("isa", "") == isa]
        totals[isa or "uncapped"] = total = round(sum(r["wall_s"] for r in mine), 1)
        print(f"total {total:.0f} s for {len(mine)} lessons{' with ONEDNN_MAX_CPU_ISA=' + isa if isa else ''}; "
              f"over {WALL_TARGET_S:.0f} s: {[r['lesson'] for r in mine if r['wall_s'] > WALL_TARGET_S] or 'none'}")
    out.write_text(json.dumps({"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                               "host": host.as_dict(), "lessons": rows, "total_s": totals["uncapped"],
                               "totals_s": totals}, indent=2))
    return 0 if all(r["exit_code"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
