"""The computer the course runs on, and what it means for TensorFlow's speed: one place that knows.

TensorFlow computes bfloat16 on a CPU through oneDNN only if its own check passes: the CPU has
AVX-512 (``avx512f``) or AVX-NE-CONVERT (TensorFlow 2.21, ``tensorflow/core/util/util.cc``,
``IsDataTypeSupportedByOneDNNOnThisCPU``, read from the CPU itself). Three classes follow:

- ``native``: bfloat16 units, AMX (``amx_bf16``) or AVX-512 BF16 (``avx512_bf16``): bfloat16
  matrix products run in hardware, ~2x float32 on these machines;
- ``emulated``: AVX-512 (or AVX-NE-CONVERT) without them: oneDNN converts to float32 and back;
- ``fallback``: anything less (AVX2 laptops, Apple Silicon, other CPUs): TensorFlow prints an
  ``E0000 ... oneDNN supports DT_BFLOAT16 only on platforms with AVX-512`` line and runs the
  rewritten ops on its Eigen kernels, ~0.09x float32 (measured on an AVX2 AMD EPYC).
- ``unknown``: the CPU's features could not be read; treated as ``fallback`` wherever a choice
  depends on it (float32 is safe everywhere).

``ONEDNN_MAX_CPU_ISA`` (e.g. ``AVX2``) caps oneDNN's kernels at run time and so the class: a
cap below ``AVX512_CORE`` on an AVX-512 CPU is the course's proxy for an AVX2 host's float32
speed. TensorFlow's own check still sees AVX-512 there and hands oneDNN bfloat16 ops, which a
capped oneDNN cannot build ("could not create a primitive descriptor for the convolution",
verified with TF 2.21 / oneDNN 3.7.3 on an AMD EPYC with avx512_bf16): bfloat16 must not run
under such a cap, and the class says ``fallback``.

CPU features come from ``/proc/cpuinfo`` on Linux, ``sysctl`` on macOS, and are "unknown"
elsewhere. Importing this module does not import TensorFlow.
"""
from __future__ import annotations

import functools
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
BF16_UNITS = ("amx_bf16", "avx512_bf16")       # CPU flags of units that compute in bfloat16, best first
CLASSES = ("native", "emulated", "fallback", "unknown")
SAYS = {     # the class in a host line
    "native": "bfloat16 native",
    "emulated": "bfloat16 emulated",
    "fallback": "bfloat16 slow (Eigen)",
    "unknown": "float32 only",
}
# oneDNN's ISA names (ONEDNN_MAX_CPU_ISA), in order, and the level each allows:
# 1 below AVX-512, 2 AVX-512 without bfloat16 instructions, 3 with them.
ISA_LEVELS = {
    "SSE41": 1, "AVX": 1, "AVX2": 1, "AVX2_VNNI": 1, "AVX2_VNNI_2": 1,
    "AVX512_CORE": 2, "AVX512_CORE_VNNI": 2,
    "AVX512_CORE_BF16": 3, "AVX512_CORE_FP16": 3, "AVX10_1_512": 3, "AVX10_1_512_AMX": 3,
    "AVX10_1_512_AMX_FP16": 3, "AVX512_CORE_AMX": 3, "AVX512_CORE_AMX_FP16": 3, "ALL": 3, "DEFAULT": 3,
}
# macOS (Intel) spells its features in capitals; these are the ones that decide the class here.
MACOS_FLAGS = {"AVX2": "avx2", "AVX512F": "avx512f", "AVX512BF16": "avx512_bf16", "FMA": "fma"}


