"""The host, known and said: recorded /proc/cpuinfo flag sets (AVX2, AVX-512, AVX-512 BF16, AMX, arm64) and no
/proc/cpuinfo at all, each classed, and what `auto` and lesson 27 choose for it; ONEDNN_MAX_CPU_ISA caps the class.

The files in tests/cpuinfo/: avx512_bf16_amd_epyc_zen4 is this course's machine's, as read; the others hold the
model name and flags line those CPUs print (AMD EPYC 7R32, Xeon Platinum 8175M, Xeon Platinum 8488C, Graviton3).
"""
import importlib.util
import sys
from pathlib import Path

import pytest

from conftest import REPO
from lowtf import host as hosts
from lowtf.train import precision

CPUINFO = Path(__file__).parent / "cpuinfo"

# file -> (vector unit, bfloat16 class, what auto computes in, what lesson 27's step 4 does)
EXPECTED = {
    "avx2_amd_epyc_zen2.txt": ("AVX2", "fallback", "float32", "time_the_fallback"),
    "avx512_intel_skylake.txt": ("AVX-512", "emulated", "float32", "train_both"),
    "avx512_bf16_amd_epyc_zen4.txt": ("AVX-512", "native", "bfloat16", "train_both"),
    "amx_intel_sapphire_rapids.txt": ("AVX-512", "native", "bfloat16", "train_both"),
}


def recorded(name: str, cap: str = "", machine: str = "x86_64") -> hosts.Host:
    env = {"ONEDNN_MAX_CPU_ISA": cap} if cap else {}
    return hosts.detect(CPUINFO / name, system="Linux", machine=machine, environ=env, cores=2)


def gains():        # a probe that found bfloat16 well ahead: auto then takes it where it may
    return {"ratio": 1.9, "spread": 0.05}


def never_probed():
    raise AssertionError("auto probed a host without bfloat16 units")


