"""perf stat -x output: real output of this machine, and perf's documented format with multiplexing."""

from __future__ import annotations

from conftest import DATA

from hwprof.backends.perf import group_events, parse_stat_csv
from hwprof.data import schema
from hwprof.events import Event


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
