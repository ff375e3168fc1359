"""The cachegrind backend: valgrind's cache and branch simulator, scoped to phases.

Valgrind 3.19's cachegrind cannot be switched on and off from inside the program, callgrind can,
and callgrind runs the same I1/D1/LL and branch simulation. So this backend runs callgrind with
--cache-sim=yes --branch-sim=yes and has the phase helper dump its statistics at every phase end.
Every figure it gives is simulated and labelled so.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
from pathlib import Path

from hwprof import events as event_maps
from hwprof.backends import BackendError, Count, Launch, Pass, Probe, TreeCounts
from hwprof.data import schema
from hwprof.data.phases import HOSTED, MARKED, number
from hwprof.events import Event, EventMap

SIM_MAP = "sim-cachegrind"
# The study's i7-8700: 32 KiB 8-way L1I and L1D, 64 B lines. Its 12 MiB LL has no power-of-two set
# count, which valgrind requires, so the default LL is the nearest valid 8 MiB 16-way.
DEFAULT_GEOMETRY = {"I1": "32768,8,64", "D1": "32768,8,64", "LL": "8388608,16,64"}
_GEOMETRY = re.compile(r"^\d+,\d+,\d+$")


def parse_callgrind_dump(text: str) -> tuple[str, dict[str, float]]:
    """The trigger (phase name for client-request dumps) and the event totals of one callgrind output file."""
    trigger, names, totals = "", [], None
    for line in text.splitlines():
        if line.startswith("desc: Trigger:"):
            trigger = line.split(":", 2)[2].strip()
        elif line.startswith("events:"):
            names = line.split()[1:]
        elif line.startswith("summary:") or (line.startswith("totals:") and totals is None):
            totals = [float(x) for x in line.split()[1:]]
    if not names or totals is None:
        raise BackendError("a callgrind output file without events/summary lines")
    phase = trigger[len("Client Request:"):].strip() if trigger.startswith("Client Request:") else ""
    return phase, dict(zip(names, totals))


def parse_geometry(items: list[str]) -> tuple[tuple[str, str], ...]:
    """`--sim-cache` items (I1=32768,8,64) as (level, geometry) pairs, each checked."""
    pairs = []
    for item in items:
        level, sep, spec = str(item).partition("=")
        if not sep or level.upper() not in DEFAULT_GEOMETRY:
            raise BackendError(f"--sim-cache {item!r} must look like I1=32768,8,64 (levels: "
                               f"{', '.join(DEFAULT_GEOMETRY)})")
        pairs.append((level, spec))
    check_geometry(dict(pairs))
    return tuple(pairs)


def check_geometry(geometry: dict[str, str]) -> dict[str, str]:
    """Validate cache geometry 'size,assoc,line' per level, as valgrind wants it (power-of-two sets)."""
    merged = {**DEFAULT_GEOMETRY, **{k.upper(): v for k, v in geometry.items()}}
    for level, spec in merged.items():
        if level not in DEFAULT_GEOMETRY:
            raise BackendError(f"unknown cache level {level!r} (use I1, D1 or LL)")
        if not _GEOMETRY.match(spec):
            raise BackendError(f"cache geometry {level}={spec!r} must be size,assoc,line_size in bytes")
        size, assoc, line = (int(x) for x in spec.split(","))
        sets = size // max(assoc * line, 1)
        if sets < 1 or sets & (sets - 1) or size != sets * assoc * line:
            raise BackendError(f"cache geometry {level}={spec}: size/(assoc*line) must be a power of two")
    return merged


class CachegrindBackend:
    """Simulated I1/D1/LL and branch prediction per phase under valgrind."""

    name = "cachegrind"
    simulated = True
    OPTIONS = ("geometry", "per_instruction")

    def __init__(self, cpu: int | None = None, geometry: dict[str, str] | None = None, valgrind: str = "valgrind",
                 per_instruction: bool = False):
        self.geometry = check_geometry(geometry or {})
        self.valgrind = valgrind
        # Costs per instruction address and jumps with their counts as well (hwprof.codegen.hot reads them),
        # and JIT hosts asked for a perf map of their code to name those addresses.
        self.per_instruction = per_instruction

    def flags(self) -> str:
        """The simulated machine, recorded with every row."""
        return " ".join(f"--{k}={v}" for k, v in self.geometry.items())

    def sim_map(self) -> EventMap:
        """The simulator's own events and metrics."""
        return event_maps.load(SIM_MAP)

    def probe(self, emap: EventMap, events: list[Event]) -> Probe:
        """Check valgrind is there; `events` come from the simulator's own map (all of them when none were named)."""
        if not shutil.which(self.valgrind):
            raise BackendError("valgrind is not installed: apt-get install valgrind")
        version = subprocess.run([self.valgrind, "--version"], capture_output=True, text=True).stdout.strip()
        simulated = tuple(e for e in events if e.kind == "simulated") or tuple(self.sim_map().events.values())
        notes = [f"cachegrind backend: every cache and branch figure is simulated by {version} ({self.flags()}), "
                 "not measured on this CPU"]
        return Probe(usable=simulated, notes=notes, version=version)

    def plan(self, probe: Probe, phases: tuple[str, ...], gp_counters: int, whole: bool = False) -> list[Pass]:
        """One process simulates every phase: each phase's statistics are dumped at its end."""
        order = HOSTED
        last = max(phases, key=lambda p: order.index(p) if p in order else -1)
        return [Pass(tuple(phases), probe.usable, last, whole)]

    def prepare(self, argv: list[str], one_pass: Pass, workdir: Path) -> Launch:
        """valgrind --tool=callgrind around the measured process.

        Collection runs from exec when the pass has a bootstrap phase (ended by the host's ready mark) or
        counts the whole process tree; otherwise it starts off and the phase edges toggle it.
        """
        # The simulated caches and predictor carry state from start-up into each phase, so start-up must
        # be identical run to run: a fixed address layout and a fixed Python hash seed.
        fixed_layout = ["setarch", platform.machine(), "-R"] if shutil.which("setarch") else []
        # A whole process tree: one output file per process (%p), all summed by read().
        out = workdir / ("callgrind.out.%p" if one_pass.whole else "callgrind.out")
        cmd = fixed_layout + [self.valgrind, "--tool=callgrind", f"--callgrind-out-file={out}",
               "--cache-sim=yes", "--branch-sim=yes", "--dump-instr=no", "--compress-strings=no",
               "--collect-atstart=" + ("yes" if one_pass.whole or "bootstrap" in one_pass.phases else "no")]
        cmd += ["--trace-children=yes"] if one_pass.whole else []
        cmd += ["--dump-instr=yes", "--collect-jumps=yes"] if self.per_instruction else []   # the later one counts
        cmd += [f"--{k}={v}" for k, v in self.geometry.items()] + ["--"] + argv
        mask = sum(1 << number(p) for p in one_pass.phases if p in MARKED)
        env = {"HWPROF_CALLGRIND": "1", "HWPROF_COUNT_MASK": str(mask), "PYTHONHASHSEED": "0"}
        env.update({"HWPROF_PERF_MAP": "1"} if self.per_instruction else {})
        return Launch(cmd, env, workdir=workdir)

    def explain(self, launch: Launch) -> str | None:
        """valgrind's own fatal message, if it printed one."""
        log = launch.workdir / "launcher.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        fatal = [ln.split("==", 2)[-1].strip() for ln in text.splitlines() if "valgrind: " in ln and "error" in ln.lower()]
        return f"valgrind failed: {fatal[0]}" if fatal else None

    def tree_counts(self, launch: Launch, one_pass: Pass) -> TreeCounts:
        """Not counted here: None, with why."""
        return TreeCounts(None, None, "cachegrind simulates one CPU: there is no scheduler to migrate on")

    def read(self, launch: Launch, one_pass: Pass) -> list[Count]:
        """Sum the per-phase dumps (a phase marked several times is summed) into counts."""
        sums: dict[str, dict[str, float]] = {}
        for path in sorted(launch.workdir.glob("callgrind.out*")):
            phase, totals = parse_callgrind_dump(path.read_text())
            if one_pass.whole:
                phase = one_pass.phases[0]   # every process of the tree, from start to exit
            if phase:
                acc = sums.setdefault(phase, {})
                for k, v in totals.items():
                    acc[k] = acc.get(k, 0.0) + v
        counts = []
        for phase in one_pass.phases:
            for ev in one_pass.events:
                if phase in sums and ev.name in sums[phase]:
                    counts.append(Count(phase, ev.name, sums[phase][ev.name], schema.OK, ev.unit))
                else:
                    counts.append(Count(phase, ev.name, None, schema.NOT_COUNTED, ev.unit,
                                        note="no callgrind dump for this phase"))
        return counts
