"""The frontend backend: hwprof's front-end model (DSB / op cache, legacy decode, L1I) on the traced execute phase.

No machine this project runs on counts IDQ.DSB_UOPS or ICACHE_64B.IFTAG_*, and valgrind's simulator has no uop
cache. This backend runs the measured process under valgrind's lackey (hwprof.frontend.run.TraceBackend: the
cachegrind backend's launch, lackey's block trace in callgrind's place), turns the execute phase's blocks into the
model's input (hwprof.frontend.stream) and runs them through the model (hwprof.frontend.model) with one
microarchitecture's geometry (hwprof/frontend/uarch/<uarch>.toml). Its rows are events/sim-frontend.toml's: the
model's uop and lookup counts, and Table I's metrics under the names the CPU maps give them. Every figure is
modelled and labelled so (backend `frontend`, the model's name and version, the uarch in the flags).

Limits: the execute phase only (the trace is taken between the phase helper's two requests); x86-64 only; the
whole process runs under lackey, so a Python host's start-up makes a cell slower than cachegrind's.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
from pathlib import Path

from hwprof import events as event_maps
from hwprof.backends import BackendError, Count, Launch, Pass, Probe, TreeCounts
from hwprof.data import schema
from hwprof.data.phases import EXECUTE, TOTAL, number
from hwprof.events import Event, EventMap
from hwprof.frontend import model, uarch as uarchs
from hwprof.frontend.run import TraceBackend

SIM_MAP = "sim-frontend"
# The study's i7-8700 is a Coffee Lake core, Skylake's front end: the default keeps cells comparable across hosts.
DEFAULT_UARCH = "skylake"
EXECUTE_ONLY = f"the front-end model traces the {EXECUTE} phase only"


class FrontendBackend(TraceBackend):
    """Modelled DSB / op cache and L1I counts for the execute phase, from a lackey trace of the real run."""

    name = "frontend"
    simulated = True
    OPTIONS = ("uarch",)

    def __init__(self, cpu: int | None = None, uarch: str = "", valgrind: str = "valgrind"):
        super().__init__(valgrind=valgrind)
        try:
            self.uarch = uarchs.load(uarch or DEFAULT_UARCH)
        except uarchs.UarchError as exc:
            raise BackendError(f"--uarch: {exc}") from None

    def flags(self) -> str:
        """The modelled machine and model, recorded with every row."""
        return (f"--uarch={self.uarch.name} --jcc={'on' if self.uarch.jcc_erratum else 'off'} "
                f"--model={model.MODEL_NAME}-{model.MODEL_VERSION}")

    def sim_map(self) -> EventMap:
        """The model's own events and Table I's metrics over them."""
        return event_maps.load(SIM_MAP)

    def probe(self, emap: EventMap, events: list[Event]) -> Probe:
        """valgrind (lackey) and capstone must be here, on x86-64; `events` from the model's map (all when none)."""
        if platform.machine() not in ("x86_64", "AMD64"):
            raise BackendError(f"the frontend backend models x86-64 code; this machine is {platform.machine()}")
        if not shutil.which(self.valgrind):
            raise BackendError("valgrind is not installed (the frontend backend traces with lackey): "
                               "apt-get install valgrind")
        try:
            import capstone  # noqa: F401
        except ImportError:
            raise BackendError("the frontend backend disassembles with capstone: pip install capstone") from None
        version = subprocess.run([self.valgrind, "--version"], capture_output=True, text=True).stdout.strip()
        modelled = tuple(e for e in events if e.kind == "simulated") or tuple(self.sim_map().events.values())
        notes = [f"frontend backend: every DSB and L1I figure is modelled by {model.MODEL_NAME} {model.MODEL_VERSION} "
                 f"for {self.uarch.title} ({self.flags()}) from a {version} lackey trace of the {EXECUTE} phase, "
                 "not measured on this CPU"]
        return Probe(usable=modelled, notes=notes, version=f"{model.MODEL_NAME} {model.MODEL_VERSION} ({version} lackey)")

    def plan(self, probe: Probe, phases: tuple[str, ...], gp_counters: int, whole: bool = False) -> list[Pass]:
        """One traced process when the execute phase is counted; a plain run otherwise (nothing to model), such as
        an ahead-of-time compile measured whole. A target whose run is one whole process is refused."""
        if whole and TOTAL in phases:
            raise BackendError(f"{EXECUTE_ONLY}, and this target has no phase marks (it runs as one whole process)")
        events = probe.usable if EXECUTE in phases else ()
        return [Pass(tuple(phases), events, phases[-1], whole)]

    def prepare(self, argv: list[str], one_pass: Pass, workdir: Path) -> Launch:
        """lackey around the process, the phase helper marking the execute phase alone."""
        launch = super().prepare(argv, one_pass, workdir)
        return Launch(launch.argv, {**launch.env, "HWPROF_COUNT_MASK": str(1 << number(EXECUTE))},
                      workdir=launch.workdir)

    def tree_counts(self, launch: Launch, one_pass: Pass) -> TreeCounts:
        """Not counted here: None, with why."""
        return TreeCounts(None, None, "the front-end model runs on a trace: there is no scheduler to migrate on")

    def read(self, launch: Launch, one_pass: Pass) -> list[Count]:
        """The model's counts for the traced execute phase; the other phases are not counted, and say why."""
        from hwprof.frontend import stream

        super().read(launch, one_pass)
        counted: dict[str, float] = {}
        note = ""
        if self.error or self.result is None:
            note = f"no trace of the {EXECUTE} phase: {self.error or 'the traced process ended without one'}"
        else:
            try:
                got = stream.simulate(self.result, self.uarch)
            except stream.StreamError as exc:
                note = f"the trace cannot be modelled: {exc}"
            else:
                counted = {"model.dsb_uops": got.dsb_hits, "model.mite_uops": got.dsb_misses,
                           "model.l1i_hits": got.l1i_hits, "model.l1i_misses": got.l1i_misses,
                           "model.instructions": got.instructions}
        counts = []
        for phase in one_pass.phases:
            for ev in one_pass.events:
                if phase == EXECUTE and ev.name in counted:
                    counts.append(Count(phase, ev.name, float(counted[ev.name]), schema.OK, ev.unit,
                                        note=f"modelled ({self.flags()})"))
                else:
                    counts.append(Count(phase, ev.name, None, schema.NOT_COUNTED, ev.unit,
                                        note=note if phase == EXECUTE else EXECUTE_ONLY))
        return counts