@pytest.fixture(scope="module")
def lesson27():
    """Lesson 27's module, loaded as the runner loads it (nothing runs at import)."""
    path = next((REPO / "lessons").glob("27_*.py"))
    spec = importlib.util.spec_from_file_location("lowtf_lesson_27_for_host_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


class Ctx:
    mode, fast = "fast", True

    def __init__(self):
        self.summary = {}

    def record(self, **values):
        self.summary.update(values)


def lesson27_plan(module, host, monkeypatch) -> str:
    """Which branch lesson 27's step 4 takes on ``host``: its own code, with the two branches stubbed."""
    monkeypatch.setattr(module, "this_host", lambda: host)
    monkeypatch.setattr(module, "train_both", lambda ctx: "train_both")
    monkeypatch.setattr(module, "time_the_fallback", lambda ctx: "time_the_fallback")
    ctx = Ctx()
    plan = module.compare.__wrapped__(ctx) if hasattr(module.compare, "__wrapped__") else module.compare(ctx)
    assert ctx.summary["host"]["bfloat16_class"] == host.bfloat16_class
    return plan


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_recorded_cpu_is_classed_and_chosen_for(name, lesson27, monkeypatch, capsys):
    vector, kind, auto, plan = EXPECTED[name]
    host = recorded(name)
    assert (host.vector, host.bfloat16_class, host.source) == (vector, kind, str(CPUINFO / name))
    assert host.cpu and len(host.line()) < 80 and hosts.SAYS[kind] in host.line()
    chosen = precision.choose("auto", host, gains if kind == "native" else never_probed)
    assert chosen.precision == auto and len(chosen.reason) < 77
    assert lesson27_plan(lesson27, host, monkeypatch) == plan
    assert host.line() in capsys.readouterr().out        # step 4 says the host in one line
    if host.bfloat16_trains:
        assert precision.choose("bfloat16", host, never_probed).precision == "bfloat16"
    else:
        with pytest.raises(precision.BFloat16Unavailable, match="needs AVX-512.*'float32' or 'auto'"):
            precision.choose("bfloat16", host, never_probed)
    assert precision.choose("float32", host, never_probed).precision == "float32"


@pytest.mark.parametrize("cap,kind", [("AVX2", "fallback"), ("avx2", "fallback"), ("SSE41", "fallback"),
                                      ("AVX512_CORE", "emulated"), ("AVX512_CORE_BF16", "native"),
                                      ("ALL", "native"), ("no such isa", "native")])
def test_onednn_max_cpu_isa_caps_the_class(cap, kind, lesson27, monkeypatch, capsys):
    host = recorded("avx512_bf16_amd_epyc_zen4.txt", cap=cap)
    assert host.bfloat16_class == kind
    if kind == "fallback":       # the proxy for an AVX2 host: float32 only, lesson 27 times the fallback
        assert "capped at" in host.line() and len(host.line()) < 80
        assert precision.choose("auto", host, never_probed).precision == "float32"
        with pytest.raises(precision.BFloat16Unavailable, match="capped below AVX-512"):
            precision.choose("bfloat16", host, never_probed)
        assert lesson27_plan(lesson27, host, monkeypatch) == "time_the_fallback"
    # a cap never lifts a CPU above what it has
    assert recorded("avx2_amd_epyc_zen2.txt", cap=cap).bfloat16_class == "fallback"


def test_no_cpuinfo_and_other_systems_are_unknown_without_crashing(tmp_path, lesson27, monkeypatch, capsys):
    missing = hosts.detect(tmp_path / "no-such-cpuinfo", system="Linux", machine="x86_64", environ={})
    empty = tmp_path / "cpuinfo"
    empty.write_text("processor\t: 0\n")
    no_flags = hosts.detect(empty, system="Linux", machine="x86_64", environ={})
    windows = hosts.detect(system="Windows", machine="AMD64", environ={})
    for host in (missing, no_flags, windows):
        assert (host.source, host.bfloat16_class, host.vector) == ("unknown", "unknown", "unknown")
        assert host.line().startswith("host: ") and "float32 only" in host.line()
        assert precision.choose("auto", host, never_probed).precision == "float32"
        with pytest.raises(precision.BFloat16Unavailable, match="could not be read"):
            precision.choose("bfloat16", host, never_probed)
        assert lesson27_plan(lesson27, host, monkeypatch) == "time_the_fallback"
    arm = recorded("arm64_graviton.txt", machine="aarch64")
    assert (arm.vector, arm.bfloat16_class) == ("arm64", "fallback")


def test_macos_is_read_with_sysctl(monkeypatch):
    answers = {"machdep.cpu.brand_string": "Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz",
               "machdep.cpu.features": "FPU VME SSE SSE2 AVX1.0 FMA", "machdep.cpu.leaf7_features": "AVX2 BMI2"}
    monkeypatch.setattr(hosts, "_sysctl", lambda name: answers.get(name, ""))
    intel = hosts.detect(system="Darwin", machine="x86_64", environ={})
    assert (intel.source, intel.vector, intel.bfloat16_class) == ("sysctl", "AVX2", "fallback")
    assert intel.flags == {"avx2", "fma"} and "Core(TM) i7" in intel.line()
    answers.clear()
    answers["machdep.cpu.brand_string"] = "Apple M2"
    apple = hosts.detect(system="Darwin", machine="arm64", environ={})
    assert (apple.source, apple.vector, apple.bfloat16_class) == ("sysctl", "arm64", "fallback")
    answers.clear()           # sysctl missing or refusing: unknown, not a crash
    assert hosts.detect(system="Darwin", machine="x86_64", environ={}).bfloat16_class == "unknown"


def test_this_host_is_this_machine():
    host = hosts.this_host()
    assert host is hosts.this_host() and host.bfloat16_class in hosts.CLASSES
    assert host.as_dict()["bfloat16_class"] == host.bfloat16_class


@pytest.mark.parametrize("name,cap,measured", [("avx2_amd_epyc_zen2.txt", "", ("float32",)),
                                               ("avx512_bf16_amd_epyc_zen4.txt", "AVX2", ("float32",)),
                                               ("avx512_bf16_amd_epyc_zen4.txt", "", ("float32", "bfloat16"))])
def test_lowtf_bench_says_the_host_and_never_trains_bfloat16_on_the_fallback(name, cap, measured, tmp_path,
                                                                              monkeypatch, capsys):
    import lowtf.bench.throughput as throughput
    from lowtf.cli import main

    host = recorded(name, cap=cap)
    asked = {}
    monkeypatch.setattr(hosts, "this_host", lambda: host)
    monkeypatch.setattr(throughput, "measure_throughput", lambda **kw: asked.update(kw))
    assert main(["bench", "--precision", "bfloat16", "--out", str(tmp_path / "t.json")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == host.line() and asked["precisions"] == measured
    assert ("bfloat16 left out" in out) == (measured == ("float32",))


def test_a_lesson_says_its_host_in_one_line_under_its_title(tmp_path):
    from lowtf.lesson import Lesson

    lesson = Lesson("99", "host line")

    @lesson.step("nothing")
    def nothing(ctx):
        """Nothing to explain."""
        return {}

    shown = []
    lesson.run(fast=True, logdir=tmp_path / "run", out=shown.append)
    assert shown[0].startswith("Lesson 99: host line") and shown[1] == hosts.this_host().line()
