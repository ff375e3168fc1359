"""The one tidy row type every hwprof number travels in."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from hwprof.data import phases

# History of the on-disk format (bump on any change a reader must know about):
#   1  2026-11  first format: one JSON document per repetition, {format_version, provenance, records}.
#   2  2026-11  records gain `iteration` (warm invocations: 0..N-1 per invocation, -1 for a mean over
#               them); version-1 files load with iteration 0.
#   3  2026-11  records gain `sweep` (the simulated machine's setting a sweep varied, e.g. "l1i_size=16KiB");
#               run files may carry a `timeline` (each measured process's phases, events and phase
#               edges, for traces).
#               Older files load with sweep "" and no timeline.
#   4  2026-12  records gain `input` (what the module was given: argv, env names, stdin digest, invoked export;
#               "" for a workload run as bundled), so runs with different inputs never pool; run provenance
#               gains `inputs`, `wasm_features`, `memory_limit`, `timeout_s` and `noise`. Older files load with input "".
#   5  2026-12  records gain `scope` (the part of the program a figure covers when it is not the whole run:
#               `hwprof codegen`'s "module" or "function=NAME"); older files load with scope "".
FORMAT_VERSION = 5

# Record.status values. Anything but OK carries value None: an unmeasured number is never 0.
OK = "ok"
NOT_SUPPORTED = "not_supported"   # the counter does not exist here (perf's <not supported>)
NOT_COUNTED = "not_counted"       # it exists but never ran (perf's <not counted>, e.g. multiplexed out)
UNAVAILABLE = "unavailable"       # this backend cannot give it (e.g. a DSB metric on a cache simulator)
ERROR = "error"                   # the run failed (trap, timeout, crash): see note
STATUSES = (OK, NOT_SUPPORTED, NOT_COUNTED, UNAVAILABLE, ERROR)

# Record.kind values.
EVENT = "event"     # a raw count from a backend
METRIC = "metric"   # derived from events by an event map formula
TIME = "time"       # a wall-clock duration measured by the harness
INFO = "info"       # a fact about the run (exit code, checksum) kept as a row


@dataclass(frozen=True)
class Record:
    """One measured or derived number, with everything needed to know what it is."""

    runtime: str
    runtime_version: str
    runtime_flags: str
    workload: str
    size: str
    invocation: str          # cold | warm
    repetition: int
    phase: str               # one of phases.ALL
    name: str                # the event or metric name
    kind: str                # EVENT | METRIC | TIME | INFO
    value: float | None
    unit: str
    status: str = OK
    backend: str = ""
    boundary: str = ""       # how the phase's edges were found: one of phases.BOUNDARIES, or ""
    running_pct: float | None = None   # perf's share of the phase the counter really ran (multiplexing)
    note: str = ""
    iteration: int = 0       # warm mode: which invocation (-1: a mean over the process's invocations)
    sweep: str = ""          # a sweep point's setting, "key=value[; key=value]" (e.g. l1i_size=16KiB); "" elsewhere
    input: str = ""          # what the module was given beyond the workload's own arguments; "" for none
    scope: str = ""          # the code a figure covers where not the whole run: "module", "function=NAME"; "" elsewhere

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        if self.status != OK and self.value is not None:
            raise ValueError(f"{self.name}: a {self.status} record carries no value")
        if self.value is not None and isinstance(self.value, float) and math.isnan(self.value):
            raise ValueError(f"{self.name}: NaN is not a value; use a status")
        if self.boundary and self.boundary not in phases.BOUNDARIES:
            raise ValueError(f"{self.name}: unknown boundary {self.boundary!r} (one of: {', '.join(phases.BOUNDARIES)})")

    def to_dict(self) -> dict:
        """The record as a plain dict (its JSON form)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Record":
        """Rebuild a record from its JSON form, ignoring fields a newer writer added."""
        known = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in d.items() if k in known}
        if fields.get("boundary"):
            fields["boundary"] = phases.boundary(fields["boundary"])   # an older store's free text, named
        return cls(**fields)


@dataclass(frozen=True)
class Identity:
    """What every row of one run shares (who ran what, how); `record` makes its rows, by keyword only."""

    runtime: str
    runtime_version: str = ""
    runtime_flags: str = ""
    workload: str = ""
    size: str = ""
    invocation: str = "cold"
    backend: str = ""
    sweep: str = ""
    input: str = ""
    scope: str = ""

    def record(self, *, repetition: int, phase: str, name: str, kind: str, value: float | None, unit: str,
               **rest) -> Record:
        """One row of this run (rest: status, boundary, running_pct, note, iteration)."""
        return Record(**dataclasses.asdict(self), repetition=repetition, phase=phase, name=name, kind=kind,
                      value=value, unit=unit, **rest)


RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(Record))
# Provenance keys copied onto every row when a store is loaded.
PROVENANCE_COLUMNS = ("machine", "cpu", "microarch", "arch", "kernel", "perf_version", "hwprof_version", "disturbed")
COLUMNS = ("run_id", "timestamp") + PROVENANCE_COLUMNS + RECORD_FIELDS
