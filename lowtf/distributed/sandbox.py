"""Keep a local cluster on this machine: its tasks share a network namespace that holds only loopback.

``tf.train.Server`` listens on every network interface: TensorFlow's gRPC server binds
``0.0.0.0:PORT`` whatever host the cluster names, and there is no option to change it
(``GrpcServer::Init`` in ``grpc_server_lib.cc``). Its services run any op, file reads and
writes included, for whoever connects. So ``lowtf cluster local`` starts a holder process in
a new Linux network namespace (inside a new user namespace when not root, so no privilege is
needed), brings its loopback interface up, and starts every task inside that namespace: the
tasks reach each other on 127.0.0.1, and nothing outside the namespace reaches them.

Also here: the holder is a PID namespace's first process (its pid 1, "init") too, and every task
runs in that namespace. When pid 1 of a PID namespace ends, the kernel kills every process left in
it, so a task and whatever it started die with the cluster however they were wrapped (``timeout``
and ``setsid`` leave the task's process group, which a group kill alone misses) and however the
launcher ended (SIGKILL included: the holder has a parent-death signal). ``contain`` gives one
command (``lowtf check``'s checking process) a PID namespace of its own the same way.

A lesson that starts servers in its own process (lesson 14) is run the same way, whole:
``reexec_in_private_network`` replaces the process by the same command inside a new namespace,
and ``require_private_network`` refuses to go on where a server would be reachable from outside.

Run as a program it has three modes::

    python -m lowtf.distributed.sandbox hold            # make the namespace, print "ready", wait
    python -m lowtf.distributed.sandbox enter PID -- CMD  # join PID's namespace, then exec CMD
    python -m lowtf.distributed.sandbox run -- CMD        # make a namespace of its own, then exec CMD
    python -m lowtf.distributed.sandbox contain -- CMD    # run CMD in a PID namespace of its own
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
from pathlib import Path
from typing import Sequence

from lowtf.errors import CourseError

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000
PR_SET_PDEATHSIG = 1
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


# Set by a user who accepts that TensorFlow servers started here are reachable from the network
# (the --expose-tf-server flags); require_private_network then warns instead of refusing.
EXPOSE_ENV = "LOWTF_EXPOSE_TF_SERVER"
RISK = ("a TensorFlow server (tf.train.Server) listens on every network interface and runs any op, file reads "
        "and writes included, for whoever connects")


class IsolationUnavailable(RuntimeError):
    """This system cannot give the cluster a private network namespace."""


class ExposedServerError(CourseError, RuntimeError):
    """A TensorFlow server was about to start where other machines could reach it."""


def private_network() -> bool:
    """Whether this process's network namespace has no interface but loopback: nothing outside reaches it."""
    return {name for _, name in socket.if_nameindex()} <= {"lo"}


def require_private_network() -> None:
    """Raise ExposedServerError unless this process is in a loopback-only network namespace
    (or the user accepted the risk with an --expose-tf-server flag)."""
    if private_network():
        return
    if os.environ.get(EXPOSE_ENV) == "1":
        print(f"warning: {RISK}; you asked for it (--expose-tf-server), so the servers are reachable from your "
              "network while this runs", file=sys.stderr, flush=True)
        return
    interfaces = ", ".join(name for _, name in socket.if_nameindex())
    raise ExposedServerError(f"{RISK}, and this process can be reached on {interfaces}: start it with "
                             "`lowtf lesson NN`, which runs it in a private network namespace")


def listening_ports(pid: int | str = "self") -> set[int]:
    """TCP ports in LISTEN state in the network namespace of process ``pid`` (from /proc/PID/net/tcp*)."""
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":   # TCP_LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


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


def _new_namespace(kinds: int = CLONE_NEWNET, as_root: bool = True) -> str:
    """Move this (still single-threaded) process into new namespaces of ``kinds`` (a network one gets
    its loopback up; a PID one is for the children forked next), inside a new user namespace when not
    root, where this user is root (``as_root``) or itself. Return why not, or "" on success."""
    libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    flags = kinds if os.geteuid() == 0 else kinds | CLONE_NEWUSER
    if libc.unshare(flags) != 0:
        return f"unshare: {os.strerror(ctypes.get_errno())}"
    try:
        if flags & CLONE_NEWUSER:
            with open("/proc/self/setgroups", "w") as f:
                f.write("deny")
            with open("/proc/self/uid_map", "w") as f:
                f.write(f"{0 if as_root else uid} {uid} 1")
            with open("/proc/self/gid_map", "w") as f:
                f.write(f"{0 if as_root else gid} {gid} 1")
        if flags & CLONE_NEWNET:
            _loopback_up()
    except OSError as e:
        return f"setting up the namespace: {e}"
    return ""


def _be_init(command: Sequence[str] | None = None) -> None:
    """The body of a PID namespace's pid 1 (never returns). It dies with its parent (the holder), reaps
    the orphans the namespace hands it, and ends on SIGTERM / SIGINT / SIGHUP; with ``command``, it runs
    it, passes those signals on to it, and exits with its status. Its end kills the whole namespace."""
    die_with_parent()
    child = 0
    if command:
        child = os.fork()
        if child == 0:
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(signum, signal.SIG_DFL)
            try:
                os.execvp(command[0], list(command))
            except OSError as e:
                print(f"error: cannot run {command[0]!r}: {e.strerror}", file=sys.stderr, flush=True)
                os._exit(127)

    def on_signal(signum, frame):
        if child:
            os.kill(child, signum)
        else:
            os._exit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:      # nothing to reap yet: wait for a signal (an orphan's SIGCHLD too)
            signal.pause()
            continue
        except InterruptedError:
            continue
        if child and pid == child:
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)


