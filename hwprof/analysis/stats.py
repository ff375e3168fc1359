"""Summaries of repeated measurements (pyperf's statistics: mean, standard deviation, median)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from hwprof.data import schema
from hwprof.data.schema import Record


@dataclass(frozen=True)
class Summary:
    """One (phase, name) over the repetitions."""

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

    @property
    def cv(self) -> float | None:
        """Run-to-run coefficient of variation (stdev / mean)."""
        if self.mean in (None, 0) or self.stdev is None:
            return None
        return self.stdev / abs(self.mean)

    def to_dict(self) -> dict:
        """JSON form, with the coefficient of variation."""
        return {**self.__dict__, "cv": self.cv}


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


def summarize(records: list[Record]) -> list[Summary]:
    """One summary per (phase, name) in first-seen order; missing values never enter a mean."""
    groups: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        if r.kind == schema.INFO or r.repetition < 0:
            continue
        groups.setdefault((r.phase, r.name), []).append(r)
    out = []
    for (phase, name), rs in groups.items():
        values = [r.value for r in rs if r.status == schema.OK and r.value is not None]
        first = rs[0]
        if values:
            mean, stdev, median = describe([float(v) for v in values])
            out.append(Summary(phase, name, first.kind, first.unit, len(values), mean, stdev, median, schema.OK,
                               "; ".join(sorted({r.note for r in rs if r.note}))))
        else:
            out.append(Summary(phase, name, first.kind, first.unit, 0, None, None, None, first.status, first.note))
    return out
