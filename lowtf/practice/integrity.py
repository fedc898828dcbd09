"""The checker's own code, watched while the learner's code runs beside it.

The learner's module is imported into the checking process (the checks call its functions and read
its graph), so it can reach the checker: ``lowtf.practice.checking.expect = lambda *a: None``, a
check module's globals, ``numpy.allclose``, the collector that records a pass. ``Guard`` is a pytest
plugin that fingerprints all of these once the check modules are imported and before any learner
code runs (every function and class attribute, and each function's code object, by identity), then
compares after every check and at the end. Any change makes the whole run fail, naming what changed.

It raises the bar; it is not a wall. Code that runs inside a process can, with enough effort, change
anything in it (this guard included); what it cannot do is pass the parent's signature check
without the key (``checker_process``), or escape the process's PID namespace.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable

# Modules the checks lean on besides their own and lowtf.practice's
WATCHED = ("numpy", "builtins", "json", "hmac", "lowtf.child", "lowtf.serve.process")


def _fingerprint_of(namespace: dict, prefix: str) -> dict[str, tuple[int, int]]:
    marks = {}
    for name, value in list(namespace.items()):
        if name.startswith("__"):
            continue
        marks[f"{prefix}.{name}"] = (id(value), id(getattr(value, "__code__", None)))
        if isinstance(value, type) and value.__module__ == namespace.get("__name__"):
            for attr, member in list(vars(value).items()):
                if not attr.startswith("__") or attr in ("__init__", "__call__", "__eq__"):
                    inner = getattr(member, "__func__", member)
                    marks[f"{prefix}.{name}.{attr}"] = (id(member), id(getattr(inner, "__code__", None)))
    return marks


def fingerprint(modules: Iterable[str]) -> dict[str, tuple[int, int]]:
    """{dotted name: (identity of the object, identity of its code)} for the modules' attributes."""
    marks = {}
    for name in modules:
        module = sys.modules.get(name)
        if module is not None:
            marks.update(_fingerprint_of(vars(module), name))
    return marks


def changed(before: dict, after: dict) -> list[str]:
    """The names whose object or code differs (or that are gone) in ``after``."""
    return sorted(name for name, mark in before.items() if after.get(name) != mark)


class Guard:
    """A pytest plugin: fingerprint the checker after collection, compare after each check."""

    def __init__(self, checks_dir: Path):
        self.checks_dir = Path(checks_dir).resolve()
        self.before: dict = {}
        self.watched: list[str] = []
        self.tampered: list[str] = []

    def modules(self) -> list[str]:
        ours = [name for name, module in list(sys.modules.items())
                if name.startswith("lowtf.practice") or self._is_a_check(module)]
        return ours + [name for name in WATCHED if name in sys.modules]

    def _is_a_check(self, module) -> bool:
        file = getattr(module, "__file__", None)
        try:
            return bool(file) and Path(file).resolve().parent == self.checks_dir
        except (OSError, ValueError):
            return False

    def pytest_collection_finish(self, session) -> None:
        self.watched = self.modules()
        self.before = fingerprint(self.watched)

    def verify(self) -> list[str]:
        """What changed since collection (kept: a change undone later still counts)."""
        if self.before:
            self.tampered = sorted(set(self.tampered) | set(changed(self.before, fingerprint(self.watched))))
        return self.tampered

    def pytest_runtest_teardown(self, item) -> None:
        self.verify()


TAMPERED = ("your file changed the checker's own code ({names}), so no result of this run counts: "
            "solve the exercise in your functions, and leave lowtf's and the checks' code as it is")
