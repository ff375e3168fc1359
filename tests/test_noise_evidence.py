"""Disturbance evidence on every repetition: own CPU share, the measured tree's migrations (perf's software
events beside the rows asked for) and TSC drift across each process. Verdicts rest on constructed readings,
on perf's real output format, or on disturbances these tests make themselves (a real-time hog, a mover)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hogs import hogging, moving_descendants

from hwprof import calibration, noise
from hwprof.backends import Launch, Pass, TreeCounts
from hwprof.backends.perf import TREE_EVENTS, PerfBackend
from hwprof.collect import CollectConfig, collect
from hwprof.data.store import read_run
from hwprof import events as event_maps

NEW_KEYS = ("own_cpu_pct", "cpu_migrations", "context_switches", "tsc_drift_ppm", "unmeasured")


def _proc(wall=1.0, own=1.0, rates=(2.6, 2.6), migrations=0, switches=3, why=""):
    return {"calibration_before_ns": None, "calibration_after_ns": None, "wall_s": wall, "busy_s": own,
            "steal_s": 0.0, "own_cpu_s": own, "voluntary_switches": 0, "involuntary_switches": 0, "mhz": [],
            "tsc_per_ns_before": rates[0], "tsc_per_ns_after": rates[1], "cpu_migrations": migrations,
            "context_switches": switches, "tree_counts_why": why}


def _ppm(ppm: float) -> tuple[float, float]:
    return 2.6, 2.6 * (1 + ppm / 1e6)


@pytest.mark.quick
def test_own_cpu_share_is_own_cpu_over_wall_and_never_flags_alone():
    s = noise.summarize([_proc(0.5, 0.2), _proc(0.5, 0.3)])
    assert s["own_cpu_pct"] == 50.0 and s["disturbed"] == ""
    assert noise.summarize([_proc(1.0, 2.5)])["own_cpu_pct"] == 250.0      # threads on several CPUs' worth
    none = noise.summarize([_proc(0.0, 0.0)])
    assert none["own_cpu_pct"] is None and none["unmeasured"]["own_cpu_pct"]


@pytest.mark.quick
def test_drift_over_the_threshold_flags_and_under_it_does_not():
    under = noise.summarize([_proc(rates=_ppm(noise.TSC_DRIFT_PPM * 0.9))])
    assert under["tsc_drift_ppm"] == pytest.approx(noise.TSC_DRIFT_PPM * 0.9, abs=0.01) and under["disturbed"] == ""
    over = noise.summarize([_proc(rates=_ppm(1.0)), _proc(rates=_ppm(-noise.TSC_DRIFT_PPM * 1.5))])   # worst |.|
    assert over["tsc_drift_ppm"] == pytest.approx(noise.TSC_DRIFT_PPM * 1.5, abs=0.01)
    assert f"moved 150 ppm against CLOCK_MONOTONIC across a process (> {noise.TSC_DRIFT_PPM} ppm)" in over["disturbed"]


@pytest.mark.quick
def test_no_counter_is_none_with_a_reason_never_zero():
    s = noise.summarize([_proc(rates=(None, None)), _proc(rates=(2.6, None))])
    assert s["tsc_drift_ppm"] is None and "time-stamp counter" in s["unmeasured"]["tsc_drift_ppm"]
    old = {k: v for k, v in _proc().items() if not k.startswith(("tsc", "cpu_mig", "context", "tree"))}
    stored = noise.summarize([old])                                         # a record from before these keys
    assert stored["tsc_drift_ppm"] is None and stored["cpu_migrations"] is None and stored["disturbed"] == ""


@pytest.mark.quick
def test_any_migration_of_the_pinned_tree_flags_the_repetition():
    quiet = noise.summarize([_proc(), _proc()])
    assert quiet["cpu_migrations"] == 0 and quiet["context_switches"] == 6 and quiet["disturbed"] == ""
    assert "cpu_migrations" not in quiet["unmeasured"]
    moved = noise.summarize([_proc(), _proc(migrations=2)])
    assert moved["cpu_migrations"] == 2 and "moved between CPUs 2 times" in moved["disturbed"]
    both = noise.summarize([_proc(migrations=1, rates=_ppm(500))])
    assert len(both["disturbed"].split("; ")) == 2                           # one clause per reason


@pytest.mark.quick
def test_a_backend_without_migrations_gives_none_with_its_reason():
    sim = "cachegrind simulates one CPU"
    s = noise.summarize([_proc(migrations=None, switches=None, why=sim)])
    assert s["cpu_migrations"] is None and s["context_switches"] is None and s["unmeasured"]["cpu_migrations"] == sim
    part = noise.summarize([_proc(migrations=1), _proc(migrations=None, switches=None, why="no perf")])
    assert part["cpu_migrations"] == 1 and "counted in 1 of 2 processes (no perf)" in part["unmeasured"]["cpu_migrations"]
    from hwprof.backends.cachegrind import CachegrindBackend
    from hwprof.backends.vtune import VTuneBackend
    for backend in (CachegrindBackend(), VTuneBackend()):
        got = backend.tree_counts(Launch([], {}), Pass(("execute",), (), "execute"))
        assert got.cpu_migrations is None and got.why


# Real `perf stat -x ';'` output of a pass counting task-clock, with the tree's events perf prints after it.
PERF_CSV = """# started on Mon Jan  1 00:00:00 2024

