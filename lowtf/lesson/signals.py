"""Stopping a lesson: Ctrl-C, SIGTERM and SIGHUP end it the same way, every cleanup run; keys typed
while a step computed are not taken as answers."""
from __future__ import annotations

import signal
import sys

INTERRUPTED_EXIT = 130   # what a shell reports for a program stopped by Ctrl-C


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: stop like Ctrl-C, running every cleanup on the way out."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def stop_on_termination() -> None:
    """Make SIGTERM and SIGHUP (a closed terminal) raise Terminated, so cleanups run as on Ctrl-C."""
    def terminate(signum, frame):
        raise Terminated(signum)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, terminate)


def discard_typed_ahead() -> None:
    """Drop what was typed at the terminal while a step computed (nothing, when stdin is not a terminal)."""
    try:
        import termios

        if sys.stdin.isatty():
            termios.tcflush(sys.stdin, termios.TCIFLUSH)
    except (ImportError, OSError, ValueError):
        pass

