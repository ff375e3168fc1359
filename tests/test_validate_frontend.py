"""hwprof validate-frontend: a real modelled side (a traced C loop through the model) against perf rows made from
perf stat's documented -x output by the perf backend's own parser and the records path (no PMU here)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hwprof.backends import Count
from hwprof.backends.perf import parse_stat_csv
from hwprof.cli import app
from hwprof.data import schema
from hwprof.data.schema import Identity
from hwprof.data.store import ResultStore, load_results
from hwprof.events import load as load_map
from hwprof.records import RecordBuilder

needs_valgrind = pytest.mark.skipif(not (shutil.which("valgrind") and shutil.which("cc")
                                         and Path("/usr/include/valgrind/callgrind.h").exists()),
                                    reason="needs valgrind, its headers and a C compiler")

PROGRAM = r"""
#include <valgrind/callgrind.h>
volatile int sink;
__attribute__((noinline)) void work(int n) { for (int i = 0; i < n; i++) sink += i; }
int main(void) {
    CALLGRIND_TOGGLE_COLLECT;
    work(1000);
    CALLGRIND_TOGGLE_COLLECT;
    CALLGRIND_DUMP_STATS_AT("execute");
    for (int k = 0; k < 20000; k++) work(5);
    return 0;
}
"""
CELL = dict(runtime="native", runtime_version="cc", workload="loop", size="SMALL")
# perf stat -x ';' as perf's documentation gives it: value;unit;event;run time;running %;[metric;unit]
PERF_CSV = """\
{dsb};;idq.dsb_uops;1012345678;100.00;;
{mite};;idq.mite_uops;1012345678;100.00;;
{hit};;icache_64b.iftag_hit;1012345678;100.00;;
{miss};;icache_64b.iftag_miss;1012345678;100.00;;
"""
SKYLAKE_PMU = {"cpu": "Intel(R) Core(TM) i7-6700 CPU @ 3.40GHz", "microarch": "skylake", "arch": "x86_64"}


@pytest.fixture(scope="module")
def modelled(tmp_path_factory):
    """The model's rows of a real traced phase, written as the frontend backend labels them."""
    from hwprof.frontend import stream, trace, uarch
    d = tmp_path_factory.mktemp("validate")
    (d / "loop.c").write_text(PROGRAM)
    subprocess.run(["cc", "-O1", "-o", str(d / "loop"), str(d / "loop.c")], check=True)
    got = stream.simulate(trace.run([str(d / "loop")]), uarch.load("skylake"))
    ident = Identity(**CELL, runtime_flags="-O1; sim: --uarch=skylake --jcc=on --model=hwprof-frontend-0.1", backend="frontend")
    rows = []
    for name, value in got.metrics().items():
        kind = schema.METRIC if name.endswith(("rate", "ratio")) else schema.EVENT
        unit = "ratio" if kind == schema.METRIC else ""
        rows.append(ident.record(repetition=0, phase="execute", name=name, kind=kind, value=value, unit=unit))
    return rows


def measured(rep: int, dsb: int, mite: int, hit: int, miss: int, workload: str = "loop",
             flags: str = "-O1") -> list[schema.Record]:
    """One perf repetition's rows: documented CSV -> the perf parser -> RecordBuilder (metrics from skylake's map)."""
    emap = load_map("skylake")
    parsed = parse_stat_csv(PERF_CSV.format(dsb=dsb, mite=mite, hit=hit, miss=miss))
    names = ["IDQ.DSB_UOPS", "IDQ.MITE_UOPS", "ICACHE_64B.IFTAG_HIT", "ICACHE_64B.IFTAG_MISS"]
    counts = [Count("execute", n, r["value"], r["status"], "", r["running_pct"]) for n, r in zip(names, parsed)]
    ident = Identity(**{**CELL, "workload": workload}, runtime_flags=flags, backend="perf")
    wanted = {n: emap.metrics[n] for n in ("dsb_miss_rate", "dsb_hits", "dsb_misses", "l1i_hits", "l1i_misses")}
    builder = RecordBuilder(ident, False, emap, emap, wanted, {})
    return builder.phase_records(rep, "execute", counts, [0.01], "")


