"""Is A faster than B? Ratios of means (Welch intervals) or medians (bootstrap), effect sizes and a verdict.

The verdict answers what Sightglass's users asked for (its issue #192): not only "changed" or "not
changed" but also "unsure" when the samples cannot tell. A difference is called only when the whole
confidence interval of the ratio lies on one side of 1; "same" needs the whole interval inside the
equivalence margin; anything else is "unsure", never a silent "no change".
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Sequence

from hwprof.analysis import robust

FASTER, SLOWER, SAME, UNSURE = "faster", "slower", "same", "unsure"
VERDICTS = (FASTER, SLOWER, SAME, UNSURE)


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with df degrees of freedom (df may be fractional: Welch)."""
    from scipy.stats import t

    return float(t.ppf(p, df))


@dataclass(frozen=True)
class MeanCI:
    """A sample mean with the half-width of its confidence interval."""

    n: int
    mean: float
    half_width: float | None      # None with fewer than two values

    @property
    def relative(self) -> float | None:
        """Half-width as a fraction of the mean (0.02 = the mean is known to within 2%)."""
        if self.half_width is None or self.mean == 0:
            return None
        return self.half_width / abs(self.mean)


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> MeanCI:
    """Mean and Student-t confidence half-width of a sample."""
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = statistics.fmean(values)
    if n < 2:
        return MeanCI(n, mean, None)
    sd = statistics.stdev(values)
    return MeanCI(n, mean, t_quantile(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n))


@dataclass(frozen=True)
class Estimate:
    """A sample's chosen statistic (mean or median) with the ends of its confidence interval."""

    statistic: str
    center: float
    low: float | None            # None when the sample is too small for an interval
    high: float | None
    n: int

    @property
    def relative(self) -> float | None:
        """Half the interval's width over the statistic (0.02 = known to within 2%); None without an interval."""
        if self.low is None or self.high is None or self.center == 0:
            return None
        return (self.high - self.low) / 2 / abs(self.center)


def summarize(values: Sequence[float], statistic: str = robust.MEAN, confidence: float = 0.95) -> Estimate:
    """The mean with its Student-t interval, or the median with its order-statistic interval."""
    if not len(values):
        raise ValueError("no values")
    if robust.check_statistic(statistic) == robust.MEDIAN:
        m = robust.median_ci(values, confidence)
        return Estimate(statistic, m.median, m.low, m.high, m.n)
    ci = mean_ci([float(v) for v in values], confidence)
    if ci.half_width is None:
        return Estimate(statistic, ci.mean, None, None, ci.n)
    return Estimate(statistic, ci.mean, ci.mean - ci.half_width, ci.mean + ci.half_width, ci.n)


@dataclass(frozen=True)
class Comparison:
    """mean(a) / mean(b), or median(a) / median(b), with its confidence interval, an effect size and the
    verdict for a against b.

    For times, "faster" means a takes less time than b (ratio < 1). `statistic` says which ratio it is.
    """

    ratio: float | None
    low: float | None
    high: float | None
    verdict: str
    n_a: int
    n_b: int
    mean_a: float | None
    mean_b: float | None
    hedges_g: float | None        # standardized mean difference (a - b), small-sample corrected
    confidence: float
    margin: float
    reason: str
    statistic: str = robust.MEAN
    median_a: float | None = None
    median_b: float | None = None

    @property
    def change_pct(self) -> float | None:
        """(ratio - 1) in percent: -20 means a takes 20% less than b."""
        return None if self.ratio is None else 100 * (self.ratio - 1)

    def to_dict(self) -> dict:
        """JSON form, with the percentage change."""
        return {**asdict(self), "change_pct": self.change_pct}


