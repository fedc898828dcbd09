"""A comparison a lesson states, with its noise: the verdict is computed from the numbers.

Lesson 00 teaches what is here. A figure measured once carries a standard error (SE), the typical
distance between it and what it estimates; a difference judged "beyond noise" when it is over a cut of
about 2 SE (a 5% chance of a difference that large if there were none). The course uses four kinds of
noise, and every verdict names the one it used (``kind``):

- ``proportion``: an accuracy p on n test images, SE sqrt(p (1 - p) / n); two models on two sets,
  sqrt(se_a² + se_b²).
- ``paired``: two models scored on the same images: the SE of the mean of the per-image differences,
  smaller than the unpaired one, since an image that is hard for one is hard for the other.
- ``rounds``: the spread of repeated rounds or seeds; with few of them the SE itself is uncertain, so
  the cut is Student's t for their degrees of freedom (4.30 SE for 2, 2.78 for 4), never below 2.
- ``bootstrap``: the spread of a figure recomputed on test sets resampled with replacement.
(``estimates``: two figures each with its own SE; ``given``: an SE the lesson measured another way.)

A difference under the cut is "no difference beyond noise", never a win, and never proof of no
difference either: a larger test would see a smaller one. Lessons record each verdict in
summary.json under ``verdicts``; ``problems`` says what, if anything, does not follow from its numbers.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field

import numpy as np

NO_DIFFERENCE = "no difference beyond noise"
WHICHEVER = "whichever"
A_DIFFERENCE = "a difference"
KINDS = {     # each kind of noise, as a verdict names it
    "proportion": "SE of proportions",
    "paired": "paired SE",
    "rounds": "SE from the rounds' spread",
    "bootstrap": "bootstrap SE",
    "estimates": "SE of two estimates",
    "given": "SE as the lesson measured it",
}


@dataclass
class Verdict:
    claim: str          # what is compared, in words: "fine-tuned vs scratch, 100 labels"
    a: float
    b: float
    se: float           # standard error of a - b
    verdict: str        # the reading in words, from a, b, se and cut
    kind: str = "given"                 # which noise: a key of KINDS
    cut: float = 2.0                    # a difference of at least cut * se is beyond noise
    df: float | None = None             # degrees of freedom behind the cut (rounds, paired)
    n: str = ""                         # how much was measured, in words: "10,000 images", "3 + 3 rounds"
    names: tuple = ("a", "b")
    expects: str = WHICHEVER            # the reading the lesson's text expects: a name, NO_DIFFERENCE, ...
    ahead: str = "ahead of"
    extra: dict = field(default_factory=dict)

    @property
    def noise(self) -> str:
        """Which noise the verdict used, in words: "paired SE, 10,000 items"."""
        words = KINDS.get(self.kind, self.kind) + (f", {self.n}" if self.n else "")
        if self.cut != 2.0 and self.df is not None:
            words += f", t cut for {self.df:g} df"
        return words

    @property
    def said(self) -> str:
        """The verdict's words with the noise it used: "... (over 2 SE = 0.0270; paired SE, 10,000 items)"."""
        return self.verdict[:-1] + f"; {self.noise})" if self.verdict.endswith(")") else self.verdict

    @property
    def reading(self) -> str:
        """The verdict's reading alone: NO_DIFFERENCE, or the name of the one ahead."""
        return NO_DIFFERENCE if self.verdict.startswith(NO_DIFFERENCE) else self.verdict.split(f" {self.ahead} ")[0]

    def as_dict(self) -> dict:
        out = asdict(self)
        out["names"] = list(self.names)
        out["noise"] = self.noise
        out.pop("extra")
        return out


def t_cut(df: float | None) -> float:
    """The two-sided 5% cut of Student's t for ``df`` degrees of freedom, in SEs, never below 2:
    4.30 for 2, 2.78 for 4, 2.23 for 10; 2 when ``df`` is None or large (a normal SE)."""
    if df is None or not math.isfinite(df) or df <= 0:
        return 2.0
    # scipy.special's inverse of t's distribution function: the value scipy.stats.t.ppf gives,
    # without importing scipy.stats (a second of a lesson's start on a loaded 2-core machine)
    from scipy.special import stdtrit

    return max(2.0, round(float(stdtrit(df, 0.975)), 2))