def store(tmp_path, modelled, perf_reps, prov=SKYLAKE_PMU, extra_model=()):
    s = ResultStore(tmp_path / "store")
    s.write_run("s1", {"cpu": "this VM", "microarch": "", "arch": "x86_64"}, list(modelled) + list(extra_model))
    for rep, values in enumerate(perf_reps):
        s.write_run("s1", prov, measured(rep, *values))
    return s.root


def run(*args):
    return CliRunner().invoke(app, ["validate-frontend", *map(str, args)])


@needs_valgrind
def test_error_against_the_documented_perf_format(tmp_path, modelled):
    root = store(tmp_path, modelled, [(6000, 400, 900, 10), (6200, 600, 1100, 14)])
    out = run(root, "--json")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    frame = load_results(root)
    cells = {c["name"]: c for c in doc["cells"]}
    for name in ("dsb_hits", "dsb_misses", "dsb_miss_rate", "l1i_misses"):
        model = frame[(frame.backend == "frontend") & (frame.name == name)]["value"].mean()
        meas = frame[(frame.backend == "perf") & (frame.name == name)]["value"].mean()
        assert cells[name]["n"] == 2 and cells[name]["measured"] == pytest.approx(meas)
        assert cells[name]["rel_error"] == pytest.approx((model - meas) / meas)
    # the measured rate is perf's own: MITE / (MITE + DSB) per repetition, averaged over the two
    assert cells["dsb_miss_rate"]["measured"] == pytest.approx((400 / 6400 + 600 / 6800) / 2)
    assert cells["dsb_miss_rate"]["abs_error_pp"] == pytest.approx(
        (cells["dsb_miss_rate"]["modelled"] - cells["dsb_miss_rate"]["measured"]) * 100)
    summary = {s["name"]: s for s in doc["summary"]}
    assert summary["dsb_hits"]["median_abs_rel_error"] == pytest.approx(abs(cells["dsb_hits"]["rel_error"]))
    assert doc["model_uarch"] == "skylake" and doc["measured_microarch"] == "skylake" and doc["mismatch"] is None
    table = run(root)
    assert table.exit_code == 0 and "--uarch=skylake" in table.stdout and "i7-6700" in table.stdout


@needs_valgrind
def test_a_cell_without_measured_rows_and_a_mismatched_machine_are_said(tmp_path, modelled):
    other = [r.__class__(**{**r.to_dict(), "workload": "other"}) for r in modelled]
    zen3 = {"cpu": "AMD Ryzen 9 5950X", "microarch": "zen3", "arch": "x86_64"}
    root = store(tmp_path, modelled, [(6000, 400, 900, 10)], prov=zen3, extra_model=other)
    doc = json.loads(run(root, "--json").stdout)
    lonely = [c for c in doc["cells"] if c["workload"] == "other"]
    assert lonely and all(c["status"] == "no measured rows" and c["measured"] is None for c in lonely)
    assert "zen3" in doc["mismatch"] and "skylake" in doc["mismatch"]
    out = run(root)
    assert "the model ran as skylake" in out.stderr and "no measured rows" in out.stdout


