"""Things the trainer calls every N steps: snapshots for pictures (lesson 12), custom logging."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass
class Hook:
    """Call ``fn(sess, step, params)`` every ``every`` steps (and once before the first step)."""

    every: int
    fn: Callable

    def __call__(self, sess, step: int, params: dict) -> None:
        self.fn(sess, step, params)