def _fork_init(command: Sequence[str] | None = None) -> int:
    """Fork the new PID namespace's pid 1 (``_be_init``); return its pid as this process sees it."""
    init = os.fork()
    if init == 0:
        try:
            _be_init(command)
        finally:
            os._exit(1)
    return init


def _hold() -> int:
    """Make the namespace, report, and wait until the launcher closes our stdin (or dies)."""
    die_with_parent()
    why_not = _new_namespace(CLONE_NEWNET | CLONE_NEWPID)
    if why_not:
        print(f"error: {why_not}", flush=True)
        return 1
    init = _fork_init()    # the tasks join its PID namespace; when it ends, so does every task
    print("ready", flush=True)
    sys.stdin.read()   # returns when the launcher closes the pipe or dies
    os.kill(init, signal.SIGKILL)
    os.waitpid(init, 0)
    return 0


def _contain(command: Sequence[str]) -> int:
    """Run ``command`` in a new PID namespace, under a pid 1 of ours; return its exit status. Whatever it
    starts ends with it, or with this process (SIGKILL included: parent-death signals). Where no PID
    namespace can be made, run it as a plain child, dying with this process."""
    die_with_parent()
    if _new_namespace(CLONE_NEWPID, as_root=False):
        init = os.fork()
        if init == 0:
            die_with_parent()
            try:
                os.execvp(command[0], list(command))
            except OSError as e:
                print(f"error: cannot run {command[0]!r}: {e.strerror}", file=sys.stderr, flush=True)
            os._exit(127)
    else:
        init = _fork_init(command)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda signum, frame: os.kill(init, signum))
    while True:
        try:
            _, status = os.waitpid(init, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def pid_namespaces_available() -> bool:
    """Whether this system lets lowtf give a command a PID namespace of its own (``contain``)."""
    probe = subprocess.run(contained([sys.executable, "-c", "import os; print(os.getpid(), os.getppid())"]),
                           capture_output=True, text=True, timeout=30)
    return probe.stdout.split() == ["2", "1"]     # the command is pid 2, under our pid 1


def contained(command: Sequence[str]) -> list[str]:
    """``command`` run in a PID namespace of its own (``contain``): nothing it starts outlives it."""
    return [sys.executable, "-m", "lowtf.distributed.sandbox", "contain", "--", *command]


def _run(command: Sequence[str]) -> int:
    """Become ``command`` inside a new private network namespace; refuse (exit 2) if none can be made."""
    why_not = _new_namespace()
    if why_not:
        print(f"error: {RISK}, so lowtf runs this in a private network namespace, and this system cannot "
              f"make one ({why_not}). To run it anyway, reachable from your network while it runs, add "
              "--expose-tf-server", file=sys.stderr, flush=True)
        return 2
    try:
        os.execvp(command[0], list(command))
    except OSError as e:
        print(f"error: cannot run {command[0]!r}: {e.strerror}", file=sys.stderr, flush=True)
        return 127


def reexec_in_private_network() -> None:
    """Replace this process by the command that started it, run inside a new private network namespace.

    Same PID, terminal and arguments; TensorFlow's threads make ``unshare`` unsafe in place, so the
    namespace is made by a fresh interpreter that then execs the original command. Never returns."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "lowtf.distributed.sandbox", "run", "--",
                              sys.executable, *sys.orig_argv[1:]])


def _enter(pid: int, command: Sequence[str]) -> int:
    """Join ``pid``'s user (if different) and network namespaces (pid 0: stay), then run ``command``
    as a child and watch over it: when this process's parent (the launcher) dies, however it dies,
    every process of the task's process group is killed, the command's own children included (a
    wrapper script's python, which a parent-death signal on the command alone would not reach)."""
    libc = _libc()
    kinds = ["net", "pid_for_children"] if pid else []
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
    child = os.fork()
    if child == 0:
        die_with_parent()
        try:
            os.execvp(command[0], list(command))
        except OSError as e:
            print(f"error: cannot run {command[0]!r}: {e.strerror}; check the command after --", file=sys.stderr,
                  flush=True)
            os._exit(127)
    return _watch_over(child)


def _kill_group(signum=None, frame=None) -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _watch_over(child: int) -> int:
    """Wait for ``child``; kill the whole process group if our parent dies first. Return its exit status."""
    signal.signal(signal.SIGUSR1, _kill_group)
    if sys.platform.startswith("linux"):
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGUSR1, 0, 0, 0)
    if os.getppid() == 1:        # the launcher died before the request above took effect
        _kill_group()
    def pass_on(signum, frame):
        # The launcher signals the whole group, so the task got it too, unless a wrapper (timeout,
        # setsid) moved it to a group of its own: then it is passed on. Either way, wait for the task.
        try:
            if os.getpgid(child) != os.getpgrp():
                os.kill(child, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, pass_on)
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


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


def enter_private_network(expose: bool) -> None:
    """For a program that starts TensorFlow servers in its own process: re-run it inside a private
    network namespace (unless it is in one already), or, with ``expose``, let its servers be reachable."""
    if expose:
        os.environ[EXPOSE_ENV] = "1"
    elif not private_network():
        reexec_in_private_network()


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["hold"]:
        return _hold()
    if argv[:1] == ["enter"] and len(argv) >= 4 and argv[2] == "--":
        return _enter(int(argv[1]), argv[3:])
    if argv[:2] == ["run", "--"] and len(argv) >= 3:
        return _run(argv[2:])
    if argv[:2] == ["contain", "--"] and len(argv) >= 3:
        return _contain(argv[2:])
    print("usage: python -m lowtf.distributed.sandbox hold | enter PID -- COMMAND ... | run -- COMMAND ... | "
          "contain -- COMMAND ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
