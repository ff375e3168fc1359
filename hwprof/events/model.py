"""The event-map data model: an event, a metric and a resolved map (what it counts, what it lacks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hwprof.data.cpu import CpuId
from hwprof.events.formula import Formula
from hwprof.events.mapfile import identity_matches
from hwprof.events.standard import NOT_ON_MICROARCH, STANDARD_METRICS, EventMapError


@dataclass(frozen=True)
class Event:
    """One countable event: the name formulas use, perf's alias and its raw encoding."""

    name: str
    perf: str = ""
    encoding: tuple[tuple[str, int], ...] = ()
    raw: tuple[tuple[str, int], ...] = ()
    kind: str = "core"
    fixed: bool = False
    unit: str = ""
    desc: str = ""

    def perf_spec(self, pmu: str | None, use_alias: bool = False, prefix_generic: bool = False) -> str:
        """How perf's -e should name this event.

        A core event is written from its raw fields (`raw` where the table's code is a pseudo-code
        for a fixed counter), so it works whatever tables this perf has; `use_alias` asks for perf's
        name instead. Generic events get a PMU prefix where several core PMUs would each open them.
        """
        if self.kind == "generic":
            return f"{pmu}/{self.perf}/" if prefix_generic and pmu else self.perf
        fields = self.raw or self.encoding
        if self.kind != "core" or use_alias or not fields or (self.fixed and not self.raw):
            return self.perf
        if pmu:
            return f"{pmu}/" + ",".join(f"{k}={v:#x}" for k, v in fields) + "/"
        return f"r{dict(fields).get('event', 0):x}"


@dataclass(frozen=True)
class Metric:
    """A derived figure: a formula over events, with its unit."""

    name: str
    formula: Formula
    unit: str = ""
    desc: str = ""


@dataclass
class EventMap:
    """A resolved event map: its own and inherited events and metrics."""

    name: str
    title: str = ""
    pmu: str | None = None
    gp_counters: int = 4
    abstract: bool = False
    extends: list[str] = field(default_factory=list)
    x86: list[str] = field(default_factory=list)
    arm: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    events: dict[str, Event] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)   # standard metric -> why this core has none
    perf_table: str = ""
    path: Path | None = None

    @property
    def is_arm(self) -> bool:
        """An Arm map (raw events written rNN, no PMU format fields beyond `event`)."""
        return bool(self.arm) or (self.pmu is None and any(e.kind == "core" for e in self.events.values()))

    def absent(self, name: str) -> str:
        """Why a standard metric has no value under this map ('' when the map defines it)."""
        if name in self.metrics:
            return ""
        if name in self.unavailable:
            return f"{NOT_ON_MICROARCH} ({self.title or self.name}): {self.unavailable[name]}"
        return f"not in map {self.name!r}: it has no event for it"

    def matches(self, cpu: CpuId) -> bool:
        """True when this map's [match] patterns cover the CPU, as perf's mapfile would."""
        return identity_matches(cpu, self.x86, self.arm)

    def select(self, names: list[str] | None) -> list[Event]:
        """The events to count: the named ones (metrics expand to their events), or all of them.

        A standard metric this map lacks selects nothing (it is reported as absent, with `absent`'s
        reason); any other unknown name is an error.
        """
        if not names:
            return list(self.events.values())
        chosen: list[str] = []
        for n in names:
            if n in self.metrics:
                chosen += [e for e in self.metrics[n].formula.names if e not in chosen]
            elif n in self.events:
                chosen += [] if n in chosen else [n]
            elif n not in STANDARD_METRICS:
                raise EventMapError(f"event or metric {n!r} is not in map {self.name!r} (try: hwprof events show {self.name})")
        return [self.events[n] for n in chosen if n in self.events]
