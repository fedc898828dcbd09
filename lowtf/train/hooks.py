"""Things the trainer calls every N steps: snapshots for pictures, custom logging."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass
class Hook:
    """Call ``fn(sess, step, params)`` every ``every`` steps (and once before the first step)."""

    every: int
    fn: Callable

    def __call__(self, sess, step: int, params: dict) -> None:
        self.fn(sess, step, params)


@dataclass
class FilterRecorder:
    """Record a conv layer's weights ``[k, k, in, out]`` every ``every`` steps, for GIFs."""

    variable: str            # scoped name, e.g. "lenet5/conv1/weights"
    every: int
    steps: list = field(default_factory=list)
    frames: list = field(default_factory=list)   # float32 arrays [k, k, in, out]

    def __call__(self, sess, step: int, params: dict) -> None:
        if self.steps and self.steps[-1] == step:
            return
        self.steps.append(step)
        self.frames.append(np.array(sess.run(params[self.variable])))
