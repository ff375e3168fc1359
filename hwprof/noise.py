"""What disturbed a repetition: steal time, other processes on the measured CPU, context switches, migrations,
frequency, the calibration loop's slowdown and clock drift.

Sampled by the controller just before and after each measured process, from /proc/stat (the measured
CPU's jiffies), the controller's children's rusage and /proc/cpuinfo, beside the calibration loop's time
and counter rate and the backend's count of the tree's migrations; a repetition sums its processes.
On the VMs hwprof is built on, steal reads 0 while the host still slows the guest, so steal alone is
never taken as proof of a quiet machine: foreign load and involuntary switches are kept beside it.
A flagged repetition stays in the store; its provenance says why (`disturbed`), and summaries count them.

The machine-wide checks `sources()` runs for `hwprof doctor` (governor, turbo, SMT sibling, isolated CPUs,
steal since boot) read sysfs and procfs only.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hwprof.backends import TreeCounts
    from hwprof.calibration import Calibration

# A repetition is flagged when, over its measured processes' lifetimes, the hypervisor stole more than
# STEAL_PCT of the measured CPU, or other processes used more than FOREIGN_PCT of it.
STEAL_PCT = 2.0
FOREIGN_PCT = 10.0
# ... or when the calibration loop (hwprof.calibration) ran more than CALIBRATION_PCT slower than the session's
# quietest run of it. Its best of three spans 1.44-1.57 ms between quiet moments on the project's VMs (under
# 10%); 25% is well clear of that spread, so what it flags is the CPU being taken away, not the loop's jitter.
# A task sharing the CPU through the guest scheduler barely shows here (the loop arrives with a fresh time
# slice and finishes inside it): that is foreign_cpu_pct's job; this catches what the guest cannot see.
CALIBRATION_PCT = 25
# ... or when the time-stamp counter's rate against CLOCK_MONOTONIC moved by more than TSC_DRIFT_PPM between the
# calibrations around a process. Each rate spans one calibration (3.4-4.5 ms) between two stamps whose
# brackets are ~40 ns wide, so pairing alone errs at most ~20 ppm; 1,500 back-to-back pairs on the project's
# VM (quiet, a real-time hog on the CPU, both CPUs busy, other helpers' benchmarks) moved at most 0.83 ppm.
# 100 ppm is clear of both, and below what moves a clock for real: an NTP daemon slewing (ntpd up to
# 500 ppm), a VM resumed on a host whose TSC runs at another rate, a clocksource change. Then the phase
# times, read from CLOCK_MONOTONIC, are suspect.
TSC_DRIFT_PPM = 100
CLK_TCK = os.sysconf("SC_CLK_TCK")
SYS_CPU = Path("/sys/devices/system/cpu")


@dataclass(frozen=True)
class Sample:
    """One reading of the measured CPU and of the controller's finished children."""

    ns: int
    busy: int          # jiffies the CPU ran anything (user, nice, system, irq, softirq, steal excluded)
    steal: int         # jiffies the hypervisor ran something else on it
    child_cpu_s: float  # user + system seconds of waited-for children (the measured process trees)
    child_nvcsw: int
    child_nivcsw: int
    mhz: float | None


def _cpu_jiffies(cpu: int, stat: str | None = None) -> tuple[int, int]:
    """(busy, steal) jiffies of one CPU from /proc/stat ((0, 0) when unreadable)."""
    try:
        text = stat if stat is not None else Path("/proc/stat").read_text()
    except OSError:
        return 0, 0
    for line in text.splitlines():
        if line.startswith(f"cpu{cpu} "):
            f = [int(x) for x in line.split()[1:]]
            f += [0] * (8 - len(f))
            user, nice, system, _idle, _iowait, irq, softirq, steal = f[:8]
            return user + nice + system + irq + softirq, steal
    return 0, 0


