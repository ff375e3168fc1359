"""The perf backend: `perf stat` with --control, one phase per process, events grouped to avoid multiplexing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from hwprof.backends import BackendError, Count, Launch, Pass, Probe, TreeCounts, phase_passes
from hwprof.data import schema
from hwprof.data.cpu import SYSFS_PMUS, core_pmus
from hwprof.data.provenance import paranoid_level
from hwprof.events import Event, EventMap
from hwprof.native import PHASES

SEP = ";"
INSTALL_HINT = "install it: apt-get install linux-perf (Debian) or linux-tools-$(uname -r) (Ubuntu)"
# Counted in every perf pass, after the events asked for, as disturbance evidence (never rows): software
# events take no PMU counter, so they cost no multiplexing, and perf prints them last, in this order.
TREE_EVENTS = ("cpu-migrations", "context-switches")


def parse_stat_csv(text: str, sep: str = SEP) -> list[dict]:
    """Parse `perf stat -x SEP` output: one dict per counter line, <not supported>/<not counted> kept as statuses.

    Lines are: value, unit, event, counter run time, percentage running, [metric value, metric unit].
    With -I a timestamp comes first; it is detected and kept.
    """
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        f = line.split(sep)
        timestamp = None
        if len(f) >= 6 and _is_number(f[0]) and not _is_number(f[2]) and _looks_like_value(f[1]):
            timestamp, f = float(f[0]), f[1:]
        if len(f) < 5:
            continue
        raw = f[0].strip()
        if raw == "<not supported>":
            value, status = None, schema.NOT_SUPPORTED
        elif raw == "<not counted>":
            value, status = None, schema.NOT_COUNTED
        elif _is_number(raw):
            value, status = float(raw), schema.OK
        else:
            continue
        rows.append({
            "value": value, "status": status, "unit": f[1].strip(), "event": f[2].strip(),
            "run_ns": float(f[3]) if _is_number(f[3]) else None,
            "running_pct": float(f[4]) if _is_number(f[4]) else None,
            "timestamp": timestamp,
        })
    return rows


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _looks_like_value(s: str) -> bool:
    return _is_number(s) or s.strip() in ("<not supported>", "<not counted>")


def group_events(events: list[Event], gp_counters: int) -> list[tuple[Event, ...]]:
    """Split events into groups a PMU can count at once: at most gp_counters programmable events each.

    Fixed-counter events ride in the first group; software events, which take no PMU counter, too.
    Events keep their map order, so a metric's events (listed together in the maps) stay together.
    """
    free = [e for e in events if e.kind == "software" or e.fixed]
    programmable = [e for e in events if not (e.kind == "software" or e.fixed)]
    groups = [programmable[i:i + gp_counters] for i in range(0, len(programmable), max(gp_counters, 1))] or [[]]
    groups[0] = free + groups[0]
    return [tuple(g) for g in groups if g]


def probe_pmu(perf: str = "perf") -> tuple[bool, str]:
    """Can perf count a hardware event here? Returns (usable, why not). Raises BackendError when perf cannot run."""
    if not shutil.which(perf):
        raise BackendError(f"perf is not installed ({perf!r} not on PATH): {INSTALL_HINT}")
    try:
        done = subprocess.run([perf, "stat", "-x", SEP, "-e", "task-clock,cycles", "--", "true"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BackendError(f"perf could not be run: {exc}") from None
    err = done.stderr
    if done.returncode != 0:
        if "paranoid" in err or "Permission" in err or "Access to performance monitoring" in err:
            raise BackendError(
                f"perf is not permitted to count (kernel.perf_event_paranoid={paranoid_level()}): run as root, "
                "or `sudo sysctl -w kernel.perf_event_paranoid=1` (or grant CAP_PERFMON)")
        last = err.strip().splitlines()[-1] if err.strip() else f"exit {done.returncode}"
        raise BackendError(f"perf stat failed: {last}")
    cycles = {r["event"]: r for r in parse_stat_csv(err)}.get("cycles", {})
    if cycles.get("status") == schema.OK:
        return True, ""
    return False, "no hardware PMU: perf reports <not supported> for cycles (typical of VMs and containers)"


_TREE_ARGS = [arg for e in TREE_EVENTS for arg in ("-e", e)]


class PerfBackend:
    """Counts events with the real `perf stat`, enabling counters only inside the phase of each pass."""

    name = "perf"
    simulated = False
    OPTIONS: tuple[str, ...] = ()

    def flags(self) -> str:
        """Nothing simulated: no machine settings of its own."""
        return ""

    def sim_map(self) -> None:
        """It counts the CPU's own events."""
        return None

    def __init__(self, cpu: int | None = None, use_aliases: bool = False, perf: str = "perf",
                 sysfs: Path = SYSFS_PMUS):
        self.cpu = cpu
        self.use_aliases = use_aliases
        self.perf = perf
        self.sysfs = sysfs
        self.pmu: str | None = None
        self.prefix_generic = False

    def choose_pmu(self, emap: EventMap) -> None:
        """The core PMU raw events go to: the map's, else (Arm) the one whose CPUs hold the measured CPU.

        Where several core PMUs exist (hybrid x86, Arm clusters), generic events are prefixed with
        it too, so each opens once, on the CPU type that runs the workload.
        """
        pmus = core_pmus(self.sysfs)
        self.pmu = emap.pmu
        if self.pmu is None and self.cpu is not None:
            self.pmu = next((name for name, cpus in pmus.items() if self.cpu in cpus), None)
        self.prefix_generic = len(pmus) > 1 and self.pmu in pmus

    def _check_installed(self) -> None:
        if not shutil.which(self.perf):
            raise BackendError(f"perf is not installed ({self.perf!r} not on PATH): {INSTALL_HINT}")

    def probe(self, emap: EventMap, events: list[Event]) -> Probe:
        """Find out whether perf runs and whether a hardware PMU is there; decide which events to count."""
        self._check_installed()
        self.choose_pmu(emap)
        has_pmu, detail = probe_pmu(self.perf)
        version = subprocess.run([self.perf, "--version"], capture_output=True, text=True).stdout.strip()
        probe = Probe(usable=tuple(events), version=version)
        if not has_pmu:
            probe.usable = tuple(e for e in events if e.kind == "software")
            probe.missing = {e.name: detail for e in events if e.kind != "software"}
            probe.notes.append(f"hardware events are unavailable here ({detail}); counting software events only. "
                               "For simulated cache and branch figures use --backend cachegrind.")
        return probe

    def plan(self, probe: Probe, phases: tuple[str, ...], gp_counters: int, whole: bool = False) -> list[Pass]:
        """One pass per phase and event group."""
        return phase_passes(phases, group_events(list(probe.usable), gp_counters), whole)

    def _event_args(self, events: tuple[Event, ...]) -> list[str]:
        args = []
        software = [e for e in events if e.kind == "software"]
        hardware = [e for e in events if e.kind != "software"]
        for e in software:
            args += ["-e", e.perf_spec(self.pmu, self.use_aliases)]
        if hardware:
            specs = [e.perf_spec(self.pmu, self.use_aliases, self.prefix_generic) for e in hardware]
            args += ["-e", "{" + ",".join(specs) + "}" if len(specs) > 1 else specs[0]]
        return args

    def order(self, events: tuple[Event, ...]) -> list[Event]:
        """The order perf prints the pass's events in (software first, then the group)."""
        return [e for e in events if e.kind == "software"] + [e for e in events if e.kind != "software"]

    def prepare(self, argv: list[str], one_pass: Pass, workdir: Path) -> Launch:
        """perf stat around the measured process, counters off until the phase's edge enables them."""
        self._check_installed()
        if not one_pass.events:
            return Launch(list(argv), {}, workdir=workdir)    # nothing to count: no perf, marks only
        out = workdir / "perf-stat.csv"
        if one_pass.whole:
            # The whole process tree (perf stat follows children), no phase edges.
            cmd = [self.perf, "stat", "-x", SEP, "-o", str(out)] + self._event_args(one_pass.events) + _TREE_ARGS
            cmd += ["--"] + argv
            return Launch(cmd, {}, workdir=workdir)
        ctl_r, ctl_w = os.pipe()
        ack_r, ack_w = os.pipe()
        phase_bits = sum(1 << PHASES.index(p) for p in one_pass.phases)
        cmd = [self.perf, "stat", "-x", SEP, "-o", str(out), "--control", f"fd:{ctl_r},{ack_w}"]
        if "bootstrap" not in one_pass.phases:
            # Counters start disabled; the bootstrap pass counts from exec until the host says it is ready.
            cmd.append("--delay=-1")
        cmd += self._event_args(one_pass.events) + _TREE_ARGS + ["--"] + argv
        env = {"HWPROF_CTL_FD": str(ctl_w), "HWPROF_ACK_FD": str(ack_r), "HWPROF_COUNT_MASK": str(phase_bits),
               "HWPROF_CLOSE_FDS": f"{ctl_r},{ack_w}"}
        fds = (ctl_r, ctl_w, ack_r, ack_w)
        return Launch(cmd, env, pass_fds=fds, workdir=workdir, close_fds=fds)

    def explain(self, launch: Launch) -> str | None:
        """perf's reason for refusing an event (this CPU or this perf lacks it), as one line."""
        log = launch.workdir / "launcher.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        if "event syntax error" in text or "Cannot find PMU" in text or "unknown term" in text:
            event = re.search(r"event syntax error: '([^']*)'", text)
            reason = [ln.strip(" \\_") for ln in text.splitlines() if "\\___" in ln]
            what = f"event {event.group(1)!r}" if event else "an event"
            return f"perf cannot count {what} here: {reason[0] if reason else 'event syntax error'}"
        return None

    def _rows(self, launch: Launch, one_pass: Pass) -> list[dict]:
        path = launch.workdir / "perf-stat.csv"
        try:
            rows = parse_stat_csv(path.read_text())
        except OSError:
            raise BackendError(f"perf wrote no output ({path})") from None
        expected = len(one_pass.events) + len(TREE_EVENTS)
        if len(rows) != expected:
            raise BackendError(f"perf printed {len(rows)} counters for {len(one_pass.events)} events and "
                               f"{len(TREE_EVENTS)} of the tree's; output in {path}")
        return rows

    def read(self, launch: Launch, one_pass: Pass) -> list[Count]:
        """Counts of the pass's phase, matched to the events in the order perf prints them."""
        if not one_pass.events:
            return []
        rows = self._rows(launch, one_pass)[:len(one_pass.events)]
        phase = one_pass.phases[0]
        counts = []
        for ev, row in zip(self.order(one_pass.events), rows):
            pct = row["running_pct"]
            note = f"scaled: counter ran {pct:.1f}% of the phase (multiplexed)" if pct is not None and pct < 100 and row["status"] == schema.OK else ""
            counts.append(Count(phase, ev.name, row["value"], row["status"], ev.unit or row["unit"], pct, note))
        return counts

    def tree_counts(self, launch: Launch, one_pass: Pass) -> TreeCounts:
        """The measured tree's migrations and context switches in the pass's phase (perf's software events)."""
        if not one_pass.events:
            return TreeCounts(None, None, "this pass counted no event, so it ran without perf")
        try:
            rows = self._rows(launch, one_pass)[len(one_pass.events):]
        except BackendError as exc:
            return TreeCounts(None, None, str(exc))
        got = {r["event"]: r for r in rows}
        bad = [e for e in TREE_EVENTS if got.get(e, {}).get("status") != schema.OK]
        if bad:
            return TreeCounts(None, None, f"perf did not count {', '.join(bad)} here")
        return TreeCounts(int(got["cpu-migrations"]["value"]), int(got["context-switches"]["value"]))
