"""hwprof report: figures and tables from a small real store, checked against the raw rows and in headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from hwprof.codegen.run import CodegenConfig, run as run_codegen, store as store_codegen
from hwprof.collect import CollectConfig, collect
from hwprof.data.store import load_results
from hwprof.report import REPORTS, ReportError, build_report, build_sections, html
from hwprof.report.cli import report
from hwprof.report.section import Section

from browser import needs_chromium, open_in_chromium, problems

KERNELS = ("2mm", "atax", "gemm")
TARGETS = ("wasmtime", "wasmtime-winch", "native")
from hwprof.events import TABLE1_METRICS as TABLE_I


def run(store: Path, workload: str, runtime: str, size: str, reps: int, **kw) -> None:
    collect(CollectConfig(workload, runtime, size=size, repetitions=reps, warmup=0, results=store,
                          count_phases=("execute",), **{"events": ("task_clock",), **kw}))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """3 PolyBench kernels x 3 targets at MINI, a warm run, a matmul sweep, an edge app, Table I rows (~20 s)."""
    root = tmp_path_factory.mktemp("report") / "store"
    for kernel in KERNELS:
        for target in TARGETS:
            run(root, kernel, target, "mini", 3)
    for target in ("wasmtime", "wasmtime-winch"):
        run(root, "atax", target, "mini", 1, mode="warm", invocations=5)
    for size in ("30", "60"):
        for target in ("wasmtime", "native"):
            run(root, "matmul", target, size, 2)
    for target in ("wasmtime", "native"):
        run(root, "attitude", target, "small", 2)
    # Table I: the hardware events (not supported on a machine without a PMU) and the simulator's I1 figures.
    # The study's own CPU's map, named: the Table I rows must not depend on this machine's CPU model.
    run(root, "gemm", "wasmtime", "mini", 1, events=TABLE_I, event_map="skylake")
    run(root, "gemm", "native", "mini", 2, backend="cachegrind", events=("Ir", "I1mr", "l1i_miss_rate"))
    # The codegen section: each kernel's code under the two Wasmtime compilers, as `hwprof codegen` keeps it.
    for kernel in KERNELS:
        config = CodegenConfig(kernel, "mini", ("wasmtime", "wasmtime-winch"), function="main")   # kernels inline into main
        store_codegen(run_codegen(config), config, root)
    # Table II: a replay of a short trace kept in the store, from the store's own cold runs as profiles.
    from hwprof.schedule import trace
    from hwprof.schedule.run import ScheduleConfig, keep, simulated

    mix = (("matmul", "30"), ("attitude", "small"), ("matmul", "60"))
    trace_file = root.parent / "trace.csv"
    trace.write(trace_file, [trace.Request(2.0 * i, *mix[i % 3], i) for i in range(9)])
    replay = ScheduleConfig(trace_file, root)
    keep(replay, simulated(replay), "simulated", root)
    return root


@pytest.fixture(scope="module")
def frame(store):
    return load_results(store)


@pytest.fixture(scope="module")
def sections(frame):
    return {s.name: s for s in build_sections(frame)}


@pytest.fixture(scope="module")
def written(store, tmp_path_factory):
    return build_report(store, tmp_path_factory.mktemp("out") / "report")


def measured(frame, phase, invocation="cold"):
    """Wall times as the raw rows have them, under a real (not simulated) backend."""
    rows = frame[(frame["name"] == "wall_time") & (frame["status"] == "ok") & (frame["backend"] == "perf")
                 & (frame["phase"] == phase) & (frame["invocation"] == invocation)]
    return rows


def row(table, **match):
    hit = table
    for k, v in match.items():
        hit = hit[hit[k] == v]
    assert len(hit) == 1, f"{match}: {len(hit)} rows"
    return hit.iloc[0]


# ---- figures and tables against the raw rows -------------------------------------------------------------

def test_fig5_ratio_is_mean_execute_over_wasmtime(frame, sections):
    fig5 = sections["fig5"]
    assert not fig5.missing
    assert set(fig5.table["workload"]) == set(KERNELS) and set(fig5.table["target"]) == set(TARGETS)
    ex = measured(frame, "execute")
    for kernel in KERNELS:
        base = ex[(ex["workload"] == kernel) & (ex["runtime"] == "wasmtime")]["value"]
        for target in TARGETS:
            mine = ex[(ex["workload"] == kernel) & (ex["runtime"] == target)]["value"]
            r = row(fig5.table, workload=kernel, target=target)
            # Every perf run counts (the Table I run of gemm too: it is timed like the others); the cachegrind
            # gemm runs never enter a timing figure.
            assert r["n"] == len(mine) == (4 if (kernel, target) == ("gemm", "wasmtime") else 3)
            assert r["ratio"] == pytest.approx(mine.mean() / base.mean(), rel=1e-12)
            assert r["low"] <= r["ratio"] <= r["high"]
    assert row(fig5.table, workload="gemm", target="wasmtime")["ratio"] == pytest.approx(1.0)
    assert set(fig5.table.loc[fig5.table["target"] == "wasmtime", "verdict"]) == {"baseline"}
    assert "baseline" not in set(fig5.table.loc[fig5.table["target"] != "wasmtime", "verdict"])
    bars = {t.name: list(t.y) for t in fig5.figure.data}
    assert bars["wasmtime-winch"] == pytest.approx(list(fig5.table[fig5.table["target"] == "wasmtime-winch"]["ratio"]))


def test_fig7a_startup_is_bootstrap_compile_instantiate(frame, sections):
    t = sections["fig7a"].table
    rows = pd.concat([measured(frame, p) for p in ("bootstrap", "compile", "instantiate")])
    mine = rows[(rows["workload"] == "atax") & (rows["runtime"] == "wasmtime-winch")]
    expected = mine.groupby("run_id")["value"].sum().mean()
    r = row(t, workload="atax", target="wasmtime-winch")
    assert r["startup_s"] == pytest.approx(expected, rel=1e-12) and r["covers"] == "startup + execute"
    assert r["total_s"] == pytest.approx(r["startup_s"] + r["execute_s"], rel=1e-12)
    native = row(t, workload="atax", target="native")
    assert np.isnan(native["startup_s"]) and native["covers"] == "execute only"   # not measured, never 0
    assert any("native" in n for n in sections["fig7a"].notes)


def test_fig7b_one_process_with_n_invocations(frame, sections):
    t = sections["fig7b"].table
    r = row(t, workload="atax", target="wasmtime")
    execute = measured(frame, "execute", "warm")
    execute = execute[execute["runtime"] == "wasmtime"]
    assert r["invocations"] == 5 and sorted(execute["iteration"]) == [0, 1, 2, 3, 4]
    assert r["execute_s"] == pytest.approx(execute["value"].sum(), rel=1e-12)
    boot = pd.concat([measured(frame, p, "warm") for p in ("bootstrap", "compile")])
    assert r["startup_s"] == pytest.approx(boot[boot["runtime"] == "wasmtime"]["value"].sum(), rel=1e-12)
    assert "5 sequential invocations" in sections["fig7b"].figure.layout.title.text


def test_fig8_total_per_size_and_target(frame, sections):
    t = sections["fig8"].table
    assert list(t[t["target"] == "wasmtime"]["size"]) == ["30", "60"]
    rows = pd.concat([measured(frame, p) for p in ("bootstrap", "compile", "instantiate", "execute")])
    mine = rows[(rows["workload"] == "matmul") & (rows["size"] == "60") & (rows["runtime"] == "wasmtime")]
    assert row(t, size="60", target="wasmtime")["total_mean_s"] == pytest.approx(
        mine.groupby("run_id")["value"].sum().mean(), rel=1e-12)
    assert {tr.name for tr in sections["fig8"].figure.data} == {"wasmtime", "native (execute only)"}


def test_fig9_edge_app_with_ratio_only_where_comparable(sections):
    t = sections["fig9"].table
    assert set(t["workload"]) == {"attitude"}
    assert row(t, target="wasmtime")["total_ratio_to_baseline"] == pytest.approx(1.0)
    assert np.isnan(row(t, target="native")["total_ratio_to_baseline"])   # execute-only vs a full total


def test_table1_says_not_supported_per_cell_and_simulates_l1i(frame, sections):
    t1 = sections["table1"]
    hw = t1.table[(t1.table["workload"] == "gemm") & (t1.table["target"] == "wasmtime")]
    assert list(hw["metric"]) == list(TABLE_I) and set(hw["source"]) == {"hardware"}
    assert set(hw["status"]) == {"not_supported"} and hw["value"].isna().all()     # kept, never 0
    sim = t1.table[(t1.table["workload"] == "gemm") & (t1.table["target"] == "native")].set_index("metric")
    assert set(sim["source"]) == {"simulated"} and set(sim["backend"]) == {"cachegrind"}
    dsb = sim.loc[[m for m in TABLE_I if m.startswith("dsb")]]
    assert set(dsb["status"]) == {"unavailable"} and dsb["value"].isna().all()
    raw = frame[(frame["backend"] == "cachegrind") & (frame["phase"] == "execute")]
    per_run = raw.pivot_table(index="run_id", columns="name", values="value")
    assert sim.loc["l1i_misses", "value"] == pytest.approx(per_run["I1mr"].mean())
    assert sim.loc["l1i_hits", "value"] == pytest.approx((per_run["Ir"] - per_run["I1mr"]).mean())
    assert sim.loc["l1i_miss_rate", "value"] == pytest.approx(per_run["l1i_miss_rate"].mean())
    view = t1.view.set_index(["target", "source"])
    assert view.loc[("wasmtime", "hardware"), "dsb_miss_rate"] == "not supported"
    assert view.loc[("native", "simulated"), "dsb_hits"] == "unavailable"
    assert "l1i_hits" in per_run, "the simulator's map defines l1i_hits (events/sim-cachegrind.toml)"
    assert not any("Ir - I1mr" in n for n in t1.notes)
    # A store from before the map had l1i_misses / l1i_hits: computed from I1mr and Ir, and said so.
    older = frame[~((frame["backend"] == "cachegrind") & frame["name"].isin(["l1i_misses", "l1i_hits"]))]
    old = [s for s in build_sections(older, ["table1"])][0]
    sim_old = old.table[old.table["target"] == "native"].set_index("metric")
    assert sim_old.loc["l1i_hits", "value"] == pytest.approx((per_run["Ir"] - per_run["I1mr"]).mean())
    assert sim_old.loc["l1i_misses", "note"] == "= I1mr" and any("Ir - I1mr" in n for n in old.notes)


def test_slowdown_geometric_mean_over_shared_workloads(frame, sections):
    t = sections["slowdown"].table
    per = t[t["workload"] != "geometric mean"]
    ex = measured(frame, "execute")
    w = ex[(ex["workload"] == "2mm")]
    assert row(per, workload="2mm", target="wasmtime-winch")["ratio"] == pytest.approx(
        w[w["runtime"] == "wasmtime-winch"]["value"].mean() / w[w["runtime"] == "native"]["value"].mean(), rel=1e-12)
    for target in ("wasmtime", "wasmtime-winch"):
        shared = per[(per["target"] == target) & per["workload"].isin(KERNELS)]["ratio"]
        g = row(t, workload="geometric mean", target=target)
        assert g["n"] == 3 and g["ratio"] == pytest.approx(float(np.exp(np.log(shared).mean())), rel=1e-12)


def test_codegen_section_shows_the_stored_code_metrics_and_relates_them_to_fig5(frame, sections):
    code = sections["codegen"].table
    raw = frame[(frame["backend"] == "codegen") & frame["scope"].str.startswith("function=")]
    for kernel in KERNELS:
        for target in ("wasmtime", "wasmtime-winch"):
            stored = raw[(raw["workload"] == kernel) & (raw["runtime"] == target) & (raw["name"] == "instructions")]
            assert row(code, workload=kernel, target=target)["instructions"] == stored["value"].iloc[0]
    rank = sections["codegen_rank"].table.set_index("metric")
    # One target beside the baseline, three kernels: three pairs per metric, too few for an interval.
    assert rank.loc["instructions", "pairs"] == 3 and rank.loc["instructions", "verdict"] == "too few"


def test_every_figure_names_machine_cpu_backend_and_versions(frame, sections):
    first = frame.iloc[0]
    for s in sections.values():
        if s.name == "paired":
            continue            # needs a campaign with [[pairs]]; tests/test_paired.py renders it
        assert not s.missing, s.name
        facts = [f"machine {first['machine']}", first["cpu"], first["microarch"], first["perf_version"],
                 f"hwprof {first['hwprof_version']}"]
        if "runtime_version" in s.table:                 # every runtime shown, with its version
            facts += [f"{r} {v}" for r, v in set(zip(s.table["target"], s.table["runtime_version"])) if r in TARGETS]
        else:           # pairs: each side's runtime, versions from the rows (failures: what failed)
            shown = set(s.table.get("target_a", [])) | set(s.table.get("target_b", [])) | set(s.table.get("target", []))
            facts += [f"{r} {v}" for r, v in set(zip(frame["runtime"], frame["runtime_version"])) if r in shown]
        assert all(f in s.provenance for f in facts), (s.name, [f for f in facts if f not in s.provenance])
        if s.figure is not None:
            title = s.figure.layout.title.text.replace("<br><sup>", " ").replace("</sup>", "")
            assert all(f in title for f in facts), (s.name, [f for f in facts if f not in title])
            both = {"table1": "backend cachegrind, perf", "codegen_rank": "backend codegen, perf",
                    "table2": "backend schedule-sim"}
            assert both.get(s.name, "backend perf") in title
    assert "backend perf;" in sections["fig5"].provenance            # simulator wall times kept out
    assert "backend cachegrind, perf;" in sections["table1"].provenance


def test_missing_data_is_said_not_plotted(frame, tmp_path):
    only = frame[(frame["workload"] == "atax") & (frame["invocation"] == "cold") & (frame["runtime"] != "native")]
    built = {s.name: s for s in build_sections(only)}
    assert built["fig8"].missing.startswith("Fig. 8 needs cold matmul runs at several sizes; none")
    assert "warm" in built["fig7b"].missing and built["fig7b"].figure is None
    assert "native" in built["slowdown"].missing and "edge" in built["fig9"].missing
    assert not built["fig5"].missing
    one_size = frame[(frame["workload"] == "matmul") & (frame["size"] == "30")]
    assert "only size 30" in build_sections(one_size, ["fig8"])[0].missing
    out = build_report(only, tmp_path / "r")
    page = out.html.read_text()
    assert built["fig8"].missing in page and not (tmp_path / "r" / "fig8.csv").exists()
    assert page.count('class="plotly-graph-div') == sum(1 for s in built.values() if s.figure is not None)


def test_files_csv_markdown_and_atomic(written):
    out = written.html.parent
    for s in (s for s in written.sections if not s.missing):      # a missing section writes no CSV
        back = pd.read_csv(out / f"{s.name}.csv", dtype=str, keep_default_na=False)
        assert list(back.columns) == list(s.table.columns) and len(back) == len(s.table)
        assert f"## {s.title}" in (out / f"{s.name}.md").read_text()
    md = written.markdown.read_text()
    assert all(f"## {s.title}" in md for s in written.sections)
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"
    page = written.html.read_text()
    assert page.count("window.PlotlyConfig") == 1 and "<script src=" not in page   # plotly.js inline, once


def test_markdown_tables_are_well_formed(written):
    """Header and delimiter rows have the same number of cells, so GitHub renders the tables."""
    heads = _table_heads(written.markdown.read_text())
    assert len(heads) == len([s for s in written.sections if not s.missing])
    for line_no, (header, delim) in enumerate(heads):
        assert _cells(header) == _cells(delim), f"table {line_no}: {header!r} / {delim!r}"


def _table_heads(text):
    lines = text.splitlines()
    return [(lines[i], lines[i + 1]) for i in range(len(lines) - 1)
            if lines[i].startswith("| ") and "-" in lines[i + 1] and set(lines[i + 1]) <= set("|-: ")]


def _cells(line: str) -> int:
    return len(line.strip().strip("|").split("|"))


@pytest.mark.quick
def test_bad_input_gives_one_clear_error(tmp_path):
    with pytest.raises(ReportError, match="no such results store"):
        build_report(tmp_path / "nowhere", tmp_path / "out")
    (tmp_path / "empty" / "runs").mkdir(parents=True)
    with pytest.raises(ReportError, match="holds no results"):
        build_report(tmp_path / "empty", tmp_path / "out")
    with pytest.raises(ReportError, match="unknown report section fig6"):
        build_sections(pd.DataFrame({"x": [1]}), ["fig6"])
    assert {"fig5", "fig7a", "fig7b", "fig8", "fig9", "table1", "slowdown"} <= set(REPORTS)


# ---- the command -----------------------------------------------------------------------------------------

def cli_app() -> typer.Typer:
    app = typer.Typer()
    app.command()(report)
    app.command("noop")(lambda: None)        # two commands, so `report` is a subcommand as in hwprof
    return app


def test_cli_report_json_text_help_and_errors(store, tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli_app(), ["report", str(store), "--out", str(tmp_path / "o"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert Path(doc["html"]).is_file() and {s["name"] for s in doc["sections"]} == set(REPORTS)
    assert all(s["rows"] > 0 and not s["missing"] for s in doc["sections"] if s["name"] not in ("failures", "paired"))
    assert [s["rows"] for s in doc["sections"] if s["name"] == "failures"] == [0]      # nothing failed
    text = runner.invoke(cli_app(), ["report", str(store), "--out", str(tmp_path / "t")])
    assert text.exit_code == 0 and "fig5" in text.output and "report.html" in text.output
    helped = runner.invoke(cli_app(), ["report", "--help"])
    assert helped.exit_code == 0 and "Figs. 5, 7, 8, 9" in helped.output and "--out" in helped.output
    bad = runner.invoke(cli_app(), ["report", str(tmp_path / "nope")])
    assert bad.exit_code == 2 and "hwprof: error:" in bad.output and "no such results store" in bad.output


# ---- the page in a real headless browser -----------------------------------------------------------------

@needs_chromium
def test_report_page_renders_in_headless_chromium(written, tmp_path):
    seen = open_in_chromium(written.html, tmp_path / "profile")
    assert problems(seen) == []
    with_plots = [s for s in written.sections if s.figure is not None and not s.missing]
    assert len(seen["plots"]) == len(with_plots) == int(seen["status"]["data-plots"]) == 8   # table2 the 8th
    for s, p in zip(with_plots, seen["plots"]):
        assert p["svg_traces"] == len(s.figure.data), s.name        # every trace drawn
        assert int(p["data-points"]) > 0


@needs_chromium
def test_browser_check_catches_a_script_error_and_an_empty_plot(written, tmp_path):
    import plotly.graph_objects as go

    broken = tmp_path / "broken.html"
    bad_script = "</header><script>window.noSuchThing();</script>"
    broken.write_text(written.html.read_text().replace("</header>", bad_script, 1))
    seen = open_in_chromium(broken, tmp_path / "p1")
    found = problems(seen)
    assert seen["status"]["data-state"] == "error" and any("noSuchThing" in line for line in seen["uncaught"]), found
    empty = Section("empty", "An empty figure", pd.DataFrame({"x": []}), go.Figure(go.Bar(x=[], y=[])), "nowhere")
    fine = Section("fine", "A drawn figure", pd.DataFrame({"x": [1]}), go.Figure(go.Bar(x=["a"], y=[1.0])), "here")
    page = tmp_path / "empty.html"
    page.write_text(html.render([fine, empty], "test"))
    seen = open_in_chromium(page, tmp_path / "p2")
    assert seen["status"]["data-state"] == "empty"
    assert [p["data-rendered"] for p in seen["plots"]] == ["yes", "empty"]
    assert seen["plots"][1]["svg_marks"] == 0 and seen["plots"][0]["svg_marks"] == 1
    assert len(problems(seen)) == 2          # the page state and the one empty plot


@pytest.mark.quick
def test_fig7a_keeps_aot_compile_apart(tmp_path):
    store = tmp_path / "aot"
    run(store, "atax", "wasmtime-aot", "mini", 2)
    frame = load_results(store)
    fig7a = build_sections(frame, ["fig7a"])[0]
    r = row(fig7a.table, workload="atax", target="wasmtime-aot")
    aot = frame[(frame["phase"] == "aot_compile") & (frame["name"] == "wall_time")]
    startup = frame[frame["phase"].isin(["bootstrap", "compile", "instantiate"]) & (frame["name"] == "wall_time")]
    assert r["aot_compile_s"] == pytest.approx(aot.groupby("run_id")["value"].sum().mean(), rel=1e-12)
    assert r["startup_s"] == pytest.approx(startup.groupby("run_id")["value"].sum().mean(), rel=1e-12)
    assert any("aot_compile" in n for n in fig7a.notes)


def test_table1_prefers_pmu_counts_shaped_like_the_studys_table_i(frame):
    """No PMU here: the hardware rows get the study's published Table I values for 2mm on Wasmtime, to check
    that measured counts pass through, rates print as percentages and the simulator row is then left out."""
    study = {"dsb_misses": 3.98e10, "dsb_hits": 4.18e10, "dsb_miss_rate": 0.4874, "l1i_misses": 3.19e6,
             "l1i_hits": 6.92e9, "l1i_miss_rate": 3.19e6 / (3.19e6 + 6.92e9), "dsb_to_l1i_ref_ratio": 11.78195449}
    hw = frame[(frame["workload"] == "gemm") & (frame["runtime"] == "wasmtime") & frame["name"].isin(study)].copy()
    hw["value"], hw["status"], hw["note"] = hw["name"].map(study), "ok", ""
    sim = frame[frame["backend"] == "cachegrind"].assign(
        runtime="wasmtime", runtime_version=hw["runtime_version"].iloc[0], runtime_flags=hw["runtime_flags"].iloc[0])
    t1 = build_sections(pd.concat([hw, sim]), ["table1"])[0]
    assert set(t1.table["source"]) == {"hardware"}
    got = t1.table.set_index("metric")["value"]
    assert all(got[m] == pytest.approx(v) for m, v in study.items())
    assert t1.view.iloc[0]["dsb_miss_rate"] == "48.74%" and t1.view.iloc[0]["dsb_misses"] == "3.980E+10"


def test_failed_runs_are_listed_by_reason(bad_modules, tmp_path):
    """A trapping module's failed repetition appears in `failures` with the trap's line; good runs do not."""
    from hwprof.collect import CollectError

    store = tmp_path / "store"
    run(store, "2mm", "wasmtime", "mini", 2)
    with pytest.raises(CollectError):
        collect(CollectConfig(str(bad_modules["trap"]), "wasmtime", repetitions=2, warmup=0, results=store))
    (section,) = build_sections(load_results(store), ["failures"])
    assert not section.missing and len(section.table) == 1
    failed = section.table.iloc[0]
    assert failed["target"] == "wasmtime" and failed["runs"] == 1 and "unreachable" in failed["reason"]
    (clean,) = build_sections(load_results(store)[lambda f: f["status"] != "error"], ["failures"])
    assert clean.table.empty and clean.notes == ["No failed runs in these results."]
