"""Event maps: formulas, loading with extends, matching CPUs as perf does, and lint."""

from __future__ import annotations

import json
import textwrap

import pytest

from hwprof import events
from hwprof.data.cpu import CpuId
from hwprof.events import EventMapError, Formula

pytestmark = pytest.mark.quick   # part of the quick subset: python -m pytest -m quick


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


def test_every_cpu_map_defines_each_standard_metric_or_says_why_not():
    for name in events.available():
        m = events.load(name)
        if m.abstract or name == events.GENERIC:
            continue
        for metric in events.STANDARD_METRICS:
            assert (metric in m.metrics) != (metric in m.unavailable), (name, metric)
        for metric, why in m.unavailable.items():
            assert len(why) > 20 and "TODO" not in why, (name, metric, why)


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
    found = events.lint(tmp_path)
    problems = "\n".join(found)
    assert "duplicate event 'B'" in problems
    assert "B: no raw encoding" in problems
    assert "needs its perf name" in problems
    assert "unknown event 'C'" in problems
    assert "bad x86 pattern" in problems
    # The parent is clean: no problem names its file (each problem starts with FILE[:LINE]).
    assert not [p for p in found if p.startswith(f"{tmp_path / 'base.toml'}:")], found
    assert all(p.startswith(f"{tmp_path / 'bad.toml'}:") for p in found), found


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
    (intel(0xA7, 1), "rocketlake"),      # Rocket Lake, once this project's VMs
    (intel(0x55, 4), "skylakex"),        # Skylake-SP
    (intel(0x55, 7), "cascadelakex"),    # Cascade Lake: same model, later stepping
    (intel(0x6A, 6), "icelakex"),        # Ice Lake-SP
    (intel(0x8F, 8), "sapphirerapids"),
    (intel(0xCF, 2), "emeraldrapids"),   # this project's CI machines
    (intel(0xAD, 1), "graniterapids"),
    (intel(0xAA, 4), "meteorlake"),      # hybrid: the P-core map when no PMU says otherwise
    (amd(26, 0x44), "zen5"),
    (amd(26, 0x50), "generic"),          # family 0x1A models the kernel gives to Zen 6: not Zen 5
    (arm(0x41, 0xD40), "neoverse-v1"),   # Graviton3
    (arm(0x41, 0xD4F), "neoverse-v2"),   # Graviton4, Grace
    (arm(0x41, 0xD49), "neoverse-n2"),
    (arm(0x41, 0xD08), "cortex-a57"),    # Cortex-A72 (Raspberry Pi 4) shares perf's cortex-a57-a72 table
    (arm(0x41, 0xD0B), "cortex-a76"),    # Raspberry Pi 5
    (arm(0x41, 0xD42), "cortex-a78ae"),  # Jetson Orin
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


def test_emerald_rapids_has_the_dsb_columns_and_says_which_l1i_columns_it_lacks():
    m = events.for_cpu(intel(0xCF, 2))
    assert {"dsb_misses", "dsb_hits", "dsb_miss_rate"} <= set(m.metrics)
    for metric in ("l1i_misses", "l1i_hits", "dsb_to_l1i_ref_ratio"):
        assert metric not in m.metrics
        assert m.absent(metric).startswith(events.NOT_ON_MICROARCH)
    # The proxy exists, under its own name only.
    assert "l1i_code_requests" in m.metrics and "L2_RQSTS.ALL_CODE_RD" in m.metrics["l1i_code_requests"].formula.names
    assert events.load("generic").absent("dsb_misses").startswith("not in map 'generic'")


