"""Keep a local cluster on this machine: its tasks share a network namespace that holds only loopback.

``tf.train.Server`` listens on every network interface: TensorFlow's gRPC server binds
``0.0.0.0:PORT`` whatever host the cluster names, and there is no option to change it
(``GrpcServer::Init`` in ``grpc_server_lib.cc``). Its services run any op, file reads and
writes included, for whoever connects. So ``lowtf cluster local`` starts a holder process in
a new Linux network namespace (inside a new user namespace when not root, so no privilege is
needed), brings its loopback interface up, and starts every task inside that namespace: the
tasks reach each other on 127.0.0.1, and nothing outside the namespace reaches them.

Also here: every task gets a parent-death signal, so it dies with the launcher however the
launcher dies (SIGKILL included) instead of serving on forever.

Run as a program it has two modes, used by the launcher::

    python -m lowtf.distributed.sandbox hold            # make the namespace, print "ready", wait
    python -m lowtf.distributed.sandbox enter PID -- CMD  # join PID's namespace, then exec CMD
"""
from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import socket
import struct
import subprocess
import sys
from typing import Sequence

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


class IsolationUnavailable(RuntimeError):
    """This system cannot give the cluster a private network namespace."""


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent exits (kept across exec)."""
    if sys.platform.startswith("linux"):
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _loopback_up() -> None:
    with socket.socket() as s:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(s, SIOCGIFFLAGS, request)[:18])[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))


def _hold() -> int:
    """Make the namespace, report, and wait until the launcher closes our stdin (or dies)."""
    die_with_parent()
    libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNET if os.geteuid() == 0 else CLONE_NEWNET | CLONE_NEWUSER
    if libc.unshare(flags) != 0:
        print(f"error: unshare: {os.strerror(ctypes.get_errno())}", flush=True)
        return 1
    try:
        if flags & CLONE_NEWUSER:
            with open("/proc/self/setgroups", "w") as f:
                f.write("deny")
            with open("/proc/self/uid_map", "w") as f:
                f.write(f"0 {uid} 1")
            with open("/proc/self/gid_map", "w") as f:
                f.write(f"0 {gid} 1")
        _loopback_up()
    except OSError as e:
        print(f"error: setting up the namespace: {e}", flush=True)
        return 1
    print("ready", flush=True)
    sys.stdin.read()   # returns when the launcher closes the pipe or dies
    return 0


def _enter(pid: int, command: Sequence[str]) -> int:
    """Join ``pid``'s user (if different) and network namespaces (pid 0: stay), then become ``command``."""
    die_with_parent()
    libc = _libc()
    kinds = ["net"] if pid else []
    if pid and os.stat(f"/proc/{pid}/ns/user").st_ino != os.stat("/proc/self/ns/user").st_ino:
        kinds.insert(0, "user")
    for kind in kinds:
        fd = os.open(f"/proc/{pid}/ns/{kind}", os.O_RDONLY)
        try:
            if libc.setns(fd, 0) != 0:
                print(f"error: joining the cluster's {kind} namespace: {os.strerror(ctypes.get_errno())}",
                      file=sys.stderr, flush=True)
                return 1
        finally:
            os.close(fd)
    try:
        os.execvp(command[0], list(command))
    except OSError as e:
        print(f"error: cannot run {command[0]!r}: {e.strerror}; check the command after --", file=sys.stderr,
              flush=True)
        return 127


def start_holder(timeout: float = 10.0) -> subprocess.Popen:
    """Start the namespace holder; raise IsolationUnavailable (with the reason) if it cannot be made."""
    if not sys.platform.startswith("linux"):
        raise IsolationUnavailable(f"network namespaces are a Linux feature, and this is {sys.platform}")
    holder = subprocess.Popen([sys.executable, "-m", "lowtf.distributed.sandbox", "hold"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    line = holder.stdout.readline().strip()   # "ready" or "error: ..." (the holder prints at once)
    if line != "ready":
        holder.kill()
        holder.wait(timeout=timeout)
        raise IsolationUnavailable(line.removeprefix("error: ") or "the namespace holder exited")
    return holder


def wrap(command: Sequence[str], holder_pid: int) -> list[str]:
    """``command`` run inside the holder's namespaces (0: in this one), dying with its parent."""
    return [sys.executable, "-m", "lowtf.distributed.sandbox", "enter", str(holder_pid), "--", *command]


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["hold"]:
        return _hold()
    if argv[:1] == ["enter"] and len(argv) >= 4 and argv[2] == "--":
        return _enter(int(argv[1]), argv[3:])
    print("usage: python -m lowtf.distributed.sandbox hold | enter PID -- COMMAND ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
