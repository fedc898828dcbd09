"""What one request may take from the server, and how many run at once: the memory budget and
the cap on concurrent model runs that both front ends share (they hold one ``Admission``
through ``Models``).

A request reserves memory before it decodes (REST: the body's size times how much decoding
may take) and again before the model runs: its inputs, what the front end still holds of it
(a gRPC request's protobuf), and the run's peak per example (``core.memory``) times its
examples. A run larger than ``request_bytes`` or with more than ``max_examples`` examples is
refused at once with RESOURCE_EXHAUSTED, saying how many examples would fit; otherwise it
waits (up to its deadline) until the shared ``total_bytes`` has room and fewer than
``concurrent_runs`` runs are in progress. Measured on LeNet-5 before these limits: a 60 MB
gRPC request (19,000 images) took 3.5 GB and kept 3.4 GB after it; now it is refused. What
TensorFlow's allocator keeps after a run is its high-water mark, reused by the next run (measured:
a second and third run of the same size add nothing), so the budget bounds it too.
"""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Iterator, Optional

from lowtf.serve.errors import DeadlineExceeded, ResourceExhausted, Unavailable

MB = 1 << 20
# For a signature whose run the graph cannot size (an unknown dimension besides the batch):
# the run's peak as a multiple of its inputs' bytes.
UNSIZED_RUN_FACTOR = 16
WAIT_SECONDS = 60.0         # how long a request without a deadline waits for room


@dataclass(frozen=True)
class Limits:
    request_bytes: int = 512 * MB     # one request's model run: inputs, activations, outputs
    total_bytes: int = 1024 * MB      # every request at once, decoding and running
    max_examples: int = 100_000       # examples in one request, whatever their size
    concurrent_runs: int = 4          # Session.runs at once without batching (batching has its threads)


class MemoryBudget:
    """Bytes that requests may hold at once; a request larger than the whole budget takes all of
    it (alone)."""

    def __init__(self, total: int):
        self.total, self.free = total, total
        self._changed = threading.Condition()

    def acquire(self, amount: int, timeout: Optional[float]) -> bool:
        amount = min(amount, self.total)
        with self._changed:
            if not self._changed.wait_for(lambda: self.free >= amount, timeout):
                return False
            self.free -= amount
            return True

    def release(self, amount: int) -> None:
        with self._changed:
            self.free += min(amount, self.total)
            self._changed.notify_all()


class Admission:
    """The shared memory budget and run slots; ``admit`` is the one way into a model run."""

    def __init__(self, limits: Limits = Limits()):
        self.limits = limits
        self.memory = MemoryBudget(limits.total_bytes)
        self._runs = threading.BoundedSemaphore(limits.concurrent_runs)

    def check(self, examples: int, per_example: int, fixed: int) -> int:
        """The bytes a run of ``examples`` needs (``per_example`` each, plus ``fixed``), or
        ResourceExhausted naming the largest request that would fit."""
        need = fixed + examples * per_example
        fits = max(0, (self.limits.request_bytes - fixed) // max(1, per_example))
        if examples > self.limits.max_examples or need > self.limits.request_bytes:
            most = min(fits, self.limits.max_examples)
            raise ResourceExhausted(
                f"the request has {examples:,} examples and would need about {need / MB:,.0f} MB to run "
                f"({per_example / 1024:,.0f} KB an example); one request may have {self.limits.max_examples:,} "
                f"examples and {self.limits.request_bytes / MB:,.0f} MB: send at most {most:,} examples "
                "per request")
        return need

    @contextlib.contextmanager
    def reserve(self, amount: int, timeout_s: Optional[float]) -> Iterator[None]:
        """Hold ``amount`` bytes of the budget (waiting up to ``timeout_s``, None: WAIT_SECONDS)."""
        if not self.memory.acquire(amount, WAIT_SECONDS if timeout_s is None else timeout_s):
            raise _busy(timeout_s, "memory")
        try:
            yield
        finally:
            self.memory.release(amount)

    @contextlib.contextmanager
    def run_slot(self, timeout_s: Optional[float]) -> Iterator[None]:
        """One of ``concurrent_runs`` slots for a Session.run."""
        if not self._runs.acquire(timeout=WAIT_SECONDS if timeout_s is None else timeout_s):
            raise _busy(timeout_s, "run")
        try:
            yield
        finally:
            self._runs.release()


def _busy(timeout_s: Optional[float], what: str) -> Exception:
    if timeout_s is not None:
        return DeadlineExceeded(f"Deadline exceeded while waiting for {what} (the server is busy)")
    return Unavailable(f"the server is busy (no {what} free for {WAIT_SECONDS:.0f} s); try again")
