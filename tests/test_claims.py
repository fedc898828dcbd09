"""Claims as data: each verdict names its noise, its cut follows its degrees of freedom, and the claims
test (conftest's ``claims_follow_from_their_numbers``, run after every test module on the summary.json
files its lesson runs wrote) catches a reading its numbers do not give. Lesson 00 teaches the noise."""
import json

import numpy as np
import pytest
from conftest import CHECKED_SUMMARIES, unsound_claims

from lowtf import verdicts
from lowtf.lesson import LessonContext

pytest_plugins = ["pytester"]   # runs pytest in this process, for the claims test's own test


def test_a_sound_verdict_of_each_kind_passes():
    rng = np.random.default_rng(0)
    a, b = rng.random(500) < 0.9, rng.random(500) < 0.8
    made = [verdicts.accuracies("x", 0.91, 0.90, 10_000, names=("p", "q")),
            verdicts.paired("x", a, b, names=("p", "q")),
            verdicts.estimates("x", 0.05, 0.01, 0.01, 0.01, names=("p", "q")),
            verdicts.with_se("x", 0.7, 0.6, 0.02, names=("p", "q"), kind="bootstrap"),
            verdicts.speeds("x", [100, 104, 98], [90, 91, 89], names=("p", "q")),
            verdicts.repeated("x", [0.3, 0.31, 0.29, 0.3], [0.2, 0.22, 0.21, 0.2], names=("p", "q"))]
    assert [v.kind for v in made] == ["proportion", "paired", "estimates", "bootstrap", "rounds", "rounds"]
    for v in made:
        assert verdicts.problems(v.as_dict()) == [], v
        assert v.noise in v.said and v.said.startswith(v.verdict[:-1])     # the words name the noise


def test_a_wrong_reading_a_wrong_leader_a_low_cut_and_an_unmet_expectation_are_caught():
    apart = verdicts.accuracies("a vs b", 0.80, 0.90, 1000, names=("a", "b")).as_dict()
    close = verdicts.accuracies("a vs b", 0.80, 0.79, 1000, names=("a", "b")).as_dict()
    assert apart["verdict"].startswith("b ahead of a") and close["verdict"].startswith(verdicts.NO_DIFFERENCE)
    assert verdicts.problems({**apart, "verdict": close["verdict"]})                 # says none, is over the cut
    assert verdicts.problems({**close, "verdict": "a ahead of b by 0.0100 (over 2 SE = 0.0360)"})   # says one
    assert verdicts.problems({**apart, "verdict": "a ahead of b by 0.1000 (over 2 SE = 0.0360)"})   # wrong one
    rounds = verdicts.speeds("r", [100, 130, 70], [60, 62, 58], names=("a", "b")).as_dict()
    assert rounds["cut"] > 2 and not verdicts.problems(rounds)
    assert verdicts.problems({**rounds, "cut": 2.0})                                  # 2 SE for few rounds
    assert verdicts.problems({**apart, "expects": "a"})                              # a ahead was expected
    assert verdicts.problems({**close, "expects": "a difference"})
    assert not verdicts.problems({**apart, "expects": "a difference"})
    assert not verdicts.problems({**close, "expects": verdicts.NO_DIFFERENCE})
    # a record from before kinds and cuts (claim, a, b, se, verdict) is still read at 2 SE
    old = {k: apart[k] for k in ("claim", "a", "b", "se", "verdict")}
    assert not verdicts.problems(old) and verdicts.problems({**old, "verdict": close["verdict"]})


def test_few_rounds_are_judged_at_students_t():
    assert verdicts.t_cut(2) == 4.3 and verdicts.t_cut(4) == 2.78 and verdicts.t_cut(None) == 2.0
    assert verdicts.t_cut(10_000) == 2.0                      # many: the normal curve's 2 SE
    # a difference of 3 SE over 3 rounds each: beyond 2 SE, not beyond the t cut
    v = verdicts.speeds("x", [103, 100, 97], [97.65, 94.65, 91.65])
    assert 2 < (v.a - v.b) / v.se < v.cut and v.verdict.startswith(verdicts.NO_DIFFERENCE) and v.df == 4.0


