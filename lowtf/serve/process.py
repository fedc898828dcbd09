"""Start ``lowtf serve`` as a child process and wait until it answers (lessons 21 and 26, the tests).

The server is started with the same Python as the caller, bound to 127.0.0.1; ``ServerProcess.stop``
(also on ``with`` exit) terminates it and waits, killing it if it does not stop in time.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import requests


class ServerDidNotStart(RuntimeError):
    """The server exited or did not answer in time; the message ends with its error output."""


@dataclass
class ServerProcess:
    process: subprocess.Popen
    rest_port: int

    def url(self, model: str) -> str:
        return f"http://127.0.0.1:{self.rest_port}/v1/models/{model}"

    def stop(self, grace: float = 15.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=grace)

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_server(flags: list[str], rest_port: int, ready_model: str, timeout: float = 90.0) -> ServerProcess:
    """``lowtf serve FLAGS`` (``--rest_api_port`` is among them); returns once ``ready_model`` answers."""
    # Its log (a line per request) goes to a file, not a pipe: a pipe nobody reads fills up and stalls it.
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([sys.executable, "-m", "lowtf", "serve", *flags], stdout=subprocess.DEVNULL,
                               stderr=log)
    server = ServerProcess(process, rest_port)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(server.url(ready_model), timeout=2).ok:
                return server
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            log.seek(0)
            error = log.read().decode(errors="replace").strip()[-600:]
            raise ServerDidNotStart(f"lowtf serve {' '.join(flags)} did not answer within {timeout:.0f} s"
                                    + (f": {error}" if error else ""))
        time.sleep(0.3)