def hedges_g(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Hedges' g of a against b; None when it is undefined (too few values, or no spread at all)."""
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return None
    pooled = ((na - 1) * statistics.variance(a) + (nb - 1) * statistics.variance(b)) / (na + nb - 2)
    if pooled == 0:
        return None
    correction = 1 - 3 / (4 * (na + nb) - 9)
    return correction * (statistics.fmean(a) - statistics.fmean(b)) / math.sqrt(pooled)


def decide(low: float, high: float, confidence: float, margin: float) -> tuple[str, str]:
    """The verdict on a ratio's interval and the reason for it: one set of rules for every statistic."""
    if high < 1:
        return FASTER, f"the whole {confidence:.0%} interval is below 1"
    if low > 1:
        return SLOWER, f"the whole {confidence:.0%} interval is above 1"
    if 1 - margin <= low and high <= 1 + margin:
        return SAME, f"the whole {confidence:.0%} interval is within 1 +- {margin:g}"
    return UNSURE, (f"the {confidence:.0%} interval [{low:.3f}, {high:.3f}] holds 1 and reaches "
                    f"beyond 1 +- {margin:g}: more samples or a quieter machine needed")


def compare(a: Sequence[float], b: Sequence[float], confidence: float = 0.95, margin: float = 0.02,
            statistic: str = robust.MEAN, resamples: int = 2000, seed: int = 0) -> Comparison:
    """Compare two samples of a positive quantity (times, counts) by the ratio of their means or medians.

    For means the interval is Welch's for the difference of log-means (delta method, Welch-Satterthwaite
    degrees of freedom), so it is asymmetric around the ratio and never crosses 0. For medians it is the
    seeded percentile bootstrap of robust.ratio_of_medians (`resamples`, `seed`). `margin`: a ratio within
    1 +- margin counts as "same" when the whole interval lies inside it.
    """
    a, b = [float(x) for x in a], [float(x) for x in b]
    if robust.check_statistic(statistic) == robust.MEDIAN:
        return compare_medians(a, b, confidence, margin, resamples, seed)
    na, nb = len(a), len(b)
    ma = statistics.fmean(a) if a else None
    mb = statistics.fmean(b) if b else None
    base = dict(n_a=na, n_b=nb, mean_a=ma, mean_b=mb, confidence=confidence, margin=margin,
                median_a=statistics.median(a) if a else None, median_b=statistics.median(b) if b else None)
    if na < 2 or nb < 2:
        ratio = ma / mb if ma is not None and mb else None
        return Comparison(ratio, None, None, UNSURE, hedges_g=None,
                          reason=f"too few samples (n={na} and n={nb}; need at least 2 each)", **base)
    if ma <= 0 or mb <= 0:
        return Comparison(None, None, None, UNSURE, hedges_g=hedges_g(a, b),
                          reason="a ratio needs positive means", **base)
    ratio = ma / mb
    va, vb = statistics.variance(a) / (na * ma * ma), statistics.variance(b) / (nb * mb * mb)
    se = math.sqrt(va + vb)
    if se == 0:
        low = high = ratio       # no spread at all: the ratio is exact
    else:
        df = (va + vb) ** 2 / (va * va / (na - 1) + vb * vb / (nb - 1))
        t = t_quantile(0.5 + confidence / 2, df)
        low, high = ratio * math.exp(-t * se), ratio * math.exp(t * se)
    verdict, reason = decide(low, high, confidence, margin)
    return Comparison(ratio, low, high, verdict, hedges_g=hedges_g(a, b), reason=reason, **base)


def compare_medians(a: list[float], b: list[float], confidence: float, margin: float, resamples: int,
                    seed: int) -> Comparison:
    """compare() on medians: the bootstrap interval of the ratio of medians, judged by the same rules."""
    r = robust.ratio_of_medians(a, b, confidence, resamples, seed)
    base = dict(n_a=r.n_a, n_b=r.n_b, mean_a=statistics.fmean(a) if a else None,
                mean_b=statistics.fmean(b) if b else None, median_a=r.median_a, median_b=r.median_b,
                hedges_g=hedges_g(a, b), confidence=confidence, margin=margin, statistic=robust.MEDIAN)
    if r.low is None:
        return Comparison(r.ratio, None, None, UNSURE, reason=r.reason, **base)
    verdict, reason = decide(r.low, r.high, confidence, margin)
    return Comparison(r.ratio, r.low, r.high, verdict, reason=f"{reason} (ratio of medians, {resamples} "
                      f"bootstrap resamples, seed {seed})", **base)