def test_paired_se_is_the_spread_of_the_per_item_differences():
    rng = np.random.default_rng(1)
    both = rng.random(4000) < 0.9
    a, b = both.copy(), both.copy()
    flip = rng.choice(4000, 120, replace=False)
    b[flip[:100]], a[flip[100:]] = ~b[flip[:100]], ~a[flip[100:]]
    paired = verdicts.paired("x", a, b)
    unpaired = verdicts.accuracies("x", a.mean(), b.mean(), 4000)
    assert paired.se == pytest.approx(np.std(a.astype(float) - b, ddof=1) / np.sqrt(4000), abs=1e-4)
    assert paired.se < unpaired.se / 2
    with pytest.raises(ValueError, match="same items"):
        verdicts.paired("x", a, b[:10])


def test_a_lesson_declares_its_expectation_with_the_claim(tmp_path):
    ctx = LessonContext(fast=True, logdir=tmp_path)
    words = ctx.verdict(verdicts.accuracies("x", 0.95, 0.90, 10_000, names=("new", "old")), expects="new")
    recorded = ctx.summary["verdicts"][0]
    assert words.startswith("new ahead of old") and "SE of proportions, 10,000 images" in words
    assert recorded["expects"] == "new" and recorded["kind"] == "proportion" and recorded["noise"]
    with pytest.raises(ValueError, match="expects='newer'"):
        ctx.verdict(verdicts.accuracies("x", 0.95, 0.90, 10_000, names=("new", "old")), expects="newer")


def test_the_claims_test_finds_a_claim_its_numbers_do_not_give(tmp_path):
    good = verdicts.accuracies("fine", 0.95, 0.90, 10_000).as_dict()
    bad = {**good, "claim": "flattering", "verdict": verdicts.NO_DIFFERENCE + " (+0.0500, under 2 SE = 0.0054)"}
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "summary.json").write_text(json.dumps({"verdicts": [good, bad]}))
    found = unsound_claims(tmp_path, CHECKED_SUMMARIES)        # marked checked: the module's scan skips it
    assert len(found) == 1 and "flattering" in found[0]
    assert unsound_claims(tmp_path, CHECKED_SUMMARIES) == []  # each summary once


def test_00_reading_a_measurement(run_lesson):
    """Lesson 00's simulations show what it says: the formula's SE is the spread of accuracies over test
    sets; a 2-SE cut raises more false alarms over 3 rounds than Student's t; the bootstrap's SE from one
    test set is near the spread over many; its claims name their noise."""
    s, _ = run_lesson("00")
    assert s["se_simulated"] == pytest.approx(s["se_formula"], rel=0.1)
    assert 0.02 < s["false_alarm_rate"] < 0.08                # a 5% cut, on 4,000 simulated pairs
    assert s["false_alarms_at_2_se"] > s["false_alarms_at_t"] + 0.03
    assert s["bootstrap_se"] == pytest.approx(s["median_spread"], rel=0.3)
    assert [v["kind"] for v in s["verdicts"]] == ["proportion", "paired"]


def test_a_module_whose_lesson_run_wrote_an_unsound_claim_fails(pytester):
    """The claims check as pytest runs it: a test that writes a summary.json whose reading its numbers do
    not give passes itself, and its module then fails at teardown, naming the claim. (pytest runs in this
    process, with the suite's own conftest.py: TensorFlow is loaded already.)"""
    from conftest import REPO

    pytester.makeconftest((REPO / "tests" / "conftest.py").read_text())
    pytester.makepyfile(test_flattering=(
        "import json\nfrom lowtf import verdicts\n\n"
        "def test_a_run(tmp_path):\n"
        "    v = verdicts.accuracies('new vs old', 0.95, 0.90, 10_000, names=('new', 'old')).as_dict()\n"
        "    v['verdict'] = verdicts.NO_DIFFERENCE + ' (+0.0500, under 2 SE = 0.0054)'\n"
        "    (tmp_path / 'summary.json').write_text(json.dumps({'verdicts': [v]}))\n"))
    inner = pytester.path / "inner"       # the inner run's temporary folders
    run = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", f"--basetemp={inner}")
    out = run.stdout.str()
    assert run.ret == 1 and "1 passed, 1 error" in out, out[-2000:]
    assert "ERROR at teardown of test_a_run" in out and "new vs old: says 'no difference" in out
    # the inner run's summary lies under this run's temporary folder: marked checked, this module's own
    # check skips it
    (found,) = unsound_claims(inner, CHECKED_SUMMARIES)
    assert "new vs old" in found