@pytest.mark.parametrize("model", [0x97, 0x9A, 0xB7, 0xBA, 0xBF, 0xAA, 0xAC])
def test_hybrid_cpus_get_the_map_of_the_pinned_cores_pmu(model):
    cpu = intel(model, 2)
    found = {m.pmu: m.name for m in events.candidates(cpu)}
    assert set(found) == {"cpu_core", "cpu_atom"}
    assert events.for_cpu(cpu, core_pmu="cpu_atom").name == found["cpu_atom"]
    assert events.for_cpu(cpu, core_pmu="cpu_core").name == found["cpu_core"]
    # E-cores have no decoded-uop cache: their map says so instead of borrowing the P-core's DSB events.
    atom = events.load(found["cpu_atom"])
    assert "dsb_miss_rate" in atom.unavailable and "l1i_miss_rate" in atom.metrics


def _sysfs_pmu(root, name, cpus):
    (root / name / "format").mkdir(parents=True)
    (root / name / "format" / "event").write_text("config:0-7\n")
    (root / name / "cpus").write_text(cpus + "\n")


HYBRID_CPUINFO = "\n\n".join(
    f"processor\t: {i}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 151\nstepping\t: 2\n"
    f"model name\t: 12th Gen Intel(R) Core(TM) i9-12900K" for i in range(4))
TX2_CPUINFO = "\n\n".join(
    f"processor\t: {i}\nCPU implementer\t: {impl}\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: {part}\n"
    f"CPU revision\t: 0" for i, (impl, part) in enumerate([("0x41", "0xd07"), ("0x4e", "0x003"), ("0x4e", "0x003"),
                                                             ("0x41", "0xd07")]))


def test_logical_cpu_map_follows_sysfs_core_pmus_documented_layout(tmp_path, monkeypatch):
    """sysfs-bus-event_source-devices: hybrid PMUs list their CPUs. CPUs 0-1 P-cores, 2-3 E-cores."""
    monkeypatch.delenv("HWPROF_CPU_ID", raising=False)
    _sysfs_pmu(tmp_path, "cpu_core", "0-1")
    _sysfs_pmu(tmp_path, "cpu_atom", "2-3")
    picks = [events.for_logical_cpu(i, sysfs=tmp_path, cpuinfo=HYBRID_CPUINFO).name for i in range(4)]
    assert picks == ["alderlake", "alderlake", "alderlake-atom", "alderlake-atom"]
    # A Jetson TX2: each CPU's own MIDR picks its map (Denver 2 or Cortex-A57).
    tx2 = [events.for_logical_cpu(i, sysfs=tmp_path / "none", cpuinfo=TX2_CPUINFO).name for i in range(4)]
    assert tx2 == ["cortex-a57", "denver2", "denver2", "cortex-a57"]


def _x86_ids():
    for vendor, families in (("GenuineIntel", (6, 18, 19)), ("AuthenticAMD", (23, 25, 26))):
        for family in families:
            for model in range(256):
                for stepping in (None, 0, 5, 0xB):
                    yield CpuId("x86_64", vendor=vendor, family=family, model=model, stepping=stepping)


def test_maps_agree_with_perfs_mapfile_on_every_x86_identity():
    """Wherever perf picks table T (cpus.toml, first match), hwprof picks a map made from T, and only then."""
    maps = [events.load(n) for n in events.available()]
    maps = [m for m in maps if not m.abstract and m.name != events.GENERIC]
    tables = {m.perf_table for m in maps} - {""}
    checked = 0
    for cpu in _x86_ids():
        table = events.microarch_of(cpu)
        chosen = [m for m in maps if m.matches(cpu)]
        assert all(m.perf_table == table for m in chosen), (cpu.perf_id, table, [m.name for m in chosen])
        if table in tables:
            assert chosen, (cpu.perf_id, table)
            checked += 1
    assert checked > 2000


def test_maps_agree_with_perfs_mapfile_on_every_arm_row():
    maps = [m for m in (events.load(n) for n in events.available()) if m.arm]
    rows = [r for r in events.catalogue() if r.arch == "arm"]
    assert len(rows) > 20
    for row in rows:
        impl, part = (int(x, 16) for x in row.pattern.split(":"))
        chosen = [m for m in maps if m.matches(arm(impl, part))]
        assert all(m.perf_table == row.table for m in chosen), (row, [m.name for m in chosen])
        if any(m.perf_table == row.table for m in maps if m.perf_table):
            assert chosen, row