def cpu_mhz(cpu: int) -> float | None:
    """The CPU's current frequency as the kernel reports it (cpufreq, else /proc/cpuinfo), or None."""
    try:
        return int((SYS_CPU / f"cpu{cpu}" / "cpufreq" / "scaling_cur_freq").read_text()) / 1000
    except (OSError, ValueError):
        pass
    try:
        blocks = Path("/proc/cpuinfo").read_text().split("\n\n")
    except OSError:
        return None
    for block in blocks:
        fields = dict(ln.split(":", 1) for ln in block.splitlines() if ":" in ln)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        if fields.get("processor") == str(cpu) and "cpu MHz" in fields:
            return float(fields["cpu MHz"])
    return None


def sample(cpu: int) -> Sample:
    """Read the measured CPU's counters and the children's rusage now."""
    busy, steal = _cpu_jiffies(cpu)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Sample(time.monotonic_ns(), busy, steal, ru.ru_utime + ru.ru_stime, ru.ru_nvcsw, ru.ru_nivcsw,
                  cpu_mhz(cpu))


def between(before: Sample, after: Sample,
            calibrations: tuple[Calibration | None, Calibration | None] = (None, None),
            tree: TreeCounts | None = None) -> dict:
    """One measured process's disturbance evidence (raw amounts; `summarize` turns them into shares).

    `calibrations`: the calibration loop just before and just after the process (None: not run); `tree`:
    the backend's count of the measured tree's migrations and context switches (None: not asked).
    """
    c0, c1 = calibrations
    return {"calibration_before_ns": c0.ns if c0 else None, "calibration_after_ns": c1.ns if c1 else None,
            "tsc_per_ns_before": c0.tsc_per_ns if c0 else None, "tsc_per_ns_after": c1.tsc_per_ns if c1 else None,
            "cpu_migrations": tree.cpu_migrations if tree else None,
            "context_switches": tree.context_switches if tree else None,
            "tree_counts_why": tree.why if tree else "the backend was not asked",
            "wall_s": (after.ns - before.ns) / 1e9, "busy_s": (after.busy - before.busy) / CLK_TCK,
            "steal_s": (after.steal - before.steal) / CLK_TCK, "own_cpu_s": after.child_cpu_s - before.child_cpu_s,
            "voluntary_switches": after.child_nvcsw - before.child_nvcsw,
            "involuntary_switches": after.child_nivcsw - before.child_nivcsw,
            "mhz": [m for m in (before.mhz, after.mhz) if m is not None]}


class QuietReference:
    """The fastest calibration time seen so far: the machine's quiet reference for the session."""

    def __init__(self):
        self.ns: int | None = None

    def update(self, times: list[int]) -> int | None:
        """Fold in new calibration times; the reference after them (None while none was seen)."""
        if times:
            self.ns = min(times) if self.ns is None else min(self.ns, *times)
        return self.ns


QUIET = QuietReference()


def _calibration(processes: list[dict], quiet: QuietReference) -> tuple[int | None, int | None]:
    """(quiet reference ns, the worst before/after calibration ns of the processes), None where not run."""
    times = [t for p in processes for t in (p.get("calibration_before_ns"), p.get("calibration_after_ns"))
             if t is not None]
    return quiet.update(times), max(times) if times else None


def _drift_ppm(processes: list[dict]) -> float | None:
    """The largest |rate after / rate before - 1| of the counter over the processes, in ppm (None: no counter)."""
    drifts = [abs(p["tsc_per_ns_after"] / p["tsc_per_ns_before"] - 1) * 1e6 for p in processes
              if p.get("tsc_per_ns_before") and p.get("tsc_per_ns_after")]
    return round(max(drifts), 3) if drifts else None


def _tree(processes: list[dict]) -> tuple[int | None, int | None, str]:
    """The tree's migrations and context switches summed over the processes that counted them, and why not all."""
    counted = [p for p in processes if p.get("cpu_migrations") is not None]
    whys = sorted({p.get("tree_counts_why") or "stored before it was counted" for p in processes
                   if p.get("cpu_migrations") is None})
    if not counted:
        return None, None, "; ".join(whys) or "no measured process"
    why = f"counted in {len(counted)} of {len(processes)} processes ({'; '.join(whys)})" if whys else ""
    return sum(p["cpu_migrations"] for p in counted), sum(p["context_switches"] for p in counted), why


