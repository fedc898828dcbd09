"""TF Serving's server limits, with its defaults: how many requests each front end handles at once,
and the gRPC channel arguments (the maximum message size among them).

- ``--rest_api_num_threads`` (default 4 x the CPUs this process may use, as TF Serving): REST
  requests being handled at once. A request takes a slot once it has arrived whole (a client
  sending its body slowly holds none); the rest wait, up to ``--rest_api_timeout_in_ms``
  (then 504, as any request past it), as TF Serving's HTTP server queues them.
- ``--grpc_max_threads`` (default 4 x CPUs, as TF Serving): the gRPC server's worker threads;
  more calls at once wait in line for one.
- ``--grpc_channel_arguments`` (TF Serving's flag): ``key=value,key=value`` passed to the gRPC
  server, e.g. ``grpc.max_receive_message_length=134217728``. A request larger than the
  maximum gets gRPC's own RESOURCE_EXHAUSTED ("Received message larger than max (N vs. M)").
  TF Serving's maximum is 2 GiB - 1; lowtf serve's default is ``DEFAULT_GRPC_MAX_RECEIVE`` (64 MiB),
  since a request is held whole in memory while it runs (the memory budget, core.admission).
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Optional

from lowtf.errors import CourseError
from lowtf.serve.errors import DeadlineExceeded, Unavailable

DEFAULT_GRPC_MAX_RECEIVE = 64 * 1024 * 1024
NO_DEADLINE_WAIT_S = 60.0       # how long a REST request waits for a slot when there is no timeout


def default_threads() -> int:
    """TF Serving's default for both thread flags: 4 x the CPUs this process may run on."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:          # not Linux
        cpus = os.cpu_count() or 1
    return 4 * cpus


class ChannelArgumentsError(CourseError, ValueError):
    """--grpc_channel_arguments cannot be read; the message shows the form expected."""


def grpc_channel_arguments(text: str) -> list[tuple[str, object]]:
    """``"a=1,b=x"`` -> ``[("a", 1), ("b", "x")]``: values that read as integers are passed as integers,
    the others as strings, as TF Serving does."""
    arguments = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ChannelArgumentsError(f"--grpc_channel_arguments: {item!r} is not key=value; e.g. "
                                        "grpc.max_receive_message_length=134217728")
        value = value.strip()
        try:
            arguments.append((key.strip(), int(value)))
        except ValueError:
            arguments.append((key.strip(), value))
    return arguments


def grpc_server_options(channel_arguments: str = "") -> list[tuple[str, object]]:
    """The options lowtf serve's gRPC server is built with: its defaults, then the operator's."""
    options = {"grpc.max_receive_message_length": DEFAULT_GRPC_MAX_RECEIVE, "grpc.so_reuseport": 0}
    options.update(grpc_channel_arguments(channel_arguments))
    return list(options.items())


class RequestSlots:
    """At most ``n`` requests handled at once (``--rest_api_num_threads``)."""

    def __init__(self, n: int):
        self.n = n
        self._slots = threading.BoundedSemaphore(n)

    def take(self, timeout_ms: Optional[int]) -> None:
        """Wait for a slot, up to ``timeout_ms`` (None: ``NO_DEADLINE_WAIT_S``)."""
        wait = NO_DEADLINE_WAIT_S if timeout_ms is None else max(0, timeout_ms) / 1000
        if not self._slots.acquire(timeout=wait):
            if timeout_ms is None:
                raise Unavailable(f"the server is busy: {self.n} requests in progress (--rest_api_num_threads) "
                                  f"for {NO_DEADLINE_WAIT_S:.0f} s; try again")
            raise DeadlineExceeded("deadline exceeded while waiting for a request thread")

    def release(self) -> None:
        self._slots.release()


@dataclass(frozen=True)
class FrontOptions:
    """What the front ends are started with (the flags above, and --monitoring_config_file's path)."""

    rest_threads: Optional[int] = None          # --rest_api_num_threads (None: default_threads())
    grpc_threads: Optional[int] = None          # --grpc_max_threads (None: default_threads())
    grpc_channel_arguments: str = ""            # --grpc_channel_arguments
    metrics_path: Optional[str] = None          # Prometheus page on the REST port (None: off)
    grpc_server: str = "threads"                # "threads": grpcio's thread-pool server; "aio": grpc.aio