@dataclass(frozen=True)
class Host:
    """What lowtf knows of the CPU: its name, core count, architecture, feature flags and oneDNN cap."""
    cpu: str                    # model name, e.g. "AMD EPYC"; "" when unknown
    cores: int
    machine: str                # platform.machine(): x86_64, arm64, aarch64, AMD64
    flags: frozenset            # lower-case x86 flags as /proc/cpuinfo spells them; empty when unknown
    source: str                 # where the flags came from: "/proc/cpuinfo", "sysctl" or "unknown"
    isa_cap: str = ""           # ONEDNN_MAX_CPU_ISA as set, upper-case; "" when not set

    @property
    def vector(self) -> str:
        """The widest vector unit: "AVX-512", "AVX2", "x86 without AVX2", "arm64", or "unknown"."""
        if self.machine.lower() in ("arm64", "aarch64"):
            return "arm64"
        if self.source == "unknown":
            return "unknown"
        if "avx512f" in self.flags:
            return "AVX-512"
        return "AVX2" if "avx2" in self.flags else "x86 without AVX2"

    @property
    def cap_level(self) -> int:
        """3 with no cap (or an unrecognised one, which oneDNN ignores too), else the cap's level."""
        return ISA_LEVELS.get(self.isa_cap, 3)

    @property
    def bfloat16_units(self) -> str:
        """The first of amx_bf16 / avx512_bf16 this CPU has, or ""."""
        return next((f for f in BF16_UNITS if f in self.flags), "")

    @property
    def bfloat16_class(self) -> str:
        """"native", "emulated", "fallback" or "unknown" (module docstring)."""
        if self.vector == "unknown":
            return "unknown"
        tf_check = "avx512f" in self.flags or "avx_ne_convert" in self.flags
        if not tf_check or self.cap_level < 2:
            return "fallback"
        return "native" if self.bfloat16_units and self.cap_level >= 3 else "emulated"

    @property
    def bfloat16_trains(self) -> bool:
        """True where training in bfloat16 runs on oneDNN (native or emulated), not Eigen's fallback."""
        return self.bfloat16_class in ("native", "emulated")

    def line(self) -> str:
        """One line under 80 characters: CPU, cores, vector unit (and cap), bfloat16 class."""
        vector = self.vector
        if self.isa_cap and self.cap_level < 3:
            vector += f" capped at {self.isa_cap}"
        elif self.bfloat16_units and vector == "AVX-512":
            vector += f" ({self.bfloat16_units})"
        rest = f", {self.cores} cores, {vector}: {SAYS[self.bfloat16_class]}"
        name = self.cpu or self.machine or "unknown CPU"
        room = 79 - len("host: ") - len(rest)
        if len(name) > room:
            name = name[:max(room - 3, 8)].rstrip() + "..."
        return f"host: {name}{rest}"

    def as_dict(self) -> dict:
        return {"cpu": self.cpu, "cores": self.cores, "machine": self.machine, "source": self.source,
                "isa_cap": self.isa_cap, "vector": self.vector, "bfloat16_class": self.bfloat16_class,
                "flags": sorted(f for f in self.flags if f.startswith(("avx", "amx", "fma")))}


def _from_cpuinfo(text: str) -> tuple[str, frozenset]:
    """(model name, flags) from /proc/cpuinfo's text; the first processor's lines suffice."""
    name, flags = "", frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not name:
            name = value.strip()
        elif key in ("flags", "Features") and not flags:      # Features: arm64 Linux
            flags = frozenset(value.split())
    return name, flags


def _sysctl(name: str) -> str:
    try:
        done = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _from_sysctl() -> tuple[str, frozenset]:
    """(brand, flags) on macOS: Intel Macs list their features; Apple Silicon is arm64 (no x86 flags)."""
    words = f"{_sysctl('machdep.cpu.features')} {_sysctl('machdep.cpu.leaf7_features')}".split()
    return _sysctl("machdep.cpu.brand_string"), frozenset(MACOS_FLAGS[w] for w in words if w in MACOS_FLAGS)


def detect(cpuinfo: Path = CPUINFO, system: str | None = None, machine: str | None = None,
           environ: dict | None = None, cores: int | None = None) -> Host:
    """The host this process runs on; every argument overrides what would be read (for tests).

    Never raises: a file or command that cannot be read gives ``source="unknown"``."""
    system = system or platform.system()
    machine = machine if machine is not None else platform.machine()
    environ = os.environ if environ is None else environ
    cap = environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    cores = cores or os.cpu_count() or 1
    name, flags, source = "", frozenset(), "unknown"
    if system == "Linux":
        try:
            name, flags = _from_cpuinfo(cpuinfo.read_text(errors="replace"))
            source = str(cpuinfo)
        except OSError:
            pass
    elif system == "Darwin":
        name, flags = _from_sysctl()
        source = "sysctl" if name or flags else "unknown"
    if source != "unknown" and not flags and machine.lower() not in ("arm64", "aarch64"):
        source = "unknown"           # a cpuinfo without a flags line says nothing about the CPU
    return Host(cpu=name, cores=cores, machine=machine, flags=flags, source=source, isa_cap=cap)


@functools.lru_cache(maxsize=1)
def this_host() -> Host:
    """``detect()`` once per process: neither the CPU nor oneDNN's cap changes during a run."""
    return detect()