def _say(a_name: str, b_name: str, difference: float, se: float, digits: int = 4, ahead: str = "ahead of",
         cut: float = 2.0) -> str:
    times = f"{cut:g}"
    if abs(difference) < cut * se:
        return f"{NO_DIFFERENCE} ({difference:+.{digits}f}, under {times} SE = {cut * se:.{digits}f})"
    first, second = (a_name, b_name) if difference > 0 else (b_name, a_name)
    return f"{first} {ahead} {second} by {abs(difference):.{digits}f} (over {times} SE = {cut * se:.{digits}f})"


def _verdict(claim, a, b, se, names, kind, *, digits=4, ahead="ahead of", df=None, n="") -> Verdict:
    df = None if df is None else round(float(df), 1)     # as recorded: the cut follows from it
    cut = t_cut(df)
    return Verdict(claim, a, b, se, _say(*names, a - b, se, digits=digits, ahead=ahead, cut=cut), kind=kind,
                   cut=cut, df=df, n=n, names=tuple(names), ahead=ahead)


def accuracies(claim: str, a: float, b: float, n_a: int, n_b: int | None = None,
               names: tuple[str, str] = ("a", "b")) -> Verdict:
    """Accuracy ``a`` on ``n_a`` test images against ``b`` on ``n_b`` (default the same count), as
    independent proportions. Two models scored on the same images: ``paired`` is the sharper reading."""
    n_b = n_a if n_b is None else n_b
    a, b = round(a, 4), round(b, 4)          # the verdict is read from the numbers as recorded
    se = round(math.sqrt(a * (1 - a) / n_a + b * (1 - b) / n_b), 4)
    count = f"{n_a:,} images" if n_a == n_b else f"{n_a:,} and {n_b:,} images"
    return _verdict(claim, a, b, se, names, "proportion", n=count)


def paired(claim: str, per_item_a, per_item_b, names: tuple[str, str] = ("a", "b"), ahead: str = "ahead of",
           digits: int = 4) -> Verdict:
    """Two models scored on the same items: ``per_item_a`` and ``per_item_b`` are their scores item by
    item (1/0 for right/wrong, or a loss), shape [n]. The SE is that of the mean of the differences,
    std(a_i - b_i) / sqrt(n): what both get right or both get wrong adds no noise."""
    a_items, b_items = np.asarray(per_item_a, float), np.asarray(per_item_b, float)
    if a_items.shape != b_items.shape or a_items.ndim != 1 or len(a_items) < 2:
        raise ValueError(f"a paired verdict needs two score vectors of one length, over 1 item; got shapes "
                         f"{a_items.shape} and {b_items.shape}: score both models on the same items")
    d = a_items - b_items
    se = round(float(np.std(d, ddof=1) / math.sqrt(len(d))), 4)
    a, b = round(float(a_items.mean()), 4), round(float(b_items.mean()), 4)
    return _verdict(claim, a, b, se, names, "paired", digits=digits, ahead=ahead, df=len(d) - 1,
                    n=f"{len(d):,} items")


def estimates(claim: str, a: float, se_a: float, b: float, se_b: float,
              names: tuple[str, str] = ("a", "b")) -> Verdict:
    """Two estimates, each with its own standard error (two gaps, say): se = sqrt(se_a² + se_b²);
    the larger one is said to be larger."""
    a, b = round(a, 4), round(b, 4)
    se = round(math.sqrt(se_a ** 2 + se_b ** 2), 4)
    return _verdict(claim, a, b, se, names, "estimates", ahead="larger than")