def test_catalogue_names_cpus_no_map_covers():
    assert events.microarch_of(intel(0x3F, 2)) == "haswellx"
    assert events.microarch_name(intel(0x3F, 2), events.load("generic")) == "haswellx"
    assert events.microarch_name(intel(0x01, 0), events.load("generic")) == "unknown"
    assert events.microarch_name(intel(0xCF, 2), events.for_cpu(intel(0xCF, 2))) == "emeraldrapids"


def test_unavailable_section_rules(tmp_path):
    _write(tmp_path, "p", """
        name = "p"
        abstract = true
        pmu = "cpu"
        [[event]]
        name = "A"
        encoding = { event = 0x10 }
        [[metric]]
        name = "l1i_hits"
        formula = "A"
        """)
    _write(tmp_path, "c", """
        name = "c"
        extends = ["p"]
        [match]
        x86 = ["GenuineIntel-6-9E"]
        [unavailable]
        l1i_hits = "this core counts no L1I hits at all, whatever its parent says"
        """)
    m = events.load("c", tmp_path)
    assert "l1i_hits" not in m.metrics and m.absent("l1i_hits").startswith(events.NOT_ON_MICROARCH)
    assert events.lint(tmp_path) == []
    _write(tmp_path, "bad", """
        name = "bad"
        pmu = "cpu"
        [[event]]
        name = "A"
        encoding = { event = 0x10, umaks = 0x1 }
        [[metric]]
        name = "dsb_hits"
        formula = "A"
        [unavailable]
        dsb_hits = "both defined and unavailable"
        not_a_metric = "no such standard metric"
        """)
    problems = "\n".join(events.lint(tmp_path))
    assert "encoding field 'umaks' is not a perf format field" in problems
    assert "'dsb_hits' is both defined and listed as unavailable" in problems
    assert "'not_a_metric' is not a standard metric" in problems


def test_selecting_a_standard_metric_the_map_lacks_is_not_an_error():
    generic = events.load("generic")
    assert generic.select(["dsb_misses", "ipc"]) == generic.select(["ipc"])
    with pytest.raises(EventMapError, match="not in map"):
        generic.select(["dsb_missez"])


@pytest.mark.parametrize("text, key, arch", [
    ("GenuineIntel-6-CF-2", "GenuineIntel-6-CF-2", "x86_64"),
    ("AuthenticAMD-26-44", "AuthenticAMD-26-44", "x86_64"),
    ("0x00000000410fd0c0", "0x41:0xd0c", "aarch64"),
    ("0x413fd0c1", "0x41:0xd0c", "aarch64"),
    ("0x41:0xd4f", "0x41:0xd4f", "aarch64"),
])
def test_identity_strings_parse_as_perf_writes_them(text, key, arch):
    from hwprof.data.cpu import parse_identity

    cpu = parse_identity(text)
    assert cpu.key == key and cpu.arch == arch


@pytest.mark.parametrize("text", ["", "intel", "GenuineIntel-6", "Foo-6-CF", "0x0000000000000000", "0x41:zz",
                                  "GenuineIntel-6-XYZ"])
def test_malformed_identities_are_one_line_errors(text):
    from hwprof.data.cpu import IdentityError, parse_identity

    with pytest.raises(IdentityError) as err:
        parse_identity(text)
    assert "\n" not in str(err.value)


def test_forced_identity_applies_to_every_cpu(monkeypatch):
    from hwprof.data.cpu import identify

    monkeypatch.setenv("HWPROF_CPU_ID", "GenuineIntel-6-9E-A")
    assert identify(0).perf_id == identify(1).perf_id == "GenuineIntel-6-9E-A"
    assert "forced" in identify(0).model_name
    monkeypatch.setenv("HWPROF_CPU_ID", "nonsense")
    from hwprof.data.cpu import IdentityError

    with pytest.raises(IdentityError):
        identify(0)


