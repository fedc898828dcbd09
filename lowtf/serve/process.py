"""Start ``lowtf serve`` as a child process and wait until it answers (lessons 21 and 26, exercise 12's
check, the tests).

The server is started with the same Python as the caller, bound to 127.0.0.1, through ``lowtf.child``
(output to a file, a deadline on readiness); ``ServerProcess.stop`` (also on ``with`` exit) terminates
it and waits, killing it if it does not stop in time.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import requests

from lowtf.child import Child, ChildFailed, start


class ServerDidNotStart(ChildFailed):
    """The server exited or did not answer in time; the message ends with its error output."""


@dataclass
class ServerProcess:
    child: Child
    rest_port: int
    flags: tuple = ()     # what it was started with, for the error if it never answers

    @property
    def process(self):
        return self.child.process

    def url(self, model: str) -> str:
        return f"http://127.0.0.1:{self.rest_port}/v1/models/{model}"

    def stop(self, grace: float = 15.0) -> None:
        self.child.stop(grace)

    def wait_until_answers(self, model: str, timeout: float = 90.0) -> "ServerProcess":
        """Return once ``model`` answers; stop the server and raise ServerDidNotStart if it exits or
        time runs out (Ctrl-C or SIGTERM while waiting stops it too)."""

        def answers() -> bool:
            try:
                return requests.get(self.url(model), timeout=2).ok
            except requests.ConnectionError:
                return False

        try:
            self.child.wait_until(answers, timeout, f"lowtf serve {' '.join(self.flags)}")
        except ChildFailed as e:
            raise ServerDidNotStart(str(e)) from None
        return self

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def launch_server(flags: list[str], rest_port: int) -> ServerProcess:
    """``lowtf serve FLAGS`` started, not waited for: it loads TensorFlow (seconds) while the caller
    goes on; ``wait_until_answers`` before the first request, and ``stop`` it however the caller ends."""
    return ServerProcess(start([sys.executable, "-m", "lowtf", "serve", *flags]), rest_port, tuple(flags))


def start_server(flags: list[str], rest_port: int, ready_model: str, timeout: float = 90.0) -> ServerProcess:
    """``lowtf serve FLAGS`` (``--rest_api_port`` is among them); returns once ``ready_model`` answers."""
    return launch_server(flags, rest_port).wait_until_answers(ready_model, timeout)
