"""Reading a measurement: standard errors, 2 SE, paired scores, few rounds and the bootstrap."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on
from lowtf import verdicts

import numpy as np
from scipy import stats

lesson = Lesson("00", "reading a measurement")

SEED = 0
TEST_SETS = {"fast": 4000, "full": 20000}  # simulated test sets per question
N = 1000  # images in each simulated test set
ROUNDS = 3  # timing rounds of each program, as lessons 01, 05 and 22 take
RESAMPLES = 2000  # bootstrap resamples of one test set


@lesson.step("an accuracy is a measurement: another test set, another number")
def one_accuracy(ctx):
    """Every number this course prints about a model is measured on a sample: an
    accuracy on 1,000 test images would come out a little different on another
    1,000 images of the same kind. Here a model that is right on 90% of all
    possible images is scored on many simulated test sets of N images each (each
    image right with probability 0.9, as numpy's binomial draws it).

    The standard error (SE) of a measurement is the typical distance between it
    and the truth it estimates: the spread (standard deviation) its value would
    have over many repeats. For a proportion p measured on n independent items
    it is sqrt(p (1 - p) / n), here sqrt(0.9 x 0.1 / 1000) = 0.0095: the second
    decimal of an accuracy on 1,000 images is already noise. The simulation's
    own spread agrees with the formula."""
    ctx.rng = np.random.default_rng(SEED)
    ctx.truth, ctx.sets = 0.90, TEST_SETS[ctx.mode]
    ctx.measured = ctx.rng.binomial(N, ctx.truth, size=ctx.sets) / N
    formula = np.sqrt(ctx.truth * (1 - ctx.truth) / N)
    ctx.record(se_formula=round(formula, 4), se_simulated=ctx.measured.std())
    return {
        "accuracy on the first five test sets": ctx.measured[:5],
        f"their spread (std), {ctx.sets:,} sets": ctx.measured.std(),
        "SE by the formula": formula,
    }


@lesson.step(
    "2 SE either side of a measurement covers the truth 95% of the time"
)
def two_se(ctx):
    """One test set cannot see the truth, but it can compute its own SE from its
    own accuracy. A measurement's errors follow (nearly) a normal curve, and 95%
    of a normal curve lies within 1.96 of its standard deviations of the middle:
    so the interval "measured +- 2 SE" contains the truth about 95% of the time.
    The course uses 2 (95.4% of a normal curve) as its cut.

    Below, the share of the simulated test sets whose interval covers 0.9, read
    against 95.45% as every comparison in the course is read: with its own SE
    (that share is itself a proportion, measured on the simulated test sets)."""
    se_each = np.sqrt(ctx.measured * (1 - ctx.measured) / N)
    covers = np.abs(ctx.measured - ctx.truth) < 2 * se_each
    share_se = np.sqrt(0.9545 * 0.0455 / ctx.sets)
    said = ctx.verdict(
        verdicts.with_se(
            "share of 2-SE intervals covering the truth vs 95.45%",
            covers.mean(),
            0.9545,
            share_se,
            names=("simulated", "normal curve"),
            kind="proportion",
        ),
        expects=verdicts.NO_DIFFERENCE,
    )
    return {"share that covers 0.9": covers.mean(), "verdict": said}


@lesson.step("what 'beyond 2 SE' buys, and what 'no difference' does not say")
def false_alarms_and_misses(ctx):
    """A verdict compares two measurements: their difference carries the SE
    sqrt(se_a^2 + se_b^2) when they are independent (two test sets). Two equally
    good models differ by more than 2 SE on about 1 pair of test sets in 20:
    that 5% false-alarm rate is what "beyond 2 SE" buys, no more.

    The other way round is weaker. Give one model a real edge of one point (0.91
    against 0.90) and score both on 1,000 images: 0.01 is only about 0.7 SE of
    the difference, under the cut. Count below how often a run sees it, on 1,000
    images and on 10,000. "No difference beyond noise" means this run cannot
    tell them apart, not that they are the same: absence of evidence is not
    evidence of absence. A larger test set (or pairing, next step) sees smaller
    differences."""

    def says_different(p_a, p_b, n):
        a = ctx.rng.binomial(n, p_a, ctx.sets) / n
        b = ctx.rng.binomial(n, p_b, ctx.sets) / n
        se = np.sqrt(a * (1 - a) / n + b * (1 - b) / n)
        return np.mean(np.abs(a - b) >= 2 * se)

    alarms = says_different(0.90, 0.90, N)
    seen = {n: says_different(0.91, 0.90, n) for n in (N, 10 * N)}
    ctx.record(false_alarm_rate=alarms, detection_rate_one_point=seen[N])
    return {
        "equal models read as different": alarms,
        "a 1-point edge seen, 1,000 images": seen[N],
        "a 1-point edge seen, 10,000 images": seen[10 * N],
    }


@lesson.step("two models on the same images: the paired SE")
def paired(ctx):
    """Most comparisons in the course score two models on the same test images.
    Then the two accuracies are not independent: an image one model finds hard
    is usually hard for the other, and most images are right (or wrong) for
    both, which adds nothing to the difference. What varies is the few images
    where they disagree. The paired SE is that of the mean of the per-image
    differences (1 - 0, 0 - 1 or 0): std(a_i - b_i) / sqrt(n).

    Simulated: two models that share most errors; B gets right 2.5% of the
    images A gets wrong, and gets wrong 1% that A gets right (B is 1.5 points
    better). Compare the spread of the difference over many test sets with the
    paired and the unpaired SE computed from one test set, and the two verdicts.
    verdicts.paired takes the two 0/1 vectors; verdicts.accuracies treats the
    two accuracies as independent."""
    n, sets = 2000, ctx.sets // 4
    kind = ctx.rng.choice(4, size=(sets, n), p=[0.89, 0.075, 0.025, 0.01])
    a = (kind == 0) | (kind == 3)  # kind 0: both right, 1: both wrong,
    b = (kind == 0) | (kind == 2)  # 2: only B right, 3: only A right
    differences = a.mean(1) - b.mean(1)
    first = ctx.verdict(
        verdicts.paired(
            "test accuracy, B vs A, one test set", b[0], a[0], names=("B", "A")
        ),
        expects="B",
    )
    unpaired = verdicts.accuracies(
        "the same, unpaired", b[0].mean(), a[0].mean(), n, names=("B", "A")
    )
    return {
        f"spread of A - B, {sets:,} sets": differences.std(),
        "paired SE (first test set)": verdicts.paired("", a[0], b[0]).se,
        "unpaired SE (first test set)": unpaired.se,
        "paired verdict": first,
        "unpaired verdict": unpaired.said,
    }


@lesson.step("a few rounds: the SE is noisy too, so the cut is Student's t")
def few_rounds(ctx):
    """Speeds are measured in rounds: run each program ROUNDS times, and the
    spread of the rounds gives the SE of each mean. With 3 rounds that spread is
    itself a rough guess (often too small), so a 2-SE cut raises more false
    alarms than the 5% it promises. The fix is a century old: Student's t
    distribution says how far a mean of few values strays in units of its
    estimated SE. Its 5% cut for 2 degrees of freedom (3 values less one) is
    4.30 SE; for 4, 2.78; for 30, 2.04 (scipy.stats.t.ppf(0.975, df) below).

    Simulated: two programs of the same true speed (1,000 images/s, rounds
    scattered by 50), timed 3 rounds each, many times over. verdicts.speeds (and
    verdicts.repeated) read such rounds with the t cut for their degrees of
    freedom (Welch's: 2 to 4 for 3 + 3 rounds), never below 2."""
    rates = ctx.rng.normal(1000, 50, size=(ctx.sets // 4, 2, ROUNDS))
    at_two = at_t = 0
    for a, b in rates:
        v = verdicts.speeds("a vs b", a, b)
        at_two += abs(v.a - v.b) >= 2 * v.se
        at_t += not v.verdict.startswith(verdicts.NO_DIFFERENCE)
    cuts = {df: round(stats.t.ppf(0.975, df), 2) for df in (2, 4, 10, 30)}
    ctx.record(
        false_alarms_at_2_se=at_two / len(rates),
        false_alarms_at_t=at_t / len(rates),
    )
    return {
        "t cut, 5%, by degrees of freedom": cuts,
        "equal speeds read as different, 2 SE": at_two / len(rates),
        "the same, at the t cut": at_t / len(rates),
    }


@lesson.step("the bootstrap: an SE where there is no formula")
def bootstrap(ctx):
    """Some figures have no SE formula at hand: a median, an F2 score at a
    chosen threshold (lesson 24), a ratio. The bootstrap finds one from the test set
    alone: draw n images from the n with replacement, recompute the figure, many
    times over; the spread of those figures is its SE. It treats the test set as
    a stand-in for all images, and works when n is not tiny.

    Checked here on the median of per-image losses (drawn from an exponential
    distribution, skewed as losses are): the bootstrap SE from one test set
    against the spread of the median over many fresh test sets."""
    losses = ctx.rng.exponential(0.3, size=(ctx.sets // 8, N))
    medians = np.median(losses, axis=1)  # one per fresh test set
    one = losses[0]
    picks = ctx.rng.integers(0, N, size=(RESAMPLES, N))
    resampled = np.median(one[picks], axis=1)
    ctx.record(bootstrap_se=resampled.std(), median_spread=medians.std())
    return {
        "median loss, first test set": np.median(one),
        "its bootstrap SE (one test set)": resampled.std(),
        "spread over fresh test sets": medians.std(),
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
