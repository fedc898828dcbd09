"""``lowtf check``'s checking process, and how its results come back where the learner's code cannot
forge them.

The checks import and call the learner's file, so they run in a child process (a file that loops
forever or ends the process cannot hang ``lowtf check`` or pass by saying nothing). That child:

- runs in a PID namespace of its own (``sandbox.contained``) and dies with ``lowtf check``: when it
  ends, or is stopped at the time limit, so does everything it started (the checker's ``lowtf
  serve``, the learner's own processes, however they detached);
- reads a fresh secret key from its standard input before any learner code is imported, and
  writes its results, signed with it (HMAC-SHA256), to a pipe of their own. Its standard output is
  only shown, never parsed: a file that prints a pass, or writes one to every open descriptor, has
  no key to sign it, and the parent refuses unsigned results;
- watches the checker's code (``integrity.Guard``): a file that replaces a check or ``expect``
  fails the whole run.

Its output is kept bounded: the last ``TAIL_BYTES`` bytes, with the count of what was cut.
"""
from __future__ import annotations

import hmac
import json
import os
import secrets
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path

TAIL_BYTES = 64 * 1024           # of the checking process's output, kept to show
RESULTS_LIMIT = 4 * 1024 * 1024  # the results pipe: a few kB in practice


class Tail:
    """Reads a stream to its end in a thread, keeping only its last ``limit`` bytes."""

    def __init__(self, stream, limit: int = TAIL_BYTES):
        self.stream, self.limit = stream, limit
        self.kept, self.total = b"", 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while True:
            chunk = self.stream.read1(65536) if hasattr(self.stream, "read1") else self.stream.read(65536)
            if not chunk:
                return
            self.total += len(chunk)
            self.kept = (self.kept + chunk)[-self.limit:]

    def text(self) -> str:
        self.thread.join(timeout=5)
        said = self.kept.decode(errors="replace")
        cut = self.total - len(self.kept)
        return (f"[{cut:,} bytes of earlier output cut; the last {len(self.kept):,} kept]\n" if cut else "") + said


def _read_all(fd: int, into: list) -> None:
    with os.fdopen(fd, "rb") as f:
        data = f.read(RESULTS_LIMIT + 1)
    into.append(data)


def run(number: str, file: Path, flags: list[str], limit: float) -> tuple[list[dict] | None, str, str]:
    """Run the checks of exercise ``number`` on ``file`` in a contained child; return (the results, or
    None, why none came back, the child's last output)."""
    from lowtf.child import dying_with_this_process
    from lowtf.distributed.sandbox import contained

    key = secrets.token_bytes(32)
    read_end, write_end = os.pipe()
    command = contained([sys.executable, "-m", "lowtf.practice.checker_process", number, str(file),
                         str(write_end), *flags])
    process = subprocess.Popen(dying_with_this_process(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, pass_fds=(write_end,))
    os.close(write_end)
    received: list[bytes] = []
    reader = threading.Thread(target=_read_all, args=(read_end, received), daemon=True)
    reader.start()
    output = Tail(process.stdout)
    try:
        process.stdin.write(key.hex().encode() + b"\n")
        process.stdin.close()
    except BrokenPipeError:
        pass
    timed_out = False
    try:
        code = process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        timed_out = True
        process.terminate()            # the namespace's pid 1 passes it on; its end kills the rest
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
    finally:
        if process.poll() is None:     # interrupted: leave nothing running
            process.kill()
            process.wait()
    reader.join(timeout=10)
    said = output.text()
    if timed_out:
        return None, f"the checks did not finish within {limit:.0f} s: does your file loop forever (at import, " \
                     "or in a loop that never ends)?", said
    data = received[0] if received else b""
    if not data:
        last = said.strip().splitlines()[-1:] or ["nothing"]
        return None, (f"the checking process ended (status {code}) before any check reported: does your file "
                      f"call os._exit() or sys.exit()? It printed: {last[0][:200]}"), said
    mac, _, payload = data.partition(b" ")
    expected = hmac.new(key, payload, "sha256").hexdigest().encode()
    if len(data) > RESULTS_LIMIT or not hmac.compare_digest(mac, expected):
        return None, ("the results that came back were not the checker's (they carry no valid signature): "
                      "something in the checking process, your file most likely, wrote them; nothing passes"), said
    return json.loads(payload)["results"], "", said


def main(argv: list[str]) -> int:
    """``python -m lowtf.practice.checker_process NN FILE RESULTS_FD [--quick] [--hint]`` (key on stdin)."""
    key = bytes.fromhex(os.read(0, 65).decode().strip())   # before any learner code is imported
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    signer = hmac.new(key, digestmod="sha256")
    del key
    number, file, results_fd = argv[0], Path(argv[1]), int(argv[2])
    os.set_inheritable(results_fd, False)    # nothing the learner's file starts gets it

    from lowtf import console

    console.load_tensorflow(keras_eagerly=False)   # a Keras exercise's own import loads Keras
    from lowtf.practice.exercises import find_exercises, run_checks

    found = run_checks(find_exercises()[number], file, include_slow="--quick" not in argv[3:],
                       show_hints="--hint" in argv[3:])
    payload = json.dumps({"results": [asdict(r) for r in found]}).encode()
    signer.update(payload)
    with os.fdopen(results_fd, "wb") as out:
        out.write(signer.hexdigest().encode() + b" " + payload)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
