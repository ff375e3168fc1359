"""--backend frontend end to end: a real collect under lackey, the model's rows in the store, Table I and bad input.

The model itself is checked against microbenchmarks in test_frontend_model.py and the trace in
test_frontend_trace.py; here the backend's own part: which phases get counts, that its instruction count is the
same phase cachegrind counts, that the rows are labelled modelled with the model and uarch, and that a bad
--uarch is one line.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

import hwprof
from hwprof.backends import BackendError, get
from hwprof.collect import CollectConfig, collect
from hwprof.data import schema

pytestmark = pytest.mark.skipif(not shutil.which("valgrind"), reason="needs valgrind (lackey)")

MODEL_EVENTS = ("model.dsb_uops", "model.mite_uops", "model.l1i_hits", "model.l1i_misses", "model.instructions")


def _ok(frame, phase, name):
    rows = frame[(frame.phase == phase) & (frame.name == name) & (frame.status == schema.OK)]
    return rows.value.tolist()


@pytest.fixture(scope="module")
def native_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("frontend") / "results"
    collect(CollectConfig("2mm", runtime="native", size="mini", backend="frontend", repetitions=2, warmup=0,
                          results=store))
    return store


def test_execute_is_modelled_and_the_other_phases_say_why(native_store):
    frame = hwprof.load_results(native_store)
    assert set(frame.backend) == {"frontend"}
    for name in MODEL_EVENTS:
        values = _ok(frame, "execute", name)
        assert len(values) == 2 and values[0] == values[1], name   # a model on a fixed layout: deterministic
    assert frame.runtime_flags.str.contains("sim: --uarch=skylake --jcc=on --model=hwprof-frontend-").all()


@pytest.mark.quick
def test_only_execute_is_traced():
    """A pass without the execute phase runs plainly (no events: measure runs it outside valgrind); one with it
    carries every model event, and a target without phase marks is refused in one line."""
    from hwprof.backends import Probe

    backend = get("frontend")
    events = tuple(backend.sim_map().events.values())
    probe = Probe(usable=events)
    assert [p.events for p in backend.plan(probe, ("compile",), 4)] == [()]
    # an ahead-of-time compile measured whole (wasm2c-llvm's) is not the execute phase: plain, not refused
    assert [p.events for p in backend.plan(probe, ("compile",), 4, whole=True)] == [()]
    (traced,) = backend.plan(probe, ("bootstrap", "compile", "execute"), 4)
    assert traced.events == events and traced.phases == ("bootstrap", "compile", "execute")
    with pytest.raises(BackendError, match="execute phase only"):
        backend.plan(probe, ("total",), 4, whole=True)


def test_metrics_are_the_event_maps_names_over_the_models_counts(native_store):
    frame = hwprof.load_results(native_store)
    dsb, mite = _ok(frame, "execute", "model.dsb_uops")[0], _ok(frame, "execute", "model.mite_uops")[0]
    hits, misses = _ok(frame, "execute", "model.l1i_hits")[0], _ok(frame, "execute", "model.l1i_misses")[0]
    assert dsb > 0 and hits > 0
    assert _ok(frame, "execute", "dsb_hits")[0] == dsb and _ok(frame, "execute", "dsb_misses")[0] == mite
    assert _ok(frame, "execute", "dsb_miss_rate")[0] == pytest.approx(mite / (mite + dsb))
    assert _ok(frame, "execute", "l1i_misses")[0] == misses
    assert _ok(frame, "execute", "dsb_to_l1i_ref_ratio")[0] == pytest.approx((dsb + mite) / (hits + misses))


def test_the_traced_phase_is_the_phase_cachegrind_counts(native_store, tmp_path):
    """The model's instruction count is cachegrind's Ir of the same phase, up to the end request's own
    instructions (the trace keeps the 5 of its magic sequence and the few before it in its block)."""
    store = tmp_path / "cg"
    collect(CollectConfig("2mm", runtime="native", size="mini", backend="cachegrind", repetitions=1, warmup=0,
                          results=store, count_phases=("execute",)))
    ir = _ok(hwprof.load_results(store), "execute", "Ir")[0]
    modelled = _ok(hwprof.load_results(native_store), "execute", "model.instructions")[0]
    assert ir > 10_000
    assert abs(modelled - ir) <= 16, (modelled, ir)


def test_uarch_reaches_the_model(native_store, tmp_path):
    store = tmp_path / "zen3"
    collect(CollectConfig("2mm", runtime="native", size="mini", backend="frontend", repetitions=1, warmup=0,
                          results=store, count_phases=("execute",), sim_uarch="zen3"))
    zen3, skylake = hwprof.load_results(store), hwprof.load_results(native_store)
    assert zen3.runtime_flags.str.contains("--uarch=zen3").all()
    assert _ok(zen3, "execute", "model.instructions") == _ok(skylake, "execute", "model.instructions")[:1]
    # Zen 3's op cache indexes 64-byte windows (Skylake's DSB 32-byte ones): the same stream, other lookups.
    assert (_ok(zen3, "execute", "model.dsb_uops"), _ok(zen3, "execute", "model.mite_uops")) != \
        (_ok(skylake, "execute", "model.dsb_uops")[:1], _ok(skylake, "execute", "model.mite_uops")[:1])


def test_table_i_takes_the_rows_as_modelled(native_store, tmp_path):
    from hwprof.report.section import Entry
    from hwprof.report.tables import table1

    section = Entry("table1", "Table I", table1).build(hwprof.load_results(native_store))
    row = section.table[section.table.metric == "dsb_miss_rate"].iloc[0]
    assert row.source == "modelled" and row.status == schema.OK
    frame = hwprof.load_results(native_store)
    assert row.value == pytest.approx(_ok(frame, "execute", "dsb_miss_rate")[0])
    assert any("--uarch=skylake" in n for n in section.notes)


@pytest.mark.quick
def test_bad_uarch_is_one_line():
    with pytest.raises(BackendError, match=r"^--uarch: unknown microarchitecture 'pentium4'; known: .*skylake"):
        get("frontend", uarch="pentium4")
    out = subprocess.run([sys.executable, "-m", "hwprof", "collect", "2mm", "--uarch", "zen3"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].endswith("it needs --backend frontend")


@pytest.mark.quick
def test_campaign_spec_checks_uarch(tmp_path):
    from hwprof.campaign.spec import SpecError, parse

    spec = tmp_path / "c.toml"
    spec.write_text('[[matrix]]\nworkloads = ["2mm"]\ntargets = ["native"]\nbackend = "perf"\nuarch = "zen3"\n')
    with pytest.raises(SpecError, match="uarch .* needs backend"):
        parse(spec.read_text())
    spec.write_text('[[matrix]]\nworkloads = ["2mm"]\ntargets = ["native"]\nbackend = "frontend"\nuarch = "z80"\n')
    with pytest.raises(SpecError, match="unknown uarch 'z80'"):
        parse(spec.read_text())
    spec.write_text('[[matrix]]\nworkloads = ["2mm"]\ntargets = ["native"]\nbackend = "frontend"\nuarch = "zen4"\n')
    cells = parse(spec.read_text()).cells
    assert cells[0].config.sim_uarch == "zen4" and "uarch=zen4" in cells[0].key


def test_a_target_with_an_ahead_of_time_compile_is_modelled_on_its_execute_phase(tmp_path):
    """wasm2c-llvm compiles ahead of time in a process measured whole: that pass runs plainly, and its execute
    phase gets the model's counts (the plan once refused the whole target for the whole compile pass)."""
    store = tmp_path / "results"
    collect(CollectConfig("2mm", runtime="wasm2c-llvm", size="mini", backend="frontend", repetitions=1, warmup=0,
                          results=store))
    frame = hwprof.load_results(store)
    for name in MODEL_EVENTS:
        assert _ok(frame, "execute", name), name
    assert not _ok(frame, "compile", "model.instructions")
    assert _ok(frame, "compile", "wall_time")


@pytest.mark.quick
def test_a_uarch_file_of_ones_own_is_named_in_the_flags(tmp_path):
    """--uarch PATH: a copy of skylake.toml with the JCC rule off runs as its own name, and the flags say so."""
    from hwprof.frontend.uarch import UARCH_DIR

    text = (UARCH_DIR / "skylake.toml").read_text().replace('name = "skylake"', 'name = "skylake-nojcc"')
    path = tmp_path / "skylake-nojcc.toml"
    path.write_text(text.replace("applies = true", "applies = false", 1))
    assert get("frontend", uarch=str(path)).flags().startswith("--uarch=skylake-nojcc --jcc=off ")
    assert get("frontend").flags().startswith("--uarch=skylake --jcc=on ")
