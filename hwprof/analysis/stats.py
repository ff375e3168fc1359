"""Summaries of repeated measurements (pyperf's statistics: mean, standard deviation, median), each with the
confidence interval of the statistic chosen to report (mean: Student t; median: order statistics)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from hwprof.analysis import robust, verdict
from hwprof.data import schema
from hwprof.data.schema import Record

ALL_EXCLUDED = "every repetition was left out as disturbed"


@dataclass(frozen=True)
class Summary:
    """One (phase, name) over the repetitions, with the chosen statistic's interval (low, high)."""

    phase: str
    name: str
    kind: str
    unit: str
    n: int
    mean: float | None
    stdev: float | None
    median: float | None
    status: str
    note: str = ""
    statistic: str = robust.MEAN
    low: float | None = None             # None, with interval_note saying why, when n is too small
    high: float | None = None
    confidence: float = 0.95
    interval_note: str = ""
    excluded: int = 0                    # repetitions left out as disturbed

    @property
    def cv(self) -> float | None:
        """Run-to-run coefficient of variation (stdev / mean)."""
        if self.mean in (None, 0) or self.stdev is None:
            return None
        return self.stdev / abs(self.mean)

    @property
    def value(self) -> float | None:
        """The chosen statistic's value (the mean or the median)."""
        return self.median if self.statistic == robust.MEDIAN else self.mean

    @property
    def relative(self) -> float | None:
        """Half the interval's width as a fraction of the statistic (0.02 = known to within 2%)."""
        if self.low is None or self.high is None or not self.value:
            return None
        return (self.high - self.low) / 2 / abs(self.value)

    def to_dict(self) -> dict:
        """JSON form, with the coefficient of variation and the interval's relative half-width."""
        return {**self.__dict__, "cv": self.cv, "relative": self.relative}


def describe(values: list[float]) -> tuple[float, float | None, float]:
    """Mean, sample standard deviation (None for one value) and median, computed by pyperf where it can.

    pyperf refuses values <= 0 (a count of zero migrations is a real value), so such series use the
    standard library's same formulas (pyperf computes with statistics.fmean/stdev/median too).
    """
    try:
        import pyperf

        run = pyperf.Run(values, metadata={"name": "hwprof"}, collect_metadata=False)
        bench = pyperf.Benchmark([run])
        return bench.mean(), (bench.stdev() if len(values) > 1 else None), bench.median()
    except ValueError:
        return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None), statistics.median(values)


def interval(values: list[float], statistic: str, confidence: float) -> tuple[float | None, float | None, str]:
    """The chosen statistic's interval (low, high) and what it is, or (None, None, why there is none)."""
    if statistic == robust.MEDIAN:
        m = robust.median_ci(values, confidence)
        return m.low, m.high, m.note
    est = verdict.summarize(values, robust.MEAN, confidence)
    if est.low is None:
        return None, None, f"n={est.n}: an interval of the mean needs at least 2 values"
    return est.low, est.high, f"Student-t {confidence:.0%} interval of the mean"


def summarize(records: list[Record], statistic: str = robust.MEAN, confidence: float = 0.95,
              exclude: frozenset[int] = frozenset()) -> list[Summary]:
    """One summary per (phase, name) in first-seen order; missing values never enter a statistic, and the
    repetitions in `exclude` (flagged as disturbed) are left out and counted."""
    robust.check_statistic(statistic)
    groups: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        if r.kind == schema.INFO or r.repetition < 0:
            continue
        groups.setdefault((r.phase, r.name), []).append(r)
    out = []
    for (phase, name), rs in groups.items():
        excluded = len({r.repetition for r in rs if r.repetition in exclude})
        kept = [r for r in rs if r.repetition not in exclude]
        values = [float(r.value) for r in kept if r.status == schema.OK and r.value is not None]
        first = rs[0]
        base = dict(phase=phase, name=name, kind=first.kind, unit=first.unit, statistic=statistic,
                    confidence=confidence, excluded=excluded)
        if values:
            mean, stdev, median = describe(values)
            low, high, about = interval(values, statistic, confidence)
            out.append(Summary(n=len(values), mean=mean, stdev=stdev, median=median, status=schema.OK,
                               note="; ".join(sorted({r.note for r in kept if r.note})), low=low, high=high,
                               interval_note=about, **base))
        elif not kept:
            out.append(Summary(n=0, mean=None, stdev=None, median=None, status=schema.UNAVAILABLE,
                               note=ALL_EXCLUDED, interval_note=ALL_EXCLUDED, **base))
        else:
            out.append(Summary(n=0, mean=None, stdev=None, median=None, status=kept[0].status, note=kept[0].note,
                               **base))
    return out


def stopping_value(records: list[Record]) -> float | None:
    """The statistic repetitions adapt on: execute wall time (per invocation when warm; `total` if no execute)."""
    for phase in ("execute", "total"):
        times = [r.value for r in records if r.phase == phase and r.name == "wall_time" and r.status == schema.OK]
        if times:
            return sum(times) / len(times)
    return None
