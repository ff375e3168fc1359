"""Rank correlation with an interval: does one quantity order things the way another does?"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class RankCorrelation:
    """Spearman's rho over n pairs, with its confidence interval (None below 4 pairs or for a constant side)."""

    n: int
    rho: float | None
    low: float | None
    high: float | None
    p_exact: float | None = None     # |rho| = 1: the chance of an ordering that extreme by luck (two-sided)

    @property
    def verdict(self) -> str:
        """'orders alike' / 'orders opposite' when the interval excludes 0, else 'no evidence'."""
        if self.rho is not None and self.p_exact is not None:
            if self.p_exact >= 0.05:
                return "no evidence"
            return "orders alike" if self.rho > 0 else "orders opposite"
        if self.low is None or self.high is None:
            return "too few"
        if self.low > 0:
            return "orders alike"
        if self.high < 0:
            return "orders opposite"
        return "no evidence"


def ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties given the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(x: Sequence[float], y: Sequence[float], confidence: float = 0.95) -> RankCorrelation:
    """Spearman's rho (Pearson's r of the ranks) and a Fisher-z interval with Bonett and Wright's variance.

    A perfect ordering (|rho| = 1) has no Fisher interval: its exact chance under no association is given instead.
    The interval uses var(z) = (1 + rho^2 / 2) / (n - 3) (Bonett & Wright, Psychometrika 2000), the usual
    large-sample approximation for Spearman's rho; with few pairs it is approximate and wide, as it should be.
    """
    if len(x) != len(y):
        raise ValueError("x and y differ in length")
    n = len(x)
    if n < 2:
        return RankCorrelation(n, None, None, None)
    rx, ry = ranks(list(x)), ranks(list(y))
    if len(set(rx)) < 2 or len(set(ry)) < 2:
        return RankCorrelation(n, None, None, None)
    rho = statistics.correlation(rx, ry)
    if n < 4:
        return RankCorrelation(n, rho, None, None)
    if abs(rho) > 1 - 1e-12:
        # Fisher's z is infinite here, so there is no interval; what can be said is how likely a perfect
        # ordering of n distinct pairs is by chance: 2 / n! (either direction).
        return RankCorrelation(n, rho, None, None, min(1.0, 2 / math.factorial(n)))
    z = math.atanh(rho)
    half = statistics.NormalDist().inv_cdf(0.5 + confidence / 2) * math.sqrt((1 + rho * rho / 2) / (n - 3))
    return RankCorrelation(n, rho, math.tanh(z - half), math.tanh(z + half))
