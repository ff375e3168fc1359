"""perf stat -x output: real output of this machine, and perf's documented format with multiplexing."""

from __future__ import annotations

import pytest

from conftest import DATA

from hwprof.backends.perf import group_events, parse_stat_csv
from hwprof.data import schema
from hwprof.events import Event

pytestmark = pytest.mark.quick   # part of the quick subset: python -m pytest -m quick


def test_real_output_of_this_vm_keeps_not_supported_as_missing():
    rows = parse_stat_csv((DATA / "perf-stat-vm-nopmu.csv").read_text())
    by = {r["event"]: r for r in rows}
    assert [r["event"] for r in rows] == ["task-clock", "page-faults", "context-switches", "cpu-migrations",
                                          "cycles", "instructions", "branch-misses"]
    assert by["task-clock"]["status"] == schema.OK and by["task-clock"]["unit"] == "msec"
    assert by["task-clock"]["value"] > 0
    assert by["cpu-migrations"]["value"] == 0.0 and by["cpu-migrations"]["status"] == schema.OK
    for name in ("cycles", "instructions", "branch-misses"):
        assert by[name]["value"] is None and by[name]["status"] == schema.NOT_SUPPORTED


def test_documented_format_multiplexed_and_not_counted():
    rows = parse_stat_csv((DATA / "perf-stat-multiplexed-documented.csv").read_text())
    assert len(rows) == 5
    cycles = rows[1]
    assert cycles["value"] == 4871233904 and cycles["running_pct"] == 66.45 and cycles["run_ns"] == 1012345678
    assert rows[3]["status"] == schema.NOT_COUNTED and rows[3]["value"] is None
    assert rows[3]["event"] == "cpu/event=0x79,umask=0x8/"
    assert rows[4]["status"] == schema.NOT_SUPPORTED


def test_documented_interval_format_has_a_leading_timestamp():
    rows = parse_stat_csv("     1.000123;812.5;msec;task-clock;812500000;100.00;0.81;CPUs utilized\n")
    assert rows[0]["timestamp"] == 1.000123 and rows[0]["value"] == 812.5 and rows[0]["event"] == "task-clock"


def test_groups_fit_the_counters_and_software_events_take_none():
    evs = [Event("sw", "task-clock", kind="software"), Event("fx", "instructions", kind="generic", fixed=True)]
    evs += [Event(f"e{i}", encoding=(("event", i),)) for i in range(6)]
    groups = group_events(evs, 4)
    assert [len(g) for g in groups] == [6, 2]
    assert {e.name for e in groups[0]} == {"sw", "fx", "e0", "e1", "e2", "e3"}


def _pmu(root, name, cpus=None):
    d = root / name
    (d / "format").mkdir(parents=True)
    (d / "format" / "event").write_text("config:0-7\n")
    if cpus is not None:
        (d / "cpus").write_text(cpus + "\n")


def test_core_pmu_choice_follows_the_measured_cpu_sysfs_documented_layout(tmp_path):
    """A Jetson TX2-like sysfs (one PMU per cluster, documented in sysfs-bus-event_source-devices): events
    for a task pinned to a Denver core go to the Denver PMU, generic ones too, so each opens once."""
    from hwprof import events
    from hwprof.backends.perf import PerfBackend
    from hwprof.data.cpu import parse_cpulist

    assert parse_cpulist("0,3-5\n") == {0, 3, 4, 5}
    _pmu(tmp_path, "armv8_cortex_a57", "0,3-5")
    _pmu(tmp_path, "armv8_denver", "1-2")
    _pmu(tmp_path, "software")
    backend = PerfBackend(cpu=2, sysfs=tmp_path)
    emap = events.load("denver2")
    backend.choose_pmu(emap)
    assert backend.pmu == "armv8_denver" and backend.prefix_generic
    args = backend._event_args(tuple(emap.select(["ipc"])))
    assert args == ["-e", "{armv8_denver/event=0x8/,armv8_denver/event=0x11/}"]
    single = PerfBackend(cpu=0, sysfs=tmp_path / "none")
    single.choose_pmu(emap)
    assert single.pmu is None and single._event_args(tuple(emap.select(["ipc"]))) == ["-e", "{r8,r11}"]


def test_hybrid_map_writes_fixed_events_programmably():
    from hwprof import events
    from hwprof.backends.perf import PerfBackend

    backend = PerfBackend(cpu=0)
    emap = events.load("alderlake")
    backend.pmu = emap.pmu
    args = backend._event_args(tuple(emap.select(["ipc"])))
    assert args == ["-e", "{cpu_core/event=0xc0/,cpu_core/event=0x3c/}"]
