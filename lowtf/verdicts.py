"""A comparison a lesson states, with its noise: the verdict is computed from the numbers.

An accuracy p measured on n test images carries a standard error sqrt(p (1 - p) / n); the difference
of two carries sqrt(se_a² + se_b²) (treating the two as independent, which overstates it a little
when both models are scored on the same images). A difference under two standard errors is reported
as no difference beyond noise, never as a win. Lessons record each verdict in summary.json under
``verdicts`` as ``{"claim", "a", "b", "se", "verdict"}``; ``follows`` recomputes it from the numbers.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass

NO_DIFFERENCE = "no difference beyond noise"


@dataclass
class Verdict:
    claim: str          # what is compared, in words: "fine-tuned vs scratch, 100 labels"
    a: float
    b: float
    se: float           # standard error of a - b
    verdict: str

    def as_dict(self) -> dict:
        return asdict(self)


def _say(a_name: str, b_name: str, difference: float, se: float, digits: int = 4, ahead: str = "ahead of") -> str:
    if abs(difference) < 2 * se:
        return f"{NO_DIFFERENCE} ({difference:+.{digits}f}, under 2 SE = {2 * se:.{digits}f})"
    first, second = (a_name, b_name) if difference > 0 else (b_name, a_name)
    return f"{first} {ahead} {second} by {abs(difference):.{digits}f} (over 2 SE = {2 * se:.{digits}f})"


def accuracies(claim: str, a: float, b: float, n_a: int, n_b: int | None = None,
               names: tuple[str, str] = ("a", "b")) -> Verdict:
    """Accuracy ``a`` on ``n_a`` test images against ``b`` on ``n_b`` (default the same count)."""
    n_b = n_a if n_b is None else n_b
    a, b = round(a, 4), round(b, 4)          # the verdict is read from the numbers as recorded
    se = round(math.sqrt(a * (1 - a) / n_a + b * (1 - b) / n_b), 4)
    return Verdict(claim, a, b, se, _say(*names, a - b, se))


def estimates(claim: str, a: float, se_a: float, b: float, se_b: float,
              names: tuple[str, str] = ("a", "b")) -> Verdict:
    """Two estimates, each with its own standard error (two gaps, say): se = sqrt(se_a² + se_b²);
    the larger one is said to be larger."""
    a, b = round(a, 4), round(b, 4)
    se = round(math.sqrt(se_a ** 2 + se_b ** 2), 4)
    return Verdict(claim, a, b, se, _say(*names, a - b, se, ahead="larger than"))


def with_se(claim: str, a: float, b: float, se: float, names: tuple[str, str] = ("a", "b"),
            digits: int = 4, ahead: str = "ahead of") -> Verdict:
    """Two figures and the standard error of their difference, measured some other way (a bootstrap
    over the same test files, say); ``digits`` after the point in the words."""
    a, b, se = round(a, 4), round(b, 4), round(se, 4)
    return Verdict(claim, a, b, se, _say(*names, a - b, se, digits=digits, ahead=ahead))


def accuracy_se(p: float, n: int) -> float:
    """The standard error of an accuracy ``p`` measured on ``n`` images: sqrt(p (1 - p) / n)."""
    return math.sqrt(p * (1 - p) / n)


def speeds(claim: str, a_rates, b_rates, names: tuple[str, str] = ("a", "b")) -> Verdict:
    """Mean rate (images/s, say) of rounds ``a_rates`` against ``b_rates``, with the standard error of the
    difference from the rounds' own spread: sqrt(var_a / n_a + var_b / n_b). Needs two rounds or more."""
    if min(len(a_rates), len(b_rates)) < 2:
        raise ValueError("a speed verdict needs at least two rounds of each: one round has no spread to judge by")
    mean_a, mean_b = statistics.mean(a_rates), statistics.mean(b_rates)
    se = math.sqrt(statistics.variance(a_rates) / len(a_rates) + statistics.variance(b_rates) / len(b_rates))
    a, b, se = round(mean_a, 1), round(mean_b, 1), round(se, 1)
    return Verdict(claim, a, b, se, _say(*names, a - b, se, digits=0))


def repeated(claim: str, a_values, b_values, names: tuple[str, str] = ("a", "b"),
             ahead: str = "larger than", digits: int = 4) -> Verdict:
    """The means of a measurement repeated over seeds (a layer's weight change, say), ``a_values``
    against ``b_values``, with the standard error of the difference from their spread (as ``speeds``,
    to four decimals). Needs two values or more of each."""
    if min(len(a_values), len(b_values)) < 2:
        raise ValueError("a verdict over seeds needs at least two of each: one has no spread to judge by")
    se = math.sqrt(statistics.variance(a_values) / len(a_values) + statistics.variance(b_values) / len(b_values))
    a, b, se = round(statistics.mean(a_values), 4), round(statistics.mean(b_values), 4), round(se, 4)
    return Verdict(claim, a, b, se, _say(*names, a - b, se, digits=digits, ahead=ahead))


def follows(recorded: dict, names: tuple[str, str] | None = None) -> bool:
    """Whether a recorded verdict is the one its numbers give: "no difference" exactly when |a - b| < 2 se."""
    difference, se = recorded["a"] - recorded["b"], recorded["se"]
    said_none = recorded["verdict"].startswith(NO_DIFFERENCE)
    return said_none == (abs(difference) < 2 * se)
