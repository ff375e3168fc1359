"""Turning one repetition's counts and phase times into tidy records, derived metrics included."""

from __future__ import annotations

from dataclasses import dataclass

from hwprof.backends import Count
from hwprof.data import schema
from hwprof.data.schema import Identity, Record
from hwprof.events import EventMap, Metric


@dataclass
class RecordBuilder:
    """Everything every row of a collect shares, and the maps its metrics come from."""

    identity: Identity
    simulated: bool
    emap: EventMap
    metric_map: EventMap
    metrics: dict[str, Metric]
    missing: dict[str, str]
    absent: dict[str, str] | None = None    # standard metrics no map here defines -> why

    def record(self, rep, phase, name, kind, value, unit, status=schema.OK, boundary="", running_pct=None, note="",
               iteration=0) -> Record:
        """One row with this collect's identity."""
        return self.identity.record(repetition=rep, phase=phase, name=name, kind=kind, value=value, unit=unit,
                                    status=status, boundary=boundary, running_pct=running_pct, note=note,
                                    iteration=iteration)

    def error(self, rep: int, phase: str, failure: str) -> Record:
        """The row that says a repetition failed, and why."""
        return self.record(rep, phase or "total", "error", schema.INFO, None, "", schema.ERROR, note=failure)

    def phase_records(self, rep: int, phase: str, counts: list[Count], times: list[float], boundary: str,
                      per: int = 1, counted: bool = True) -> list[Record]:
        """Wall time (one row per invocation), events and metrics of one phase (only its time if not `counted`).

        `per` > 1: the counters ran over that many warm invocations together; rows hold the mean per
        invocation (iteration -1), since one process's counters cannot be split between invocations.
        """
        out = [self.record(rep, phase, "wall_time", schema.TIME, t, "s", boundary=boundary, iteration=i)
               for i, t in enumerate(times)]
        if not counted:
            return out
        mean = per > 1
        note = f"mean per invocation of {per} warm invocations counted together" if mean else ""
        iteration = -1 if mean else 0
        for c in counts:
            value = c.value / per if (mean and c.value is not None) else c.value
            out.append(self.record(rep, phase, c.event, schema.EVENT, value, c.unit, c.status, boundary,
                                   c.running_pct, "; ".join(x for x in (c.note, note) if x), iteration))
        for name, why in self.missing.items():
            unit = self.emap.events[name].unit if name in self.emap.events else ""
            status = schema.UNAVAILABLE if self.simulated else schema.NOT_SUPPORTED
            out.append(self.record(rep, phase, name, schema.EVENT, None, unit, status, boundary, note=why))
        values = {c.event: (c.value if c.status == schema.OK else None) for c in counts}
        return out + self.metric_records(rep, phase, values, boundary, iteration)

    def metric_records(self, rep: int, phase: str, values: dict, boundary: str, iteration: int = 0) -> list[Record]:
        """Every wanted metric of the phase: its value, or unavailable with the reason."""
        out = []
        for name, metric in self.metrics.items():
            source = self.metric_map.metrics.get(name)
            if source is None:
                out.append(self.record(rep, phase, name, schema.METRIC, None, metric.unit, schema.UNAVAILABLE,
                                       boundary, note=f"the {self.identity.backend} backend cannot give it", iteration=iteration))
                continue
            value = source.formula.evaluate(values)
            if value is None:
                missing = [n for n in source.formula.names if values.get(n) is None]
                note = f"needs {', '.join(missing)}" if missing else "division by zero"
                out.append(self.record(rep, phase, name, schema.METRIC, None, source.unit, schema.UNAVAILABLE,
                                       boundary, note=note, iteration=iteration))
            else:
                out.append(self.record(rep, phase, name, schema.METRIC, value, source.unit, boundary=boundary,
                                       iteration=iteration))
        for name, why in (self.absent or {}).items():
            out.append(self.record(rep, phase, name, schema.METRIC, None, "", schema.UNAVAILABLE, boundary, note=why,
                                   iteration=iteration))
        return out