@needs_valgrind
def test_unsupported_measured_events_are_a_status_not_an_error(tmp_path, modelled):
    s = ResultStore(tmp_path / "store")
    s.write_run("s1", {}, modelled)
    emap = load_map("skylake")
    ident = Identity(**CELL, runtime_flags="-O1", backend="perf")
    parsed = parse_stat_csv("<not supported>;;idq.dsb_uops;0;100.00;;\n<not supported>;;idq.mite_uops;0;100.00;;\n")
    counts = [Count("execute", n, r["value"], r["status"]) for n, r in zip(["IDQ.DSB_UOPS", "IDQ.MITE_UOPS"], parsed)]
    rows = RecordBuilder(ident, False, emap, emap, {"dsb_miss_rate": emap.metrics["dsb_miss_rate"]}, {}) \
        .phase_records(0, "execute", counts, [0.01], "")
    s.write_run("s1", SKYLAKE_PMU, rows)
    cells = {c["name"]: c for c in json.loads(run(s.root, "--json").stdout)["cells"]}
    assert cells["dsb_miss_rate"]["status"] == "measured unavailable" and cells["dsb_miss_rate"]["rel_error"] is None
    assert cells["dsb_hits"]["status"] == "no measured rows"   # perf's dsb_hits metric was not asked for here


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    missing = run(tmp_path / "nope")
    assert missing.exit_code == 2 and missing.stderr.count("\n") == 1 and "no such results store" in missing.stderr
    s = ResultStore(tmp_path / "perf-only")
    s.write_run("s1", SKYLAKE_PMU, measured(0, 6000, 400, 900, 10))
    out = run(s.root)
    assert out.exit_code == 2 and "no frontend (modelled) rows" in out.stderr and out.stderr.count("\n") == 1


@needs_valgrind
def test_no_measured_rows_is_one_line_and_exit_2(tmp_path, modelled):
    s = ResultStore(tmp_path / "model-only")
    s.write_run("s1", {}, modelled)
    out = run(s.root)
    assert out.exit_code == 2 and "no measured rows" in out.stderr and out.stderr.count("\n") == 1


@needs_valgrind
def test_other_target_flags_or_two_geometries_are_never_pooled(tmp_path, modelled):
    """Measured rows of the same workload built with other flags are another cell; model rows of two uarchs in one
    store are refused in one line unless --uarch picks one."""
    s = ResultStore(tmp_path / "store")
    zen3 = [r.__class__(**{**r.to_dict(), "runtime_flags": r.runtime_flags.replace("skylake", "zen3")})
            for r in modelled]
    s.write_run("s1", {}, list(modelled) + zen3)
    s.write_run("s1", SKYLAKE_PMU, measured(0, 6000, 400, 900, 10, flags="-O3"))
    both = run(s.root)
    assert both.exit_code == 2 and both.stderr.count("\n") == 1 and "skylake, zen3" in both.stderr
    doc = json.loads(run(s.root, "--uarch", "skylake", "--json").stdout)
    assert doc["cells"] and all(c["status"] == "no measured rows" for c in doc["cells"])   # -O1 modelled, -O3 measured
    s.write_run("s1", SKYLAKE_PMU, measured(0, 6000, 400, 900, 10))
    doc = json.loads(run(s.root, "--uarch", "skylake", "--json").stdout)
    assert {c["status"] for c in doc["cells"] if c["name"] == "dsb_miss_rate"} == {"ok"}


@pytest.mark.parametrize("model, measured_on, warned", [
    ("icelake", "rocketlake", False),        # Cypress Cove is Sunny Cove: icelake.toml lists rocketlake
    ("goldencove", "sapphirerapids", False),
    ("goldencove", "alderlake", False),
    ("skylake", "cascadelakex", False),
    ("skylake", "sapphirerapids", True),
    ("goldencove", "meteorlake", True),      # Redwood Cove's L1I is 64 KiB: not Golden Cove's geometry
    ("zen3", "zen4", True),
])
def test_the_uarch_mismatch_follows_the_uarch_files_event_maps(model, measured_on, warned):
    from hwprof.analysis.validate_frontend import Provenance

    said = Provenance(model, "some CPU", measured_on).mismatch()
    assert (said is not None) == warned and (not warned or measured_on in said)


def test_every_uarch_file_names_event_maps_that_exist():
    from hwprof.data.paths import events_dir
    from hwprof.frontend import uarch

    for name in uarch.names():
        maps = uarch.load(name).event_maps
        assert maps and all((events_dir() / f"{m}.toml").exists() for m in maps), name
