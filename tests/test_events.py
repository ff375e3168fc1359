"""Event maps: formulas, loading with extends, matching CPUs as perf does, and lint."""

from __future__ import annotations

import textwrap

import pytest

from hwprof import events
from hwprof.data.cpu import CpuId
from hwprof.events import EventMapError, Formula


def test_formula_arithmetic_and_precedence():
    f = Formula("1000 * (IDQ.MITE_UOPS + x) / y - 2")
    assert f.names == ["IDQ.MITE_UOPS", "x", "y"]
    assert f.evaluate({"IDQ.MITE_UOPS": 3, "x": 1, "y": 8}) == pytest.approx(498.0)


def test_formula_missing_input_or_zero_division_is_none_not_zero():
    f = Formula("a / b")
    assert f.evaluate({"a": 1.0}) is None
    assert f.evaluate({"a": 1.0, "b": 0.0}) is None
    assert f.evaluate({"a": 0.0, "b": 2.0}) == 0.0


@pytest.mark.parametrize("text", ["a ** 2", "__import__('os')", "a +", "a % b", "a[0]"])
def test_formula_rejects_anything_but_arithmetic(text):
    with pytest.raises(EventMapError):
        Formula(text)


def test_every_shipped_map_lints_clean():
    assert events.lint() == []


def test_every_concrete_map_has_the_core_metrics():
    for name in events.available():
        m = events.load(name)
        if m.abstract:
            continue
        assert {"ipc", "branch_miss_rate", "branch_mpki", "l1d_miss_rate"} <= set(m.metrics), name


def _write(tmp_path, name, text):
    (tmp_path / f"{name}.toml").write_text(textwrap.dedent(text))


def test_lint_finds_each_kind_of_problem(tmp_path):
    _write(tmp_path, "base", """
        name = "base"
        abstract = true
        [[event]]
        name = "A"
        encoding = { event = 0x10 }
        """)
    _write(tmp_path, "bad", """
        name = "bad"
        extends = ["base"]
        [match]
        x86 = ["GenuineIntel-6-(9E"]
        [[event]]
        name = "B"
        [[event]]
        name = "B"
        encoding = { event = 0x11 }
        [[event]]
        name = "sw"
        kind = "software"
        [[metric]]
        name = "m"
        formula = "A / C"
        """)
    problems = "\n".join(events.lint(tmp_path))
    assert "duplicate event 'B'" in problems
    assert "B: no raw encoding" in problems
    assert "needs its perf name" in problems
    assert "unknown event 'C'" in problems
    assert "bad x86 pattern" in problems
    assert "base:" not in problems


def test_child_map_overrides_parent_and_inherits_the_rest(tmp_path):
    _write(tmp_path, "p", """
        name = "p"
        abstract = true
        pmu = "cpu"
        [[event]]
        name = "A"
        encoding = { event = 0x10, umask = 0x1 }
        [[metric]]
        name = "m"
        formula = "A"
        """)
    _write(tmp_path, "c", """
        name = "c"
        extends = ["p"]
        [match]
        x86 = ["GenuineIntel-6-9E"]
        [[metric]]
        name = "m"
        formula = "2 * A"
        """)
    m = events.load("c", tmp_path)
    assert m.metrics["m"].formula.evaluate({"A": 2}) == 4
    assert m.events["A"].perf_spec(m.pmu) == "cpu/event=0x10,umask=0x1/"
    assert events.for_cpu(CpuId("x86_64", vendor="GenuineIntel", family=6, model=0x9E, stepping=10), tmp_path).name == "c"


def test_extends_cycle_is_an_error(tmp_path):
    _write(tmp_path, "x", 'name = "x"\nextends = ["y"]\n')
    _write(tmp_path, "y", 'name = "y"\nextends = ["x"]\n')
    with pytest.raises(EventMapError, match="extends itself"):
        events.load("x", tmp_path)


def test_unknown_map_and_unknown_event_are_one_line_errors():
    with pytest.raises(EventMapError, match="no event map 'nosuch'"):
        events.load("nosuch")
    with pytest.raises(EventMapError, match="not in map"):
        events.load("generic").select(["no_such_event"])


def test_selecting_a_metric_selects_its_events():
    m = events.load("generic")
    assert [e.name for e in m.select(["ipc"])] == ["instructions", "cycles"]


def intel(model, stepping=0):
    return CpuId("x86_64", vendor="GenuineIntel", family=6, model=model, stepping=stepping)


def amd(family, model):
    return CpuId("x86_64", vendor="AuthenticAMD", family=family, model=model, stepping=0)


def arm(impl, part):
    return CpuId("aarch64", implementer=impl, part=part)


@pytest.mark.parametrize("cpu, expected", [
    (intel(0x9E, 10), "skylake"),        # the study's i7-8700 (Coffee Lake)
    (intel(0x5E, 3), "skylake"),         # Skylake client
    (intel(0x7E, 5), "icelake"),         # Ice Lake client
    (intel(0xA7, 1), "icelake"),         # Rocket Lake, this project's VMs
    (intel(0x97, 2), "alderlake"),       # Alder Lake
    (amd(23, 0x31), "zen2"),
    (amd(25, 0x21), "zen3"),
    (amd(25, 0x61), "zen4"),
    (arm(0x41, 0xD07), "cortex-a57"),
    (arm(0x4E, 0x003), "denver2"),
    (arm(0x41, 0xD0C), "neoverse-n1"),
    (intel(0x0F, 6), "generic"),         # Core 2: no map, the generic fallback
])
def test_cpu_matching_like_perf_mapfile(cpu, expected):
    assert events.for_cpu(cpu).name == expected


def test_table_one_metrics_on_the_study_cpu():
    m = events.for_cpu(intel(0x9E, 10))
    for metric in ("dsb_misses", "dsb_hits", "dsb_miss_rate", "l1i_misses", "l1i_hits", "l1i_miss_rate",
                   "dsb_to_l1i_ref_ratio"):
        assert metric in m.metrics, metric
    assert m.metrics["dsb_miss_rate"].formula.evaluate({"IDQ.MITE_UOPS": 1, "IDQ.DSB_UOPS": 3}) == 0.25
    dsb = m.events["IDQ.DSB_UOPS"]
    assert dict(dsb.encoding)["event"] == 0x79 and dict(dsb.encoding)["umask"] == 0x08
