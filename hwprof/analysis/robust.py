"""Robust summaries beside the mean: the median with a distribution-free interval, ratios of medians.

A noisy host makes a sample's slow tail long and lumpy (a run that shared its core with a neighbour), and
the mean follows the tail. The median does not, and its interval needs no assumption about the shape of
the distribution: only that the runs are independent and identically distributed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

MEAN, MEDIAN = "mean", "median"
STATISTICS = (MEAN, MEDIAN)
# Bootstrap resamples are drawn in blocks of about this many values, so memory stays bounded for long samples.
BLOCK_VALUES = 1_000_000


def check_statistic(statistic: str) -> str:
    """The statistic's name, or a ValueError that lists the known ones."""
    if statistic not in STATISTICS:
        raise ValueError(f"unknown statistic {statistic!r}; known: {', '.join(STATISTICS)}")
    return statistic


def order_statistic_ranks(n: int, confidence: float = 0.95) -> tuple[int | None, int | None, float]:
    """Ranks (j, k), 1-based, of the narrowest symmetric order-statistic interval for the median, and its coverage.

    For n independent draws of a continuous quantity, the number of draws below the population median is
    Binomial(n, 1/2), so P(X_(j) <= median <= X_(k)) = sum_{i=j}^{k-1} C(n, i) / 2^n whatever the
    distribution. The ranks are j and k = n + 1 - j with the largest j whose coverage is still at least
    `confidence`. When even (min, max) falls short (n too small) the ranks are None and the coverage
    returned is that of (min, max): the most any interval from n values can reach.
    """
    if n < 1:
        raise ValueError("no values")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), not {confidence}")
    from scipy.stats import binom

    below = binom.cdf(np.arange(0, (n + 1) // 2), n, 0.5)     # P(B <= j - 1) for j = 1 .. ceil(n/2)
    coverage = 1 - 2 * below
    reached = np.nonzero(coverage >= confidence)[0]
    if len(reached) == 0:
        return None, None, float(coverage[0])
    j = int(reached[-1]) + 1
    return j, n + 1 - j, float(coverage[j - 1])


@dataclass(frozen=True)
class MedianCI:
    """A sample median with its distribution-free (order-statistic) confidence interval.

    `coverage` is the interval's exact coverage (at least `confidence`: the ranks are whole numbers, so the
    interval is conservative); when n is too small to reach `confidence`, low and high are None and
    `coverage` is the most n values can give.
    """

    n: int
    median: float
    low: float | None
    high: float | None
    confidence: float
    coverage: float

    @property
    def relative(self) -> float | None:
        """Half the interval's width as a fraction of the median (0.02 = known to within 2%)."""
        if self.low is None or self.high is None or self.median == 0:
            return None
        return (self.high - self.low) / 2 / abs(self.median)

    @property
    def note(self) -> str:
        """What the interval is, or why there is none."""
        if self.low is None:
            return (f"n={self.n} is too few for a {self.confidence:.0%} interval of the median: "
                    f"(min, max) of {self.n} values covers it with {self.coverage:.1%} at most")
        return f"order-statistic interval of the median, exact coverage {self.coverage:.1%}"


def median_ci(values: Sequence[float], confidence: float = 0.95) -> MedianCI:
    """Median and its distribution-free order-statistic confidence interval."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    j, k, coverage = order_statistic_ranks(n, confidence)
    median = float(np.median(x))
    if j is None:
        return MedianCI(n, median, None, None, confidence, coverage)
    return MedianCI(n, median, float(x[j - 1]), float(x[k - 1]), confidence, coverage)


@dataclass(frozen=True)
class RatioCI:
    """median(a) / median(b) with a seeded percentile-bootstrap confidence interval."""

    ratio: float | None
    low: float | None
    high: float | None
    n_a: int
    n_b: int
    median_a: float | None
    median_b: float | None
    confidence: float
    resamples: int
    seed: int
    reason: str = ""        # why there is no ratio or no interval; empty when both are there


def bootstrap_medians(values: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Medians of `resamples` resamples (with replacement, of the sample's own size) of `values`."""
    n = len(values)
    block = max(1, BLOCK_VALUES // n)
    out = [np.median(values[rng.integers(0, n, size=(min(block, resamples - start), n))], axis=1)
           for start in range(0, resamples, block)]
    return np.concatenate(out)


def ratio_of_medians(a: Sequence[float], b: Sequence[float], confidence: float = 0.95, resamples: int = 2000,
                     seed: int = 0) -> RatioCI:
    """median(a) / median(b) with a percentile-bootstrap interval, the same for the same seed.

    Each side is resampled on its own (numpy's Generator seeded with `seed`); the interval holds the middle
    `confidence` of the resampled ratios; with four values a side the resampled medians take few values and
    the interval is coarse (about 92% coverage of a 95% interval on lognormal samples). Values must be
    positive (times, counts) for a ratio to mean much; with fewer than two values a side there is a ratio but
    no interval.
    """
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    na, nb = len(xa), len(xb)
    ma = float(np.median(xa)) if na else None
    mb = float(np.median(xb)) if nb else None
    base = dict(n_a=na, n_b=nb, median_a=ma, median_b=mb, confidence=confidence, resamples=resamples, seed=seed)
    if ma is None or mb is None or ma <= 0 or mb <= 0:
        return RatioCI(None, None, None, reason="a ratio needs positive medians on both sides", **base)
    if na < 2 or nb < 2:
        return RatioCI(ma / mb, None, None, reason=f"too few samples (n={na} and n={nb}; need at least 2 each)",
                       **base)
    if xa.min() <= 0 or xb.min() <= 0:
        return RatioCI(ma / mb, None, None, reason="a bootstrap interval of the ratio needs positive values",
                       **base)
    rng = np.random.default_rng(seed)
    ratios = bootstrap_medians(xa, resamples, rng) / bootstrap_medians(xb, resamples, rng)
    low, high = np.quantile(ratios, [(1 - confidence) / 2, (1 + confidence) / 2])
    return RatioCI(ma / mb, float(low), float(high), **base)

