"""Server-side batching (TF Serving's ``--enable_batching``): concurrent requests share one Session.run.

A single image through LeNet-5 costs about as much as a few images at once: the kernels
are the same and most of the time is per run, not per image. With batching on, each
request thread puts its inputs on a queue and waits; one batching thread per model version
takes what is queued (up to ``max_batch_size`` examples, waiting at most ``timeout_s`` for
more), concatenates each input along axis 0, runs the model once, and hands every request
its own rows of each output. A request whose inputs cannot join others (no batch axis,
different trailing shapes, a different signature) runs on its own in the next round.
While the model runs (TensorFlow releases the GIL), the request threads decode the next
requests' JSON.
"""
from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

RunFn = Callable[[str, dict, Optional[int]], dict]


@dataclass
class _Request:
    signature: str
    feeds: dict
    timeout_ms: Optional[int]
    size: int
    done: Future = field(default_factory=Future)


def _size(feeds: dict) -> Optional[int]:
    """The shared batch size of all inputs, or None when they cannot be stacked with others."""
    sizes = {v.shape[0] if v.ndim else None for v in feeds.values()}
    return sizes.pop() if len(sizes) == 1 and None not in sizes else None


def _joinable(a: _Request, b: _Request) -> bool:
    return (a.signature == b.signature and a.feeds.keys() == b.feeds.keys()
            and all(a.feeds[k].shape[1:] == b.feeds[k].shape[1:] and a.feeds[k].dtype == b.feeds[k].dtype
                    for k in a.feeds))


class Batcher:
    """Runs ``run(signature, feeds, timeout_ms)`` for many threads, merging concurrent calls."""

    def __init__(self, run: RunFn, max_batch_size: int = 32, timeout_s: float = 0.0, threads: int = 2):
        self._run = run
        self.max_batch_size = max_batch_size
        self.timeout_s = timeout_s
        self._queue: "queue.Queue[Optional[_Request]]" = queue.Queue()
        self.batches = 0                              # merged runs done, and the examples in them
        self.examples = 0
        self._count = threading.Lock()
        # Several batching threads, as TF Serving's num_batch_threads: one small run does not fill the cores.
        self._threads = [threading.Thread(target=self._loop, daemon=True, name=f"lowtf-batcher-{i}")
                         for i in range(threads)]
        for thread in self._threads:
            thread.start()

    def run(self, signature: str, feeds: dict, timeout_ms: Optional[int] = None) -> dict:
        """What ``run`` would return for these feeds alone; raises what it would raise."""
        size = _size(feeds)
        if size is None or size > self.max_batch_size:
            return self._run(signature, feeds, timeout_ms)
        request = _Request(signature, feeds, timeout_ms, size)
        self._queue.put(request)
        return request.done.result()

    def close(self) -> None:
        """Stop the batching threads (the model is leaving service: no request is in flight)."""
        for _ in self._threads:
            self._queue.put(None)

    def _loop(self) -> None:
        held: Optional[_Request] = None     # taken from the queue but not joinable with the last batch
        while True:
            first, held = (held, None) if held is not None else (self._queue.get(), None)
            if first is None:
                return
            batch, total, stopping = [first], first.size, False
            while total < self.max_batch_size:
                try:
                    more = self._queue.get(block=self.timeout_s > 0, timeout=self.timeout_s or None)
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                if not _joinable(first, more) or total + more.size > self.max_batch_size:
                    held = more             # first in line for this thread's next round
                    break
                batch.append(more)
                total += more.size
            self._serve(batch)
            if stopping:                    # closed: no request comes after the last one in flight
                if held is not None:
                    self._serve([held])
                return

    def _serve(self, batch: list[_Request]) -> None:
        first = batch[0]
        timeouts = [r.timeout_ms for r in batch if r.timeout_ms is not None]
        try:
            feeds = ({k: np.concatenate([r.feeds[k] for r in batch]) for k in first.feeds}
                     if len(batch) > 1 else first.feeds)
            outputs = self._run(first.signature, feeds, min(timeouts) if timeouts else None)
            total = sum(r.size for r in batch)
            if len(batch) > 1 and any(v.ndim == 0 or v.shape[0] != total for v in outputs.values()):
                raise _NotRowwise
        except BaseException as error:      # the batch failed, or its outputs have no row per example:
            if len(batch) == 1:             # run each alone, so each gets its own answer or error
                first.done.set_exception(error)
                return
            for request in batch:
                self._settle(request, lambda r=request: self._run(r.signature, r.feeds, r.timeout_ms))
            return
        with self._count:
            self.batches += 1
            self.examples += total
        start = 0
        for request in batch:
            request.done.set_result({k: v[start:start + request.size] for k, v in outputs.items()})
            start += request.size

    @staticmethod
    def _settle(request: _Request, run: Callable[[], dict]) -> None:
        try:
            request.done.set_result(run())
        except BaseException as error:
            request.done.set_exception(error)


class _NotRowwise(Exception):
    """A signature's outputs do not have one row per example: it cannot be batched."""