118.10;msec;task-clock;118096969;100.00;0.928;CPUs utilized
1;;cpu-migrations;118096969;100.00;8.468;/sec
126;;context-switches;118096969;100.00;1.067;K/sec
"""


def test_perf_counts_the_tree_events_in_every_pass_but_rows_only_for_what_was_asked(tmp_path):
    events = tuple(event_maps.load("generic").select(["task_clock"]))
    one = Pass(("execute",), events, "execute")
    backend = PerfBackend(cpu=0)
    launch = backend.prepare(["prog"], one, tmp_path)
    for fd in launch.close_fds:
        os.close(fd)
    argv = launch.argv[:launch.argv.index("--")]
    assert argv[-4:] == ["-e", TREE_EVENTS[0], "-e", TREE_EVENTS[1]] and "task-clock" in argv
    (tmp_path / "perf-stat.csv").write_text(PERF_CSV)
    counts = backend.read(launch, one)
    assert [c.event for c in counts] == ["task_clock"] and counts[0].value == 118.10
    assert backend.tree_counts(launch, one) == TreeCounts(1, 126)
    (tmp_path / "perf-stat.csv").write_text(PERF_CSV.replace("1;;cpu-migrations", "<not supported>;;cpu-migrations"))
    assert backend.tree_counts(launch, one).cpu_migrations is None
    assert "cpu-migrations" in backend.tree_counts(launch, one).why
    bare = Pass(("execute",), (), "execute")
    assert backend.prepare(["prog"], bare, tmp_path).argv == ["prog"]         # nothing asked: no perf at all
    assert backend.tree_counts(Launch(["prog"], {}, workdir=tmp_path), bare).why


def _collect(store: Path, cpu: int, reps: int = 1, size: str = "small"):
    result = collect(CollectConfig("2mm", size=size, repetitions=reps, warmup=0, cpu=cpu, results=store,
                                   events=("task_clock",), count_phases=("execute",)))
    return result, [read_run(path)["provenance"]["noise"] for path in result.run_files]


def _has_new_keys(prov: dict) -> None:
    assert all(k in prov for k in NEW_KEYS), prov
    assert isinstance(prov["cpu_migrations"], int) and isinstance(prov["context_switches"], int), prov
    assert prov["own_cpu_pct"] > 0, prov
    if os.uname().machine in ("x86_64", "aarch64"):
        assert prov["tsc_drift_ppm"] is not None and prov["tsc_drift_ppm"] >= 0, prov


def test_a_run_records_the_new_evidence(store):
    """Without a disturbance made here: the keys are there and measured (flagged or not: the machine decides)."""
    _, provs = _collect(store, max(os.sched_getaffinity(0)))
    _has_new_keys(provs[0])


def test_a_realtime_hog_on_the_measured_cpu_throughout_flags_the_repetition(store):
    """Flagged by the calibration loop, which only a real-time hog slows this much: other tasks sharing the CPU
    through the guest scheduler (this machine's own noise) also raise foreign_cpu_pct, so that flag proves nothing."""
    cpu = max(os.sched_getaffinity(0))
    if calibration.kernel() is None:
        pytest.skip("no C compiler to build the calibration kernel")
    session = noise.QUIET.ns
    noise.QUIET.update([calibration.time_ns(cpu) for _ in range(5)])    # the session's quiet reference, hog-free
    try:
        with hogging(cpu):
            result, provs = _collect(store, cpu)
    finally:
        noise.QUIET.ns = session                 # later tests see the reference their own runs set
    assert result.disturbed == 1 and "the calibration loop ran" in provs[0]["disturbed"], provs
    assert provs[0]["calibration_slowdown"] > 1 + noise.CALIBRATION_PCT / 100
    _has_new_keys(provs[0])


def test_moving_the_measured_tree_between_cpus_counts_migrations_and_flags(store):
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        pytest.skip("one CPU: nowhere to move the measured tree to")
    # Counted phases only: large's execute phase (~1.5 s here) spans thousands of the mover's 0.5 ms turns, so a
    # faster CPU or a starved mover thread still moves it many times (medium's ~15 ms could miss them).
    with moving_descendants((allowed[0], allowed[-1]), every_s=0.0005) as moved:
        result, provs = _collect(store, allowed[-1], reps=2, size="large")
    assert moved, "the mover found no measured process to move"
    assert all(p["cpu_migrations"] > 0 and "the pinning broke" in p["disturbed"] for p in provs), provs
    assert result.disturbed == 2
