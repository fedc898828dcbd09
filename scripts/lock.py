"""Write constraints.txt: the exact version of every package ``lowtf[test]`` pulls in, as installed here.

    .venv/bin/python scripts/lock.py [constraints.txt]     (``make lock`` runs it)

Walks the requirements setup.cfg declares (with the ``test`` extra) through the installed
distributions (importlib.metadata), so a package a person installed by hand into the venv (a formatter, a
profiler plugin) does not enter the lock, and lowtf itself is left out. The lock is what the
suite passed with: run it after ``make test`` passed, never before (``make upgrade`` does both).
"""
from __future__ import annotations

import platform
import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement


# The installer's own packages, left out as pip freeze leaves them out: the venv's Python brings its own
# (setuptools 65 from Python 3.11 would break on 3.12), and constraints do not reach isolated builds.
TOOLING = {"pip", "setuptools", "wheel", "distribute"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(setup_cfg: Path = Path(__file__).resolve().parent.parent / "setup.cfg",
             extras: tuple = ("test",)) -> list:
    """lowtf's requirements as setup.cfg declares them now (an editable install's metadata can be older)."""
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(setup_cfg)
    lines = cfg["options"]["install_requires"].splitlines()
    for extra in extras:
        lines += cfg["options.extras_require"][extra].splitlines()
    return [Requirement(line.strip()) for line in lines if line.strip() and not line.strip().startswith("#")]


def closure(roots: list) -> dict:
    """{canonical name: installed version} of every distribution ``roots`` (Requirements) need here."""
    env = {"python_version": ".".join(platform.python_version_tuple()[:2]), "sys_platform": sys.platform,
           "platform_system": platform.system(), "platform_machine": platform.machine(),
           "os_name": "posix" if sys.platform != "win32" else "nt", "implementation_name": sys.implementation.name,
           "platform_python_implementation": platform.python_implementation(),
           "python_full_version": platform.python_version()}
    found, todo = {}, [(r.name, set(r.extras)) for r in roots]
    while todo:
        name, wanted = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue        # an optional dependency not installed here: not part of what was tested
        key = canonical(dist.metadata["Name"])
        if key in found and not wanted:
            continue
        found[key] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker and not any(req.marker.evaluate({**env, "extra": e}) for e in (wanted or {""})):
                continue
            if canonical(req.name) not in found or req.extras:
                todo.append((req.name, set(req.extras)))
    return dict(sorted((name, v) for name, v in found.items() if name not in TOOLING))


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("constraints.txt")
    pins = closure(declared())
    header = (f"# Exact versions `make test` passed with (Python {platform.python_version()}, {platform.machine()}).\n"
              "# Written by `make lock` (scripts/lock.py); `make upgrade` moves to the newest versions setup.cfg\n"
              "# allows, runs the suite, and rewrites this file only if it passed. Used as pip -c by `make setup`.\n")
    out.write_text(header + "".join(f"{name}=={version}\n" for name, version in pins.items()))
    print(f"{out}: {len(pins)} packages (tensorflow {pins.get('tensorflow', '?')}, "
          f"keras {pins.get('keras', '?')}, numpy {pins.get('numpy', '?')})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
