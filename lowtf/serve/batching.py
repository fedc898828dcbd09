"""Server-side batching (TF Serving's ``--enable_batching``): concurrent requests share one Session.run.

A single image through LeNet-5 costs about as much as a few images at once: the kernels
are the same and most of the time is per run, not per image. With batching on, each
request thread adds its inputs to the open batch and waits; a batching thread takes the
open batch when it is schedulable, concatenates each input along axis 0, runs the model
once, and hands every request its own rows of each output. As in TF Serving's
``SharedBatchScheduler``, a batch is schedulable once it holds ``max_batch_size`` examples
or ``timeout_s`` (``batch_timeout_micros``) has passed since its first request arrived;
``threads`` (``num_batch_threads``) batches run at once, and the requests that arrive
while every batching thread is busy join the open batch. A request whose inputs cannot
join the open batch (no batch axis, other trailing shapes or dtypes, another signature)
starts the next one. A request still queued past its deadline fails without running.

The handoff is cheap: a batching thread is woken once per batch (when the batch opens,
and when it fills), not once per request, and each request thread waits on a lock of its
own that the batching thread releases with the answer.
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Callable, Optional

import numpy as np

RunFn = Callable[[str, dict, Optional[int]], dict]


class _Request:
    __slots__ = ("signature", "feeds", "timeout_ms", "size", "arrived", "done", "result", "error")

    def __init__(self, signature: str, feeds: dict, timeout_ms: Optional[int], size: int):
        self.signature, self.feeds, self.timeout_ms, self.size = signature, feeds, timeout_ms, size
        self.arrived = time.monotonic()
        self.done = threading.Lock()
        self.done.acquire()                 # released by the batching thread once answered
        self.result: Optional[dict] = None
        self.error: Optional[BaseException] = None

    def answer(self, result: Optional[dict] = None, error: Optional[BaseException] = None) -> None:
        self.result, self.error = result, error
        self.done.release()

    def wait(self) -> dict:
        self.done.acquire()
        if self.error is not None:
            raise self.error
        return self.result


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

    def __init__(self, run: RunFn, max_batch_size: int = 32, timeout_s: float = 0.0, threads: int = 1):
        self._run = run
        self.max_batch_size = max_batch_size
        self.timeout_s = timeout_s
        self._queue: "collections.deque[_Request]" = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queued = 0            # examples in the queue
        self._forming = False       # a batching thread is waiting for the open batch to fill or time out
        self._closed = False
        self.batches = 0            # merged runs done, and the examples in them
        self.examples = 0
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
        with self._lock:
            if self._closed:
                closed = True
            else:
                closed = False
                self._queue.append(request)
                self._queued += size
                # one wake per batch: when it opens (a thread takes it, or starts its timer), and when it
                # fills (counted over the whole queue: a wake too early is checked and slept off), all
                # threads then, so that the one timing the batch is among those woken
                if len(self._queue) == 1:
                    self._wake.notify()
                elif self._queued - size < self.max_batch_size <= self._queued:
                    self._wake.notify_all()
        if closed:
            return self._run(signature, feeds, timeout_ms)
        return request.wait()

    def close(self) -> None:
        """Stop the batching threads once they have answered every queued request."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()

    def _open_size(self) -> int:
        """Examples in the open batch: the queued requests from the first that can join it."""
        first, total = self._queue[0], 0
        for request in self._queue:
            if not _joinable(first, request) or total + request.size > self.max_batch_size:
                break
            total += request.size
        return total

    def _take(self) -> list[_Request]:
        """The open batch, off the queue (called with the lock held and the queue not empty)."""
        first = self._queue.popleft()
        batch, total = [first], first.size
        while self._queue:
            more = self._queue[0]
            if not _joinable(first, more) or total + more.size > self.max_batch_size:
                break
            batch.append(self._queue.popleft())
            total += more.size
        self._queued -= total
        return batch

    def _next_batch(self) -> Optional[list[_Request]]:
        """Wait until the open batch is schedulable and take it; None once closed and drained."""
        with self._lock:
            while True:
                while (not self._queue or self._forming) and not self._closed:
                    self._wake.wait()
                if not self._queue:
                    return None                     # closed, nothing left
                if self.timeout_s > 0 and not self._closed:
                    self._forming = True            # the others wait for the batch after this one
                    deadline = self._queue[0].arrived + self.timeout_s
                    while (not self._closed and self._queue and self._open_size() < self.max_batch_size
                           and time.monotonic() < deadline):
                        self._wake.wait(deadline - time.monotonic())
                    self._forming = False
                    if not self._queue:
                        continue
                batch = self._take()
                if self._queue:                     # the next batch has opened: another thread may take it
                    self._wake.notify()
                return batch

    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._serve(batch)

    def _serve(self, batch: list[_Request]) -> None:
        now = time.monotonic()
        live, timeouts = [], []
        for request in batch:               # time spent queued counts against a request's deadline
            if request.timeout_ms is None:
                live.append(request)
                continue
            left = request.timeout_ms - int((now - request.arrived) * 1000)
            if left <= 0:
                request.answer(error=_deadline_exceeded())
            else:
                live.append(request)
                timeouts.append(left)
        if not live:
            return
        first, timeout = live[0], (min(timeouts) if timeouts else None)
        try:
            feeds = ({k: np.concatenate([r.feeds[k] for r in live]) for k in first.feeds}
                     if len(live) > 1 else first.feeds)
            outputs = self._run(first.signature, feeds, timeout)
            total = sum(r.size for r in live)
            if len(live) > 1 and any(v.ndim == 0 or v.shape[0] != total for v in outputs.values()):
                raise _NotRowwise
        except BaseException as error:      # the batch failed, or its outputs have no row per example:
            if len(live) == 1:              # run each alone, so each gets its own answer or error
                first.answer(error=error)
                return
            for request in live:
                try:
                    request.answer(self._run(request.signature, request.feeds, request.timeout_ms))
                except BaseException as alone:
                    request.answer(error=alone)
            return
        with self._lock:
            self.batches += 1
            self.examples += total
        if len(live) == 1:
            first.answer(outputs)
            return
        start = 0
        for request in live:
            request.answer({k: v[start:start + request.size] for k, v in outputs.items()})
            start += request.size


def _deadline_exceeded() -> BaseException:
    import tensorflow.compat.v1 as tf

    return tf.errors.DeadlineExceededError(None, None, "Deadline exceeded while waiting in the batching queue")


class _NotRowwise(Exception):
    """A signature's outputs do not have one row per example: it cannot be batched."""
