"""When a campaign cell stops: converged, stopped at its noise floor, at its maximum, or failed.

The rule (decide) is a pure function of a cell's runs and its policy, so a resumed campaign decides as the
killed one would have. How the saved runs are spent across cells (the pool) is
the campaign's (state.decisions).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from hwprof.analysis import robust
from hwprof.analysis.verdict import Estimate, summarize, t_quantile

CONVERGED, NOISE_FLOOR, AT_MAX, FAILED = "converged", "noise-floor", "max", "failed"
STOPS = (CONVERGED, NOISE_FLOOR, AT_MAX, FAILED)
FLOOR_MIN_RUNS = 6       # fewer runs say too little about a cell's spread to give up on it
EXTRA_CAP = 2            # a cell given runs from the pool stops at EXTRA_CAP x its maximum
MAD_TO_SD = 1.4826       # the median absolute deviation of a normal sample times this estimates its sd
# A cell is given up on only when the target is out of reach even for the low end of this one-sided interval
# of its spread: a spread read from six runs is itself uncertain, and guessing it high would give up on cells
# that would converge.
GIVE_UP_CONFIDENCE = 0.90
# The MAD's efficiency against the standard deviation on normal samples (36.7%): a MAD from n runs says about
# as much about the spread as an sd from 0.367 (n - 1) + 1 runs.
MAD_EFFICIENCY = 0.367


@dataclass(frozen=True)
class Evidence:
    """A cell's finished runs as the rule reads them: stopping values, flags and calibration slowdowns."""

    values: tuple[float, ...]
    flagged: tuple[bool, ...] = ()                # per run; missing entries count as not flagged
    slowdowns: tuple[float | None, ...] = ()      # per run: calibration loop slowdown, None where not run

    def used(self, exclude_disturbed: bool) -> tuple[list[float], list[float]]:
        """The values the statistic takes, and the calibration slowdowns measured around those runs."""
        out, slow = [], []
        for i, v in enumerate(self.values):
            if exclude_disturbed and i < len(self.flagged) and self.flagged[i]:
                continue
            out.append(v)
            s = self.slowdowns[i] if i < len(self.slowdowns) else None
            if s is not None:
                slow.append(s)
        return out, slow

    @property
    def n_flagged(self) -> int:
        """How many runs their noise record flagged."""
        return sum(bool(f) for f in self.flagged[:len(self.values)])


@dataclass(frozen=True)
class Decision:
    """Whether a cell stops and why, with the figures that decided it."""

    stop: str | None              # one of STOPS, or None: it needs more runs
    reason: str                   # one line; for a noise-floor stop, the evidence
    runs: int                     # finished runs, flagged ones included
    n: int                        # runs the statistic takes
    excluded: int                 # flagged runs left out of it
    estimate: Estimate | None
    relative: float | None        # the interval's half-width over the statistic
    projected: float | None       # the half-width projected at the budget (None below FLOOR_MIN_RUNS)


@lru_cache(maxsize=None)
def interval_min_runs(statistic: str, confidence: float) -> int:
    """The fewest runs with which the statistic has an interval at this confidence (mean 2; median 6 at 95%)."""
    if robust.check_statistic(statistic) == robust.MEAN:
        return 2
    n = 1
    while robust.order_statistic_ranks(n, confidence)[0] is None:
        n += 1
    return n


def spread(values: Sequence[float], statistic: str) -> float | None:
    """Relative spread in the statistic's own terms: sd / mean, or 1.4826 MAD / median; None below two values."""
    if len(values) < 2:
        return None
    if statistic == robust.MEAN:
        center = statistics.fmean(values)
        return statistics.stdev(values) / abs(center) if center else None
    center = statistics.median(values)
    mad = statistics.median(abs(v - center) for v in values)
    return MAD_TO_SD * mad / abs(center) if center else None


def optimistic(spread_value: float | None, n: int, statistic: str) -> float | None:
    """The low end of the GIVE_UP_CONFIDENCE one-sided interval of a spread read from n values (chi-square)."""
    if spread_value is None or n < 2:
        return None
    from scipy.stats import chi2

    df = (n - 1) * (MAD_EFFICIENCY if statistic == robust.MEDIAN else 1.0)
    return spread_value * math.sqrt(df / float(chi2.ppf(GIVE_UP_CONFIDENCE, df)))


