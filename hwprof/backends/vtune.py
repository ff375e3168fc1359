"""The VTune backend: Intel VTune Profiler's custom hardware event sampling (runsa), one phase per run.

VTune samples rather than counts: each figure is its samples times the event's sample-after value,
an estimate, and every row says so. Phase scoping: VTune starts the process paused (-start-paused;
the bootstrap pass runs from exec) and the phase helper resumes and pauses it at the phase's edges
through ITT's collection control API (phasectl.c, HWPROF_VTUNE). The helper writes whether it
reached VTune's collector to a status file, and read() turns a failure into notes and statuses.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from pathlib import Path

from hwprof.backends import BackendError, Count, Launch, Pass, Probe, TreeCounts, phase_passes
from hwprof.backends.perf import group_events
from hwprof.data import schema
from hwprof.events import Event, EventMap
from hwprof.native import PHASES

RESULT_DIR = "vtune-result"
REPORT = "vtune-hw-events.csv"
STATUS = "vtune-scope.txt"
INSTALL_HINT = ("install Intel VTune Profiler (standalone, or with the Intel oneAPI Base Toolkit) and source "
                "its environment script (source /opt/intel/oneapi/setvars.sh, or <install-dir>/setvars.sh) "
                "so that `vtune` is on PATH")
ESTIMATE_NOTE = "estimated by VTune from samples (samples x sample-after value)"
# "Hardware Event Count:INST_RETIRED.ANY", with ":Self"/":Total" in hierarchical views and, in
# some versions' listings, a scale such as " (K)".
_EVENT_COLUMN = re.compile(r"^Hardware Event Count:(?P<event>.+?)(?::(?P<part>Self|Total))?"
                           r"(?:\s*\((?P<scale>[KMG])\))?$")
_SCALE = {None: 1.0, "K": 1e3, "M": 1e6, "G": 1e9}


def parse_hw_events_csv(text: str, delimiter: str = ",") -> dict[str, float | None]:
    """Per-event totals of a `vtune -report hw-events -format csv` table: each event column summed over its rows.

    An event whose cells are all empty or not numbers (VTune's "N/A", "Not collected") maps to None.
    Lines before the header (vtune's own messages when the report goes to stdout) are skipped.
    """
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if "Hardware Event Count:" in line), None)
    if start is None:
        return {}
    rows = list(csv.reader(io.StringIO("\n".join(lines[start:])), delimiter=delimiter))
    columns: dict[str, tuple[int, float, str | None]] = {}
    for i, title in enumerate(rows[0]):
        m = _EVENT_COLUMN.match(title.strip())
        if m and (m["event"] not in columns or m["part"] == "Self"):
            columns[m["event"]] = (i, _SCALE[m["scale"]], m["part"])
    totals: dict[str, float | None] = {}
    for event, (i, scale, _) in columns.items():
        values = [_number(row[i]) for row in rows[1:] if i < len(row)]
        values = [v for v in values if v is not None]
        totals[event] = sum(values) * scale if values else None
    return totals


def _number(cell: str) -> float | None:
    try:
        return float(cell.strip())
    except ValueError:
        return None


def scope_problem(path: Path) -> str:
    """Why VTune's collection was not scoped to the phase, from the helper's status file; "" when it was."""
    try:
        line = path.read_text().strip()
    except OSError:
        return "the measured process never loaded hwprof's phase helper, so nothing marked the phase for VTune"
    return "" if line == "scoped" else line.removeprefix("unscoped:").strip() or line


class VTuneBackend:
    """Counts events with Intel VTune Profiler's hardware event-based sampling, one phase per process."""

    name = "vtune"
    simulated = False
    OPTIONS: tuple[str, ...] = ()

    def flags(self) -> str:
        """Nothing simulated: no machine settings of its own."""
        return ""

    def sim_map(self) -> None:
        """It counts the CPU's own events."""
        return None

    def __init__(self, cpu: int | None = None, vtune: str = "vtune"):
        self.vtune = vtune

    def _check_installed(self) -> None:
        if not shutil.which(self.vtune):
            raise BackendError(f"VTune is not installed ({self.vtune!r} not on PATH): {INSTALL_HINT}")

    def probe(self, emap: EventMap, events: list[Event]) -> Probe:
        """Check that vtune is there and record its version; VTune takes the CPU's own (vendor) event names."""
        self._check_installed()
        try:
            done = subprocess.run([self.vtune, "--version"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            raise BackendError(f"vtune could not be run: {exc}") from None
        version = next((line.strip() for line in done.stdout.splitlines() if line.strip()), "")
        missing = {}
        for e in events:
            if e.kind == "software":
                missing[e.name] = "a software event: VTune's hardware sampling does not count it"
            elif e.kind != "core":
                missing[e.name] = (f"a perf {e.kind} event: VTune takes only the CPU's own event names "
                                   f"(the core events of map {emap.name!r})")
        usable = tuple(e for e in events if e.name not in missing)
        notes = [f"vtune backend: {ESTIMATE_NOTE}, scoped to each phase through ITT pause/resume"]
        return Probe(usable=usable, missing=missing, notes=notes, version=version)

    def plan(self, probe: Probe, phases: tuple[str, ...], gp_counters: int, whole: bool = False) -> list[Pass]:
        """One pass per phase and event group, so VTune never multiplexes and counts never mix."""
        return phase_passes(phases, group_events(list(probe.usable), gp_counters), whole)

    def prepare(self, argv: list[str], one_pass: Pass, workdir: Path) -> Launch:
        """vtune -collect-with runsa around the measured process, paused until the phase's edge resumes it."""
        self._check_installed()
        if not one_pass.events:
            return Launch(list(argv), {}, workdir=workdir)    # nothing to count: no VTune, marks only
        if len(one_pass.phases) != 1:
            raise BackendError(f"a VTune pass counts one phase, not {', '.join(one_pass.phases)}")
        phase = one_pass.phases[0]
        cmd = [self.vtune, "-collect-with", "runsa",
               "-knob", "event-config=" + ",".join(e.name for e in one_pass.events),
               "-result-dir", str(workdir / RESULT_DIR), "-no-summary"]
        if one_pass.whole:
            # Ahead-of-time work (a toolchain run): the whole process tree, from exec to exit.
            return Launch(cmd + ["--"] + argv, {}, workdir=workdir)
        if phase != "bootstrap":
            # The bootstrap pass collects from exec until the host pauses it at the end of bootstrap.
            cmd.append("-start-paused")
        cmd += ["--"] + argv
        env = {"HWPROF_VTUNE": "1", "HWPROF_VTUNE_MASK": str(1 << PHASES.index(phase)),
               "HWPROF_VTUNE_STATUS": str(workdir / STATUS)}
        return Launch(cmd, env, workdir=workdir)

    def report_command(self, workdir: Path) -> list[str]:
        """The vtune command that writes the result's per-process event totals as CSV."""
        return [self.vtune, "-report", "hw-events", "-result-dir", str(workdir / RESULT_DIR),
                "-group-by", "process", "-show-as", "events", "-format", "csv", "-csv-delimiter", "comma",
                "-report-output", str(workdir / REPORT)]

    def explain(self, launch: Launch) -> str | None:
        """VTune's error line, if it printed one."""
        log = launch.workdir / "launcher.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        errors = [ln.strip() for ln in text.splitlines() if ln.startswith("vtune: Error")]
        return errors[0] if errors else None

    def tree_counts(self, launch: Launch, one_pass: Pass) -> TreeCounts:
        """Not counted here: None, with why."""
        return TreeCounts(None, None, "the vtune backend does not count software scheduler events")

    def read(self, launch: Launch, one_pass: Pass) -> list[Count]:
        """The pass's phase counts, matched to its events by name in VTune's hw-events report."""
        if not one_pass.events:
            return []
        self._check_installed()
        out = launch.workdir / REPORT
        done = subprocess.run(self.report_command(launch.workdir), capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            why = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or [f"exit {done.returncode}"]
            raise BackendError(f"vtune -report hw-events failed: {why[0]}")
        problem = "" if one_pass.whole else scope_problem(launch.workdir / STATUS)
        return counts_for_pass(parse_hw_events_csv(out.read_text()), one_pass, problem)


def counts_for_pass(totals: dict[str, float | None], one_pass: Pass, problem: str = "") -> list[Count]:
    """One Count per event of the pass, matched by name; `problem` says why the phase was not scoped."""
    phase = one_pass.phases[0]
    folded = {k.upper(): v for k, v in totals.items()}
    counts = []
    for ev in one_pass.events:
        found = ev.name.upper() in folded
        value = totals[ev.name] if ev.name in totals else folded.get(ev.name.upper())
        if problem and phase != "bootstrap":
            # Collection started paused and nothing resumed it: whatever VTune shows is not this phase.
            counts.append(Count(phase, ev.name, None, schema.NOT_COUNTED, ev.unit, note=f"not scoped: {problem}"))
        elif not found:
            counts.append(Count(phase, ev.name, None, schema.NOT_COUNTED, ev.unit,
                                note="VTune's hw-events report has no column for this event"))
        elif value is None:
            counts.append(Count(phase, ev.name, None, schema.NOT_COUNTED, ev.unit,
                                note="VTune left the event's cells empty (not collected)"))
        elif problem:
            counts.append(Count(phase, ev.name, value, schema.OK, ev.unit,
                                note=f"{ESTIMATE_NOTE}; whole process, not scoped to bootstrap: {problem}"))
        else:
            counts.append(Count(phase, ev.name, value, schema.OK, ev.unit, note=ESTIMATE_NOTE))
    return counts