def summarize(processes: list[dict], quiet: QuietReference = QUIET) -> dict:
    """A repetition's evidence over its processes, with `disturbed` saying why it is flagged ('' when not).

    Jiffies tick at 1/CLK_TCK s, so a process shorter than a few ticks gives coarse shares: they are kept,
    but only a share measured over at least 10 ticks can flag a repetition. The calibration slowdown is the
    worst of the processes' before/after calibration times over `quiet` (the session's quietest so far).
    own_cpu_pct is evidence only: a multi-threaded runtime exceeds 100%, one waiting on I/O falls below,
    so no share of it alone proves a disturbance. `unmeasured` says why each of the newer values is None.
    """
    wall = sum(p["wall_s"] for p in processes)
    busy = sum(p["busy_s"] for p in processes)
    steal = sum(p["steal_s"] for p in processes)
    own = sum(p["own_cpu_s"] for p in processes)
    mhz = [m for p in processes for m in p["mhz"]]
    out = {"processes": len(processes), "wall_s": round(wall, 6), "steal_pct": None, "foreign_cpu_pct": None,
           "involuntary_switches": sum(p["involuntary_switches"] for p in processes),
           "voluntary_switches": sum(p["voluntary_switches"] for p in processes),
           "mhz_min": min(mhz) if mhz else None, "mhz_max": max(mhz) if mhz else None,
           "tick_s": 1 / CLK_TCK, "calibration_ns_min": None, "calibration_slowdown": None, "disturbed": "",
           "own_cpu_pct": round(100 * own / wall, 1) if wall > 0 else None, "tsc_drift_ppm": _drift_ppm(processes),
           "unmeasured": {}}
    out["cpu_migrations"], out["context_switches"], why = _tree(processes)
    if why:     # a partial sum is kept (any migration still flags) and said to be partial
        out["unmeasured"]["cpu_migrations"] = out["unmeasured"]["context_switches"] = why
    if out["tsc_drift_ppm"] is None:
        out["unmeasured"]["tsc_drift_ppm"] = "no time-stamp counter read before and after a process (no " \
                                            "calibration kernel, or an architecture without a counter)"
    if out["own_cpu_pct"] is None:
        out["unmeasured"]["own_cpu_pct"] = "no wall time"
    reference, worst = _calibration(processes, quiet)
    reasons = []
    if worst is not None:
        out["calibration_ns_min"], out["calibration_slowdown"] = reference, round(worst / reference, 3)
        if worst * 100 > reference * (100 + CALIBRATION_PCT):      # integers: exactly at the threshold is not over
            reasons.append(f"the calibration loop ran {worst / reference:.2f}x its quietest time "
                           f"(> {CALIBRATION_PCT}% slower)")
    if out["cpu_migrations"]:
        reasons.append(f"the measured tree moved between CPUs {out['cpu_migrations']} times in its counted phases "
                       "(pinned to one CPU: the pinning broke)")
    if out["tsc_drift_ppm"] is not None and out["tsc_drift_ppm"] > TSC_DRIFT_PPM:
        reasons.append(f"the time-stamp counter's rate moved {out['tsc_drift_ppm']:.0f} ppm against "
                       f"CLOCK_MONOTONIC across a process (> {TSC_DRIFT_PPM} ppm)")
    if wall <= 0:
        out["disturbed"] = "; ".join(reasons)
        return out
    out["steal_pct"] = round(100 * steal / wall, 2)
    # The CPU's busy time beyond what the measured processes used themselves: other tasks and interrupts.
    # /proc/stat moves in whole ticks: each process's window can gain a tick at either edge, so two ticks
    # per process are granted before anything counts as foreign.
    slack = 2 * len(processes) / CLK_TCK
    out["foreign_cpu_pct"] = round(100 * max(busy - own - slack, 0.0) / wall, 2)
    if wall * CLK_TCK >= 10:
        if out["steal_pct"] > STEAL_PCT:
            reasons.append(f"steal {out['steal_pct']:.1f}% of the measured CPU (> {STEAL_PCT:g}%)")
        if out["foreign_cpu_pct"] > FOREIGN_PCT:
            reasons.append(f"other tasks used {out['foreign_cpu_pct']:.1f}% of the measured CPU (> {FOREIGN_PCT:g}%)")
    out["disturbed"] = "; ".join(reasons)
    return out


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def sources(cpu: int, settle_s: float = 0.2) -> list[dict]:
    """The machine's noise sources for measurements on `cpu`: [{source, state, fix}], worst first."""
    found = []
    governor = _read(SYS_CPU / f"cpu{cpu}" / "cpufreq" / "scaling_governor")
    if not governor:
        found.append({"source": "frequency governor", "state": "none exposed (typical of VMs): the host decides",
                      "fix": "nothing to set in the guest; on bare metal use the performance governor"})
    elif governor != "performance":
        found.append({"source": "frequency governor", "state": f"{governor}: the clock moves with load",
                      "fix": f"cpupower -c {cpu} frequency-set -g performance"})
    no_turbo, boost = _read(SYS_CPU / "intel_pstate" / "no_turbo"), _read(SYS_CPU / "cpufreq" / "boost")
    if no_turbo == "0" or boost == "1":
        found.append({"source": "turbo / boost", "state": "on: the clock depends on temperature and other cores",
                      "fix": "echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo (Intel) or "
                             "echo 0 > /sys/devices/system/cpu/cpufreq/boost"})
    siblings = _read(SYS_CPU / f"cpu{cpu}" / "topology" / "thread_siblings_list")
    others = sorted(_cpulist(siblings) - {cpu}) if siblings else []
    if others:
        b0 = sum(_cpu_jiffies(c)[0] for c in others)
        time.sleep(settle_s)
        busy = (sum(_cpu_jiffies(c)[0] for c in others) - b0) / CLK_TCK / settle_s
        found.append({"source": "SMT sibling", "state": f"CPU {others} shares CPU {cpu}'s core, {100 * busy:.0f}% busy "
                                                        "just now",
                      "fix": "keep the sibling idle (hwprof collect --cpu on a core without a busy sibling) or "
                             "echo off > /sys/devices/system/cpu/smt/control"})
    isolated, nohz = _read(SYS_CPU / "isolated"), _read(SYS_CPU / "nohz_full")
    if cpu not in _cpulist(isolated):
        found.append({"source": "CPU isolation", "state": f"CPU {cpu} is not isolated (isolcpus: {isolated or 'none'}, "
                                                          f"nohz_full: {nohz or 'none'}): other tasks and the timer tick "
                                                          "run on it",
                      "fix": f"boot with isolcpus={cpu} nohz_full={cpu} rcu_nocbs={cpu}"})
    busy, steal = _cpu_jiffies(cpu)
    if steal:
        found.append({"source": "steal time", "state": f"the hypervisor took {100 * steal / max(busy + steal, 1):.1f}% "
                                                        f"of CPU {cpu}'s busy time since boot",
                      "fix": "a dedicated (not shared) VM or bare metal"})
    else:
        found.append({"source": "steal time", "state": "0 since boot; on shared VMs the host can still slow the guest "
                                                       "without it showing",
                      "fix": "trust repeated, interleaved runs over one quiet-looking run; see each run's noise record"})
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load1 > 0.5:
        found.append({"source": "load", "state": f"load average {load1:.2f} over {os.cpu_count()} CPUs",
                      "fix": "stop other work during a measurement"})
    return found


def _cpulist(text: str) -> set[int]:
    from hwprof.data.cpu import parse_cpulist

    try:
        return parse_cpulist(text) if text else set()
    except ValueError:
        return set()