def _width_factor(statistic: str, n: float, confidence: float) -> float:
    """Interval half-width per unit of relative spread, times sqrt(n): Student's t, or z sqrt(pi/2) for the median."""
    if statistic == robust.MEAN:
        return t_quantile(0.5 + confidence / 2, max(n - 1, 1))
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2)) * math.sqrt(math.pi / 2)


def project(own_spread: float | None, host_spread: float | None, n_final: float, statistic: str,
            confidence: float) -> tuple[float, float]:
    """The interval's half-width projected at n_final runs: (from the cell's own spread, from the host's).

    Each is the half-width that spread gives at n_final runs, shrinking at the 1/sqrt(n) rate (Student's t
    for the mean; z sqrt(pi/2) for the median, whose spread is read from the MAD so one outlier does not
    count as spread). The host's interference, measured by the spread of the calibration loop's slowdowns
    around the cell's runs, is a spread no run of the cell escapes: the larger of the two counts.
    """
    factor = _width_factor(statistic, n_final, confidence) / math.sqrt(n_final)
    return factor * (own_spread or 0.0), factor * (host_spread or 0.0)


def decide(ev: Evidence, policy, budget: int | None = None, failure: str | None = None) -> Decision:
    """Whether a cell with these runs stops, by its policy (a spec.Repetitions) and budget (default its max).

    In order: failed (a run failed); converged (at least `min` runs and the statistic's interval within
    `target_ci` of it); max (`budget` runs, flagged ones included); noise-floor (at least `min`, FLOOR_MIN_RUNS
    and the statistic's own minimum, and the half-width projected at the budget still over the target:
    the runs left are the budget's remainder, less the share the cell's runs have lost to flags when they are
    excluded, and the projection is bounded below by the host's spread measured by the calibration loop).
    """
    budget = policy.max if budget is None else budget
    runs = len(ev.values)
    used, slow = ev.used(policy.exclude_disturbed)
    excluded = runs - len(used)
    est = summarize(used, policy.statistic, policy.confidence) if used else None
    rel = est.relative if est else None
    base = dict(runs=runs, n=len(used), excluded=excluded, estimate=est, relative=rel)
    if failure:
        return Decision(FAILED, failure, projected=None, **base)
    if len(used) >= policy.min and rel is not None and rel <= policy.target_ci:
        return Decision(CONVERGED, f"interval +-{100 * rel:.1f}% after {len(used)} runs", projected=None, **base)
    if runs >= budget:
        return Decision(AT_MAX, f"{budget} runs, interval " + (f"+-{100 * rel:.1f}%" if rel is not None else
                                                              "not yet defined"), projected=None, **base)
    floor_min = max(policy.min, FLOOR_MIN_RUNS, interval_min_runs(policy.statistic, policy.confidence))
    if len(used) < floor_min or rel is None:
        return Decision(None, "", projected=None, **base)
    kept = 1 - excluded / runs if policy.exclude_disturbed else 1.0
    n_final = len(used) + (budget - runs) * kept
    host = optimistic(spread(slow, policy.statistic), len(slow), policy.statistic)
    own, floor = project(optimistic(spread(used, policy.statistic), len(used), policy.statistic), host, n_final,
                         policy.statistic, policy.confidence)
    if max(own, floor) <= policy.target_ci:
        return Decision(None, "", projected=max(own, floor), **base)
    return Decision(NOISE_FLOOR, _floor_reason(policy, rel, len(used), budget, own, floor, slow, host, ev, excluded),
                    projected=max(own, floor), **base)


def _floor_reason(policy, rel, n, budget, own, floor, slow, host, ev: Evidence, excluded: int) -> str:
    """'noise floor: its median interval is +-6.1% after 8 runs; ...' with the calibration and flag evidence."""
    how = ("at the 1/sqrt(n) rate, from the low end of its spread's 90% interval, it would still be" if own >= floor
           else "the host's spread alone (the low end of its 90% interval) would keep it at")
    text = (f"noise floor: its {policy.statistic} interval is +-{100 * rel:.1f}% after {n} runs; {how} "
            f"+-{100 * max(own, floor):.1f}% at max {budget} (target {100 * policy.target_ci:g}%)")
    if slow:
        text += (f"; calibration loop slowdown median {statistics.median(slow):.2f}x"
                 + (f", spread {100 * host:.1f}%" if host is not None else ""))
    else:
        text += "; no calibration loop evidence"
    runs = len(ev.values)
    text += f"; {ev.n_flagged} of {runs} runs flagged" + (f" ({excluded} excluded)" if excluded else "")
    return text