def with_se(claim: str, a: float, b: float, se: float, names: tuple[str, str] = ("a", "b"),
            digits: int = 4, ahead: str = "ahead of", kind: str = "given", df: float | None = None) -> Verdict:
    """Two figures and the standard error of their difference, measured some other way: ``kind`` says
    how ("bootstrap" over the same test files, "rounds" for the differences of a few seeds with ``df``
    degrees of freedom, ...); ``digits`` after the point in the words."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of noise {kind!r}: one of {', '.join(KINDS)}")
    a, b, se = round(a, 4), round(b, 4), round(se, 4)
    return _verdict(claim, a, b, se, names, kind, digits=digits, ahead=ahead, df=df)


def accuracy_se(p: float, n: int) -> float:
    """The standard error of an accuracy ``p`` measured on ``n`` images: sqrt(p (1 - p) / n)."""
    return math.sqrt(p * (1 - p) / n)


def welch(a_values, b_values) -> tuple[float, float]:
    """(SE of mean(a) - mean(b), its Welch-Satterthwaite degrees of freedom) from the values' spread:
    se² = var_a / n_a + var_b / n_b; with 3 rounds each the degrees of freedom are between 2 and 4."""
    na, nb = len(a_values), len(b_values)
    va, vb = statistics.variance(a_values) / na, statistics.variance(b_values) / nb
    if va + vb == 0:
        return 0.0, na + nb - 2
    return math.sqrt(va + vb), (va + vb) ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))


def speeds(claim: str, a_rates, b_rates, names: tuple[str, str] = ("a", "b")) -> Verdict:
    """Mean rate (images/s, say) of rounds ``a_rates`` against ``b_rates``, with the standard error of the
    difference from the rounds' own spread (``welch``) and the t cut for its degrees of freedom. Needs two
    rounds or more."""
    if min(len(a_rates), len(b_rates)) < 2:
        raise ValueError("a speed verdict needs at least two rounds of each: one round has no spread to judge by")
    se, df = welch(a_rates, b_rates)
    a, b, se = round(statistics.mean(a_rates), 1), round(statistics.mean(b_rates), 1), round(se, 1)
    return _verdict(claim, a, b, se, names, "rounds", digits=0, df=df,
                    n=f"{len(a_rates)} + {len(b_rates)} rounds")


def repeated(claim: str, a_values, b_values, names: tuple[str, str] = ("a", "b"),
             ahead: str = "larger than", digits: int = 4) -> Verdict:
    """The means of a measurement repeated over seeds or rounds (a layer's weight change, say),
    ``a_values`` against ``b_values``, as ``speeds`` (to four decimals). Needs two values or more of each."""
    if min(len(a_values), len(b_values)) < 2:
        raise ValueError("a verdict over seeds needs at least two of each: one has no spread to judge by")
    se, df = welch(a_values, b_values)
    a, b, se = round(statistics.mean(a_values), 4), round(statistics.mean(b_values), 4), round(se, 4)
    return _verdict(claim, a, b, se, names, "rounds", digits=digits, ahead=ahead, df=df,
                    n=f"{len(a_values)} + {len(b_values)} values")


def problems(recorded: dict) -> list[str]:
    """What does not follow in a recorded verdict (``Verdict.as_dict``): the reading against a, b, se and
    the cut (no difference exactly when |a - b| < cut * se; otherwise the larger one named first), the cut
    against the degrees of freedom, and the reading against the one the lesson expects. Empty if sound."""
    claim = recorded.get("claim", "?")
    a, b, se, words = recorded["a"], recorded["b"], recorded["se"], recorded["verdict"]
    cut = recorded.get("cut", 2.0)
    found = []
    if recorded.get("kind", "given") not in KINDS:
        found.append(f"{claim}: unknown kind of noise {recorded.get('kind')!r}")
    if se is None or se < 0:
        found.append(f"{claim}: no standard error ({se})")
        return found
    wanted = t_cut(recorded.get("df"))
    if cut < 2.0 or (recorded.get("df") is not None and abs(cut - wanted) > 0.011):
        found.append(f"{claim}: cut {cut} SE, but {recorded.get('df')} df call for {wanted}")
    none = abs(a - b) < cut * se
    said_none = words.startswith(NO_DIFFERENCE)
    if said_none != none:
        found.append(f"{claim}: says {words!r}, but |{a} - {b}| is {'under' if none else 'over'} {cut} x {se}")
    names = recorded.get("names")
    leader = None
    if not said_none and names:
        leader = names[0] if a > b else names[1]
        if not words.startswith(f"{leader} "):
            found.append(f"{claim}: says {words!r}, but {leader} has the larger figure ({a} vs {b})")
    expects = recorded.get("expects", WHICHEVER)
    reading = NO_DIFFERENCE if said_none else leader
    if expects not in (WHICHEVER, reading) and not (expects == A_DIFFERENCE and not said_none):
        found.append(f"{claim}: the lesson expects {expects!r}, the run read {words!r}")
    return found


def follows(recorded: dict, names: tuple[str, str] | None = None) -> bool:
    """Whether a recorded verdict is the one its numbers give (``problems`` finds nothing)."""
    return not problems(recorded)