def test_events_match_cli_for_machines_one_is_not_on():
    from typer.testing import CliRunner

    from hwprof.cli import app

    run = lambda *a, **kw: CliRunner().invoke(app, ["events", "match", *a], **kw)  # noqa: E731
    out = run("GenuineIntel-6-CF-2")
    assert out.exit_code == 0 and "microarch  emeraldrapids (perf table emeraldrapids)" in out.output
    assert "not on this microarchitecture: dsb_to_l1i_ref_ratio, l1i_hits" in out.output
    hybrid = run("GenuineIntel-6-97-2").output
    assert "alderlake:" in hybrid and "alderlake-atom:" in hybrid and "PMU cpu_atom" in hybrid
    assert "neoverse-n1" in run("0x00000000410fd0c0").output
    doc = json.loads(run("AuthenticAMD-26-44", "--json").output)
    assert doc["microarch"] == "zen5" and doc["maps"][0]["perf_table"] == "amdzen5"
    zen6 = run("AuthenticAMD-26-50")          # perf's table is amdzen6; hwprof has no map for it
    assert zen6.exit_code == 0 and "microarch  amdzen6" in zen6.output and "generic" in zen6.output
    for bad, message in (("GenuineIntel-6-1", "unknown CPU"), ("Acme-6-1", "unknown x86 vendor"),
                         ("zzz", "is not Vendor-Family-Model")):
        got = run(bad)
        assert got.exit_code == 2 and message in got.output and len(got.output.strip().splitlines()) == 1, got.output


def test_a_malformed_forced_identity_is_one_line_for_every_command():
    from typer.testing import CliRunner

    from hwprof.cli import app

    got = CliRunner().invoke(app, ["doctor"], env={"HWPROF_CPU_ID": "not-an-id"})
    assert got.exit_code == 2 and got.output.startswith("hwprof: error: HWPROF_CPU_ID:")


def test_maps_by_path_are_loaded_linted_and_used(tmp_path, store):
    """A user's map outside the shipped folder: its parents come from beside it, then from events/."""
    from typer.testing import CliRunner

    from hwprof.cli import app

    good = tmp_path / "mine.toml"
    good.write_text(textwrap.dedent("""
        name = "mine"
        title = "a user's map"
        extends = ["generic"]
        [[metric]]
        name = "faults_per_ms"
        formula = "page_faults / task_clock"
        """))
    m = events.load(str(good))
    assert m.path == good and "task_clock" in m.events and "faults_per_ms" in m.metrics
    assert events.lint(paths=[good]) == []
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\npmu = "cpu"\n\n[[event]]\nname = "X"\nencoding = { event = 0x10, umsk = 1 }\n'
                   '\n[[metric]]\nname = "r"\nformula = "X / Y"\n')
    got = CliRunner().invoke(app, ["events", "lint", str(bad)])
    assert got.exit_code == 1
    assert f"{bad}:5: event X: encoding field 'umsk'" in got.output and f"{bad}:9: metric r: unknown event 'Y'" in got.output
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "broken"\n[[metric]]\nname = "r"\nformula = "1 +"\n')
    with pytest.raises(EventMapError, match=f"{broken}:3: metric r: formula"):
        events.load(str(broken))
    shown = CliRunner().invoke(app, ["events", "show", str(good)])
    assert shown.exit_code == 0 and "faults_per_ms" in shown.output
    result = collect_with_map(str(good), store)
    assert result.provenance["event_map"] == "mine"
    assert any(r.name == "faults_per_ms" and r.value is not None for r in result.records)


def collect_with_map(path, store):
    from hwprof.collect import CollectConfig, collect

    return collect(CollectConfig("2mm", size="mini", event_map=path, results=store, repetitions=1, warmup=0,
                                 events=("faults_per_ms",), count_phases=("execute",)))
