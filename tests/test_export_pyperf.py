"""pyperf export of real runs, checked with pyperf's own command line (stats, show, compare_to)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pyperf
import pytest
import typer
from typer.testing import CliRunner

import hwprof
from hwprof.analysis import commands
from hwprof.analysis.export import ExportError, write_pyperf
from hwprof.collect import CollectConfig, collect
from hwprof.data.schema import Record
from hwprof.data.store import ResultStore

EVENTS = ("task_clock", "page_faults")
UNIT_FACTOR = {"sec": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """One store: 2mm and atax on wasmtime and native (cold, 3 repetitions) and warm (2 x 3 invocations)."""
    root = tmp_path_factory.mktemp("pyperf-store")
    for workload in ("2mm", "atax"):
        for runtime in ("wasmtime", "native"):
            collect(CollectConfig(workload, runtime, size="mini", repetitions=3, warmup=0, results=root,
                                  events=EVENTS, count_phases=("execute",)))
    for workload in ("2mm", "atax"):
        collect(CollectConfig(workload, "wasmtime", size="mini", repetitions=2, warmup=0, results=root,
                              events=EVENTS, mode="warm", invocations=3, count_phases=("execute",)))
    return root


@pytest.fixture(scope="module")
def exported(store, tmp_path_factory) -> dict[str, Path]:
    return {p.stem: p for p in write_pyperf(store, tmp_path_factory.mktemp("pyperf"))}


def pyperf_cli(*args) -> str:
    res = subprocess.run([sys.executable, "-m", "pyperf", *map(str, args)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    return res.stdout


def printed_means(stats_output: str) -> dict[str, tuple[float, int, str]]:
    """Benchmark name -> (mean as printed, its decimals, its unit) from `pyperf stats`."""
    out = {}
    for block in re.split(r"\n(?=\S+\n-+\n)", stats_output):
        head = block.split("\n", 1)[0]
        m = re.search(r"^Mean(?: \+- std dev)?: +(\d+)(?:\.(\d+))? (sec|ms|us|ns)", block, re.MULTILINE)
        if m and "[" in head:
            out[head] = (float(f"{m[1]}.{m[2] or 0}"), len(m[2] or ""), m[3])
    return out


def test_one_file_per_runtime_and_mode(exported):
    assert sorted(exported) == ["native-cold", "wasmtime-cold", "wasmtime-warm"]
    for path in exported.values():
        suite = pyperf.BenchmarkSuite.load(str(path))
        assert suite.get_benchmark_names() and all(re.fullmatch(r"\w+\[mini\]", n)
                                                   for n in suite.get_benchmark_names())


def test_pyperf_stats_prints_load_results_means(store, exported):
    frame = hwprof.load_results(store)
    rows = frame[(frame.phase == "execute") & (frame.name == "wall_time") & (frame.status == "ok")
                 & (frame.iteration >= 0)]
    checked = 0
    for stem, path in exported.items():
        runtime, mode = stem.split("-")
        mine = rows[(rows.runtime == runtime) & (rows.invocation == mode)]
        means = printed_means(pyperf_cli("stats", path))
        assert set(means) == {f"{w}[mini]" for w in mine.workload.unique()}
        for name, (printed, decimals, unit) in means.items():
            ours = mine[mine.workload == name.split("[")[0]].value.mean() * UNIT_FACTOR[unit]
            assert abs(printed - ours) <= 0.5 * 10 ** -decimals + 1e-12, (stem, name, printed, ours)
            checked += 1
    assert checked == 6


def test_warm_runs_hold_one_value_per_invocation(exported):
    bench = pyperf.BenchmarkSuite.load(str(exported["wasmtime-warm"])).get_benchmark("2mm[mini]")
    runs = bench.get_runs()
    assert len(runs) == 2 and [len(r.values) for r in runs] == [3, 3]
    meta = bench.get_metadata()
    assert meta["runtime"] == "wasmtime" and meta["invocation"] == "warm" and meta["unit"] == "second"
    assert meta["hwprof_version"] == hwprof.__version__ and meta["backend"] == "perf"
    assert meta["runtime_version"] and meta["cpu_model_name"] and "cranelift" in meta["runtime_flags"]


def test_pyperf_show_and_compare_to_name_every_benchmark(exported):
    for path in exported.values():
        names = pyperf.BenchmarkSuite.load(str(path)).get_benchmark_names()
        assert len(names) == 2   # pyperf prints names only for suites of several benchmarks
        shown = pyperf_cli("show", path)
        assert all(n in shown for n in names)
        assert all(f"- name: {n}" in pyperf_cli("show", "--metadata", "-b", n, path) for n in names)
    # pyperf names each benchmark either in its comparison or in its "hidden because not significant"
    # line (MINI kernels run for microseconds: native and wasmtime may not differ significantly).
    compared = pyperf_cli("compare_to", exported["native-cold"], exported["wasmtime-cold"])
    assert "2mm[mini]" in compared and "atax[mini]" in compared


def test_values_pyperf_refuses_and_bad_input_fail_clearly(store, tmp_path):
    with pytest.raises(ExportError, match="pyperf export takes times"):
        write_pyperf(store, tmp_path, name="page_faults")
    with pytest.raises(ExportError, match="no measured nope wall_time rows"):
        write_pyperf(store, tmp_path, phase="nope")
    with pytest.raises(ExportError, match="no such results store"):
        write_pyperf(tmp_path / "missing", tmp_path)
    # A zero wall time cannot be made by a real run; hand-written rows show the error pyperf's rule gives.
    zero = Record("wasmtime", "50", "x", "2mm", "mini", "cold", 0, "execute", "wall_time", "time", 0.0, "s")
    ResultStore(tmp_path / "zero").write_run("s", {}, [zero])
    with pytest.raises(ExportError, match="accepts only values > 0"):
        write_pyperf(tmp_path / "zero", tmp_path / "out")


def test_export_command_writes_files_and_rejects_unknown_formats(store, tmp_path):
    cli = typer.Typer()
    cli.command("trace")(commands.trace)
    cli.command("export")(commands.export)
    runner = CliRunner()
    res = runner.invoke(cli, ["export", str(store), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["native-cold.json", "wasmtime-cold.json",
                                                                 "wasmtime-warm.json"]
    assert res.output.count("wrote ") == 3
    res = runner.invoke(cli, ["export", str(store), "--format", "csv"])
    assert res.exit_code == 2 and "--format 'csv'" in res.stderr
    res = runner.invoke(cli, ["export", str(store), "--phase", "compile", "--event", "task_clock",
                              "--out", str(tmp_path / "none")])
    assert res.exit_code == 2 and "no measured compile task_clock rows" in res.stderr
