"""Counter backends: how the events of a phase get counted (perf, cachegrind, VTune, the front-end model).

A backend is a small protocol: `probe` says what it can count here, `plan` splits the events into
passes, `prepare` wraps the measured command for one pass, `read` turns its output into counts, and
`explain` turns the backend's own complaint about a failed pass into one line (or None), and
`tree_counts` gives the measured tree's CPU migrations and context switches as disturbance evidence.
Add one by writing a module with a class like PerfBackend and one line in BACKENDS.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from hwprof.events import Event, EventMap


class BackendError(Exception):
    """A backend that cannot run here, with the one line that says why and what to do."""


@dataclass(frozen=True)
class Count:
    """One reading: an event's value over one phase of one process."""

    phase: str
    event: str
    value: float | None
    status: str
    unit: str = ""
    running_pct: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Pass:
    """One run of the measured process: the phases it counts and the events it counts in them."""

    phases: tuple[str, ...]
    events: tuple[Event, ...]
    stop_after: str
    whole: bool = False        # count the whole process (tree): no phase edges inside it


@dataclass
class Probe:
    """What a backend can do on this machine."""

    usable: tuple[Event, ...]                 # events it will count
    missing: dict[str, str] = field(default_factory=dict)   # event -> why it cannot be counted here
    notes: list[str] = field(default_factory=list)          # said once to the user
    version: str = ""


@dataclass
class Launch:
    """A prepared measured process: argv, environment additions, fds to pass, where output lands."""

    argv: list[str]
    env: dict[str, str]
    pass_fds: tuple[int, ...] = ()
    workdir: Path | None = None
    close_fds: tuple[int, ...] = ()


@dataclass(frozen=True)
class TreeCounts:
    """The measured process tree's CPU migrations and context switches in its counted phases (None: why)."""

    cpu_migrations: int | None
    context_switches: int | None
    why: str = ""            # '' when counted; else why not (a simulator, no perf in this pass)


class Backend(Protocol):
    """The counter-backend protocol."""

    name: str
    simulated: bool
    OPTIONS: tuple[str, ...]        # keyword options its constructor takes beyond cpu (geometry)

    def flags(self) -> str: ...      # the simulated machine ("" for a measuring backend)

    def sim_map(self) -> EventMap | None: ...    # a simulator's own events and metrics (None: the CPU's map)

    def probe(self, emap: EventMap, events: list[Event]) -> Probe: ...

    def plan(self, probe: Probe, phases: tuple[str, ...], gp_counters: int, whole: bool = False) -> list[Pass]: ...

    def prepare(self, argv: list[str], one_pass: Pass, workdir: Path) -> Launch: ...

    def read(self, launch: Launch, one_pass: Pass) -> list[Count]: ...

    def explain(self, launch: Launch) -> str | None: ...

    def tree_counts(self, launch: Launch, one_pass: Pass) -> TreeCounts: ...   # disturbance evidence, not rows


BACKENDS = {
    "perf": "hwprof.backends.perf:PerfBackend",
    "cachegrind": "hwprof.backends.cachegrind:CachegrindBackend",
    "vtune": "hwprof.backends.vtune:VTuneBackend",
    "frontend": "hwprof.backends.frontend:FrontendBackend",
}


def backend_class(name: str) -> type:
    """The class registered as backend `name` (its `simulated` says whether it measures this machine)."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r} (choose from: {', '.join(BACKENDS)})")
    module, cls = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def get(name: str, **options) -> Backend:
    """Instantiate a backend by name (every backend takes cpu=, the measured CPU; options it does not take are ignored)."""
    backend = backend_class(name)
    return backend(**{k: v for k, v in options.items() if k == "cpu" or k in backend.OPTIONS})


def phase_passes(phases: tuple[str, ...], groups: list[tuple[Event, ...]], whole: bool = False) -> list[Pass]:
    """One pass per (phase, event group): each process counts exactly one phase, so counts never mix.

    `whole`: the process (and its children) is counted from exec to exit as that one phase. With nothing
    to count here (every event asked for is unsupported), one uncounted pass still times every phase.
    """
    if not any(groups):
        return [timing_pass(phases, whole)]
    return [Pass((ph,), g, ph, whole) for ph in phases for g in groups]


def timing_pass(phases: tuple[str, ...], whole: bool = False) -> Pass:
    """A pass that counts nothing: the process runs bare and its phase marks give every phase's time."""
    return Pass(tuple(phases), (), phases[-1], whole)
