"""`hwprof gem5-sweep`: the cachegrind sweep end to end on this machine (valgrind runs here), the gem5 runner
against a fake gem5 that writes gem5's documented stats.txt format (for machines without gem5; the real one
is test_gem5_real.py), the CLI's
no-gem5 / --write-only / bad-input paths through Typer's CliRunner, and the figures."""

from __future__ import annotations

import dataclasses
import json
import stat
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import hwprof
from hwprof.data import schema
from hwprof.gem5 import figures, gem5_sim, records, sweep
from hwprof.gem5.cli import gem5_sweep
from hwprof.gem5.sweep import SweepConfig, SweepError, plan, run_sweep

app = typer.Typer()
app.command("gem5-sweep")(gem5_sweep)
app.command("noop", hidden=True)(lambda: None)   # a second command keeps "gem5-sweep" a named subcommand
runner = CliRunner()

SIZES = ("1KiB", "2KiB", "4KiB", "8KiB")
WASMTIME_SIZES = ("1KiB", "16KiB")


def cli(*args, env=None):
    return runner.invoke(app, ["gem5-sweep", *[str(a) for a in args]], env=env)


def rows_by_point(records, name):
    """{(workload, target, sweep): value} of one metric."""
    return {(r.workload, r.runtime, r.sweep): r.value for r in records if r.name == name and r.status == schema.OK}


def comparable(records):
    """The rows without run identity: what must match between runs of the same points."""
    return sorted((r.workload, r.runtime, r.sweep, r.phase, r.name, r.kind, r.value, r.unit, r.backend)
                  for r in records)


def l1i_config(tmp: Path, target: str, sizes=SIZES) -> SweepConfig:
    return SweepConfig(kind="l1i", simulator="cachegrind", sizes=sizes, workloads=("2mm",), size="mini",
                       targets=(target,), outdir=tmp / "sweep", results=tmp / "results", workers=2, timeout=300)


@pytest.fixture(scope="module")
def l1i_sweep(tmp_path_factory):
    """A real cachegrind I1 sweep of 2mm (mini): natively over four sizes, under wasmtime over two, one folder."""
    tmp = tmp_path_factory.mktemp("l1i")
    events = []
    native = run_sweep(l1i_config(tmp, "native"), progress=events.append)
    wasmtime = run_sweep(l1i_config(tmp, "wasmtime", WASMTIME_SIZES))
    return l1i_config(tmp, "native"), native, wasmtime, events


def test_cachegrind_l1i_miss_rate_never_rises_as_i1_grows(l1i_sweep):
    _, native, wasmtime, _ = l1i_sweep
    assert native.failed == [] and native.ran == 4 and native.resumed == 0
    curve = [rows_by_point(native.records, "l1i_miss_rate")[("2mm", "native", f"l1i_size={s}")] for s in SIZES]
    assert all(0 < r < 1 for r in curve), curve
    # A property of an LRU set-associative cache whose sets double at a fixed associativity, not of hwprof.
    assert curve == sorted(curve, reverse=True) and curve[0] > curve[-1], curve
    # Under wasmtime the JIT's code and the host's markers are in the region too: more I1 misses when I1 is tiny.
    assert wasmtime.failed == [] and wasmtime.ran == 2
    rates = rows_by_point(wasmtime.records, "l1i_miss_rate")
    assert rates[("2mm", "wasmtime", "l1i_size=1KiB")] > rates[("2mm", "wasmtime", "l1i_size=16KiB")] > 0


def test_cachegrind_rows_are_tidy_labelled_and_one_run_file_per_point(l1i_sweep):
    config, native, wasmtime, events = l1i_sweep
    frame = hwprof.load_results(config.results)
    assert set(frame.backend) == {"cachegrind"} and set(frame.phase) == {"execute"}
    assert set(frame.kind) == {"event", "metric"}
    assert set(frame.sweep) == {f"l1i_size={s}" for s in SIZES + WASMTIME_SIZES}
    assert frame.groupby(["runtime", "sweep"]).run_id.nunique().eq(1).all()     # one run file per point
    assert frame.run_id.nunique() == len(native.run_files) + len(wasmtime.run_files) == 6
    assert {"l1i_miss_rate", "l1d_miss_rate", "I1mr", "Ir", "D1mr"} <= set(frame.name)
    doc = json.loads(native.run_files[0].read_text())
    prov = doc["provenance"]
    assert prov["simulator"] == "cachegrind" and prov["simulator_version"].startswith("valgrind-")
    assert Path(prov["config_path"]).name == "point.json" and Path(prov["config_path"]).exists()
    assert prov["machine"] and prov["sweep_kind"] == "l1i"
    size = prov["point"]["l1i_size"]
    assert doc["records"]                                 # (the two below hold for no rows at all)
    assert all(f"--I1={figures.size_value(size)},8,64" in r["runtime_flags"] for r in doc["records"])
    assert all(r["sweep"] == f"l1i_size={size}" for r in doc["records"])
    assert [e.status for e in events].count("ok") == 4 and events[-1].done == events[-1].total == 4
    # Each point is stored once, in the results store: its process's own collect left nothing behind.
    assert {p.name for p in Path(config.outdir).rglob("*.json")} == {"point.json", "done.json"}


def test_cachegrind_sweep_resumes_and_a_rerun_point_is_identical(l1i_sweep):
    config, first, _, _ = l1i_sweep
    again = run_sweep(config)
    assert (again.ran, again.resumed) == (0, 4)
    assert comparable(again.records) == comparable(first.records)
    redo = next(t for t in first.tasks if t.point.setting() == "l1i_size=2KiB")
    (redo.folder / sweep.DONE).unlink()
    third = run_sweep(config)
    assert (third.ran, third.resumed) == (1, 3)
    assert comparable(third.records) == comparable(first.records)     # the re-simulated point matches exactly


def test_cachegrind_sweep_in_a_fresh_folder_gives_identical_rows(l1i_sweep, tmp_path):
    _, first, _, _ = l1i_sweep
    again = run_sweep(l1i_config(tmp_path, "native"))
    assert again.ran == 4
    assert comparable(again.records) == comparable(first.records)


def test_fig11_is_self_contained_html_with_one_line_per_target(l1i_sweep):
    config, _, wasmtime, _ = l1i_sweep
    fig11 = Path(config.outdir) / "figures" / "fig11-cachegrind.html"
    assert fig11 in wasmtime.figures
    html = fig11.read_text()
    assert "<script src=" not in html and len(html) > 1_000_000       # plotly.js inline
    data = figures.curves(sweep.sweep_records(Path(config.outdir), "cachegrind"))
    assert set(data) == {"l1i_size"} and set(data["l1i_size"]) == {"2mm · native", "2mm · wasmtime"}
    assert [p[1] for p in data["l1i_size"]["2mm · native"]] == list(SIZES)
    assert "cachegrind valgrind-3" in html and "2mm \\u00b7 wasmtime" in html   # the legend, JSON-escaped


def test_cli_cachegrind_sweep_prints_a_table_and_json(l1i_sweep):
    config = l1i_sweep[0]
    args = ["--cache", "l1i", "--simulator", "cachegrind", "--sizes", ",".join(SIZES), "-w", "2mm", "-s", "mini",
            "-t", "native", "--outdir", config.outdir, "--results", config.results]     # the old spelling
    res = cli(*args)
    assert res.exit_code == 0, res.output
    assert "0 point(s) run, 4 already done" in res.stdout
    assert "l1i_size=8KiB" in res.stdout and "fig11-cachegrind.html" in res.stdout
    doc = json.loads(cli(*args, "--json").stdout)
    assert len(doc["rows"]) == 4 and {r["simulator"] for r in doc["rows"]} == {"cachegrind"}
    assert all(0 < r["l1i_miss_rate"] < 1 for r in doc["rows"])


def test_cli_one_point_argument_runs_only_that_point(tmp_path):
    res = cli("--cache", "l1d", "--simulator", "cachegrind", "2KiB", "-w", "2mm", "-s", "mini", "-t", "native",
              "--out", tmp_path / "sweep", "--results", tmp_path / "results", "--json", "-j", "1")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [r["sweep"] for r in doc["rows"]] == ["l1d_size=2KiB"] and doc["ran"] == 1


def test_bp_sweep_under_cachegrind_says_it_needs_gem5(tmp_path):
    res = cli("--bp", "--simulator", "cachegrind", "--out", tmp_path, "--results", tmp_path / "r")
    assert res.exit_code == 2
    assert res.stderr.strip().count("\n") == 0 and "branch-predictor sweeps need gem5" in res.stderr


@pytest.mark.parametrize("args, message", [
    ((), "choose one sweep"),
    (("--cache", "l2"), "choose l1i or l1d"),
    (("--cache", "l1i", "--bp"), "choose one sweep"),
    (("--cache", "l1i", "--simulator", "spike"), "unknown simulator"),
    (("--cache", "l1i", "--simulator", "cachegrind", "-t", "nosuchruntime"), "unknown runtime target"),
    (("--cache", "l1i", "-t", "wasmtime"), "gem5 runs the SE binaries"),
    (("--cache", "l1i", "--simulator", "cachegrind", "--checkpoint"), "--checkpoint is a gem5 option"),
    (("--cache", "l1i", "--simulator", "cachegrind", "--sizes", "3KiB", "-t", "native"), "not a power of two"),
    (("--cache", "l1i", "--simulator", "cachegrind", "--executor", "slurm", "-t", "native", "--sizes", "1KiB"),
     "unknown executor"),
    (("--cache", "l1i", "--gem5", "/no/such/gem5.opt"), "no such executable"),
])
def test_bad_input_is_one_line(tmp_path, args, message):
    res = cli(*args, "--out", tmp_path / "sweep", "--results", tmp_path / "results")
    assert res.exit_code == 2, res.output
    assert message in res.stderr and res.stderr.strip().count("\n") == 0, res.stderr


def test_gem5_sweep_has_help_text():
    res = cli("--help")
    assert res.exit_code == 0
    for option in ("--cache", "--bp", "--simulator", "--gem5", "--checkpoint", "--executor", "--scheduler",
                   "--write-only", "--json", "--out", "--results"):
        assert option in res.stdout
    assert "--outdir" not in res.stdout                  # the old spelling still works, unlisted


@pytest.mark.parametrize("spelling", ["--out", "-o", "--outdir"])
def test_the_sweep_folder_is_given_with_out_or_the_old_outdir(tmp_path, spelling):
    res = cli("--cache", "l1d", "--simulator", "cachegrind", "--sizes", "8KiB", "-w", "2mm", "-s", "mini", "-t",
              "native", "--write-only", spelling, tmp_path / "sweep", "--results", tmp_path / "results")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "sweep" / "cachegrind" / "2mm-mini" / "native" / "l1d-8KiB" / "point.json").is_file()
    assert f"written under {tmp_path / 'sweep' / 'cachegrind'}" in res.stdout
    assert not (tmp_path / "gem5-sweep").exists()         # not the default folder beside the results
    assert gem5_sweep.__doc__ and "Fig. 11" in gem5_sweep.__doc__


def test_table3_and_summary_from_rows_documented_format():
    """Table III and the printed summary from gem5-style bp rows (the sweep's own row shape)."""
    def rec(workload, runtime, bp, value):
        return ({}, schema.Record(runtime=runtime, runtime_version="", runtime_flags="", workload=workload,
                                  size="small", invocation="cold", repetition=0, phase="execute",
                                  name="branch_mispredict_rate", kind=schema.METRIC, value=value, unit="ratio",
                                  backend="gem5", sweep=f"bp={bp}"))
    pairs = [rec("2mm", "native", "LocalBP", 0.2215), rec("2mm", "native", "TournamentBP", 0.0273),
             rec("2mm", "wasm2c", "LocalBP", 0.1647)]
    rows = figures.table3(pairs)
    assert rows == [{"application": "2mm", "runtime": "native", "LocalBP": 22.15, "TournamentBP": 2.73},
                    {"application": "2mm", "runtime": "wasm2c", "LocalBP": 16.47}]
    summary = figures.summary([r for _, r in pairs])
    assert [(s["target"], s["sweep"], s["branch_mispredict_rate"]) for s in summary] == [
        ("native", "bp=LocalBP", 0.2215), ("native", "bp=TournamentBP", 0.0273), ("wasm2c", "bp=LocalBP", 0.1647)]
    assert {s["simulator"] for s in summary} == {"gem5"} and "22.1500" in figures.render(summary)


# ---- gem5 where there is none: a fake gem5.opt that behaves as gem5's documentation says ----
DOCUMENTED_STATS = Path(__file__).parent / "data" / "gem5" / "stats-v24-se-o3-documented-format.txt"
FAKE_GEM5 = '''#!{python}
"""A stand-in for gem5.opt: gem5's command line (--outdir=DIR, -r/-e redirect to DIR/simout, DIR/simerr),
its banner, a checkpoint folder with m5.cpt for a checkpoint run, and a stats.txt in gem5 v24's documented
format whose ROI L1I misses fall as the configured L1I grows (values made up, as in the documented file)."""
import os, re, sys, time
args = sys.argv[1:]
outdir = next(a.split("=", 1)[1] for a in args if a.startswith("--outdir="))
config = open(args[-1]).read()
os.makedirs(outdir, exist_ok=True)
with open(os.path.join(os.path.dirname(outdir), "calls.log"), "a") as log:
    log.write(args[-1] + "\\n")
with open(os.path.join(outdir, "simout"), "w") as out:
    out.write("gem5 Simulator System.  https://www.gem5.org\\ngem5 version 24.0.0.1\\ngem5 compiled Jan  1 2025\\n")
key = re.search(r"^# Machine: (\\S+)", config, re.M).group(1)
if os.environ.get("FAKE_GEM5_SLEEP"):
    time.sleep(float(os.environ["FAKE_GEM5_SLEEP"]))
if key == os.environ.get("FAKE_GEM5_FAIL"):
    open(os.path.join(outdir, "simerr"), "w").write("src/sim/syscall_emul.cc:85: fatal: syscall 435 unimplemented\\n")
    sys.exit(1)
run = re.search(r'^RUN = "(\\w+)"', config, re.M).group(1)
if run == "checkpoint":
    cpt = re.search(r"^CHECKPOINT_DIR = '([^']+)'", config, re.M).group(1)
    os.makedirs(cpt, exist_ok=True)
    open(os.path.join(cpt, "m5.cpt"), "w").write("[root]\\nfull_system=false\\n")
    sys.exit(0)
size_kib = int(re.search(r"l1i_size=(\\d+)KiB", config).group(1))
misses = 100000 * 8 // size_kib
text = open({stats!r}).read()
text = re.sub(r"(l1i-cache-0\\.demandMisses::total\\s+)100000", lambda m: m.group(1) + str(misses), text)
open(os.path.join(outdir, "stats.txt"), "w").write(text)
'''


@pytest.fixture
def fake_gem5(tmp_path):
    """The path of a fake gem5.opt (see FAKE_GEM5)."""
    path = tmp_path / "bin" / "gem5.opt"
    path.parent.mkdir()
    path.write_text(FAKE_GEM5.format(python=sys.executable, stats=str(DOCUMENTED_STATS)))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def gem5_config(tmp_path, gem5, **kw) -> SweepConfig:
    base = {"kind": "l1i", "simulator": "gem5", "sizes": ("8KiB", "16KiB", "32KiB"), "workloads": ("2mm",),
            "size": "mini", "targets": ("native", "wasm2c"), "outdir": tmp_path / "sweep",
            "results": tmp_path / "results", "gem5": str(gem5), "workers": 2, "timeout": 60}
    return SweepConfig(**{**base, **kw})


def test_gem5_sweep_runs_every_point_and_reads_its_stats_documented_format(tmp_path, fake_gem5):
    config = gem5_config(tmp_path, fake_gem5)
    result = run_sweep(config)
    assert result.failed == [] and result.ran == 6
    rates = rows_by_point(result.records, "l1i_miss_rate")
    for target in ("native", "wasm2c"):
        # The fake's ROI: 100000 * 8 KiB / size misses in 2,000,000 accesses, read back through stats.roi/derive.
        assert [rates[("2mm", target, f"l1i_size={s}")] for s in ("8KiB", "16KiB", "32KiB")] == \
            pytest.approx([0.05, 0.025, 0.0125])
    one = [r for r in result.records if r.runtime == "native" and r.sweep == "l1i_size=16KiB"]
    by_name = {r.name: r for r in one}
    assert by_name["l1i_misses"].value == 50000 and by_name["l1i_accesses"].value == 2000000
    assert by_name["ipc"].value == pytest.approx(2 / 3) and by_name["branch_mispredict_rate"].value == 0.05
    assert {r.backend for r in one} == {"gem5"} and {r.phase for r in one} == {"execute"}
    assert {r.kind for r in one} == {"metric", "event"} and {r.boundary for r in one} == {"markers"}
    assert "l1i_size=16KiB" in by_name["ipc"].runtime_flags and "2mm-mini-native" in by_name["ipc"].runtime_flags
    task = next(t for t in result.tasks if t.target == "wasm2c" and t.point.setting() == "l1i_size=8KiB")
    assert (task.folder / "m5out" / "stats.txt").exists() and (task.folder / "config.py").exists()
    doc = json.loads(Path(json.loads((task.folder / sweep.DONE).read_text())["run_file"]).read_text())
    prov = doc["provenance"]
    assert prov["simulator"] == "gem5" and prov["simulator_version"] == "24.0.0.1"
    assert prov["config_path"] == str((task.folder / "config.py").resolve()) and prov["config_gem5_version"]
    assert prov["machine"] and prov["point"]["l1i_size"] == "8KiB"
    assert (Path(config.outdir) / "figures" / "fig11-gem5.html") in result.figures
    calls = len((task.folder / "calls.log").read_text().splitlines())
    again = run_sweep(config)                                  # resumable: nothing runs twice
    assert (again.ran, again.resumed) == (0, 6)
    assert len((task.folder / "calls.log").read_text().splitlines()) == calls == 1


def test_a_sweep_reads_each_stored_point_at_most_once_documented_format(tmp_path, fake_gem5, monkeypatch):
    reads = []
    real = records.read_run
    monkeypatch.setattr(records, "read_run", lambda path: reads.append(Path(path)) or real(path))
    config = gem5_config(tmp_path, fake_gem5, targets=("native",))
    first = run_sweep(config)
    per_point = len(sweep.GEM5_METRICS) + len(sweep.GEM5_COUNTS)
    assert first.ran == 3 and len(first.records) == 3 * per_point and reads == []    # stored now: not read back
    again = run_sweep(config)
    assert again.resumed == 3 and sorted(reads) == sorted(first.run_files)     # each resumed point read once
    assert comparable(again.records) == comparable(first.records)


def test_gem5_checkpoint_is_taken_once_and_restored_at_every_point_documented_format(tmp_path, fake_gem5):
    config = gem5_config(tmp_path, fake_gem5, targets=("native",), checkpoint=True)
    result = run_sweep(config)
    assert result.failed == [] and result.ran == 4                          # one checkpoint, three points
    ckpt = next(t for t in result.tasks if t.checkpoint)
    assert result.tasks[0] is ckpt and (ckpt.checkpoint / "m5.cpt").exists()
    for t in result.tasks[1:]:
        text = t.config_path.read_text()
        assert 'RUN = "restore"' in text and str(ckpt.checkpoint) in text and t.restore == ckpt.checkpoint
    assert 'RUN = "checkpoint"' in ckpt.config_path.read_text()
    assert {json.loads(Path(json.loads((t.folder / sweep.DONE).read_text())["run_file"]).read_text())
            ["provenance"]["checkpoint"] for t in result.tasks[1:]} == {str(ckpt.checkpoint)}
    assert len(rows_by_point(result.records, "l1i_miss_rate")) == 3
    again = run_sweep(config)
    assert (again.ran, again.resumed) == (0, 4)


def test_a_failing_gem5_point_is_one_line_and_the_others_are_kept_documented_format(tmp_path, fake_gem5,
                                                                                     monkeypatch):
    monkeypatch.setenv("FAKE_GEM5_FAIL", "l1i-16KiB")
    args = ["--cache", "l1i", "--sizes", "8KiB,16KiB", "-w", "2mm", "-s", "mini", "-t", "native", "--gem5",
            fake_gem5, "--out", tmp_path / "sweep", "--results", tmp_path / "results"]
    res = cli(*args)
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines()[-1] == ("hwprof: error: 1 of 2 point(s) failed; first: 2mm/native "
                                                    "l1i_size=16KiB: gem5 exited with status 1: src/sim/syscall_emul."
                                                    "cc:85: fatal: syscall 435 unimplemented")
    frame = hwprof.load_results(tmp_path / "results")
    assert set(frame[frame.status == "ok"].sweep) == {"l1i_size=8KiB"}
    assert list(frame[frame.status == "error"].sweep) == ["l1i_size=16KiB"]
    monkeypatch.delenv("FAKE_GEM5_FAIL")
    res = cli(*args, "--json")                                 # the failed point runs again, the other does not
    assert res.exit_code == 0, res.output
    assert (json.loads(res.stdout)["ran"], json.loads(res.stdout)["resumed"]) == (1, 1)


def test_a_gem5_point_past_its_timeout_is_killed_documented_format(tmp_path, fake_gem5, monkeypatch):
    monkeypatch.setenv("FAKE_GEM5_SLEEP", "30")
    result = run_sweep(gem5_config(tmp_path, fake_gem5, sizes=("8KiB",), targets=("native",), timeout=1))
    line = "2mm/native l1i_size=8KiB: gem5 timed out after 1 s (raise it with --timeout)"
    assert result.ran == 0 and result.failed == [("2mm/native l1i_size=8KiB", line)]


def test_no_gem5_writes_the_configs_prints_how_to_run_and_fails_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(gem5_sim, "SHARED_GEM5", tmp_path / "no-shared" / "gem5.fast")
    empty = tmp_path / "empty"
    empty.mkdir()
    args = ["--bp", "-w", "2mm", "-s", "mini", "--out", tmp_path / "sweep", "--results", tmp_path / "results"]
    res = cli(*args, env={"PATH": f"{empty}:/usr/bin:/bin"})
    assert res.exit_code == 1
    assert res.stderr.strip().count("\n") == 0 and "gem5 is not installed" in res.stderr
    configs = sorted((tmp_path / "sweep" / "gem5").rglob("config.py"))
    assert len(configs) == 6                                  # 3 predictors x native, wasm2c
    assert {c.parent.name for c in configs} == {"bp-LocalBP", "bp-BiModeBP", "bp-TournamentBP"}
    assert "BiModeBP(" in (tmp_path / "sweep" / "gem5" / "2mm-mini" / "wasm2c" / "bp-BiModeBP" / "config.py").read_text()
    script = tmp_path / "sweep" / "gem5" / sweep.RUN_SCRIPT
    assert str(script) in res.stdout and "GEM5=/path/to/gem5.opt" in res.stdout
    assert script.read_text().count('"$GEM5" --outdir=') == 6
    assert not (tmp_path / "results").exists()                # nothing ran, nothing stored


def test_write_only_writes_the_configs_and_exits_0(tmp_path, fake_gem5):
    res = cli("--cache", "l1d", "-w", "2mm", "-s", "mini", "-t", "native", "--write-only", "--gem5", fake_gem5,
              "--out", tmp_path / "sweep", "--results", tmp_path / "results")
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "sweep" / "gem5").rglob("config.py"))) == 5    # the default L1D sizes
    point = tmp_path / "sweep" / "gem5" / "2mm-mini" / "native" / "l1d-8KiB"
    assert (point / "config.py").is_file() and not (point / "m5out").exists()   # written, not run
    assert "run-gem5.sh" in res.stdout


def test_table3_from_a_gem5_bp_sweep_documented_format(tmp_path, fake_gem5):
    result = run_sweep(gem5_config(tmp_path, fake_gem5, kind="bp", sizes=(), targets=("native",)))
    assert result.ran == 3
    md = (Path(result.config.outdir) / "figures" / "table3.md").read_text()
    # The study's column order (2-bit, bi-mode, tournament); the documented file's 12500 / 250000 = 5 %.
    assert "| application | runtime | LocalBP | BiModeBP | TournamentBP |\n" in md
    assert "| 2mm | native | 5.0 | 5.0 | 5.0 |\n" in md
    csv_rows = (Path(result.config.outdir) / "figures" / "table3.csv").read_text().splitlines()
    assert csv_rows == ["application,runtime,LocalBP,BiModeBP,TournamentBP", "2mm,native,5.0,5.0,5.0"]


def test_a_point_done_for_another_results_store_runs_again_for_this_one(tmp_path):
    first = run_sweep(l1i_config(tmp_path, "native", ("2KiB",)))
    moved = dataclasses.replace(l1i_config(tmp_path, "native", ("2KiB",)), results=tmp_path / "elsewhere")
    again = run_sweep(moved)
    assert (first.ran, again.ran, again.resumed) == (1, 1, 0)
    assert len(hwprof.load_results(tmp_path / "elsewhere")) == len(first.records) > 0


def test_fs_mode_writes_one_readfile_configuration_per_point(tmp_path):
    """FS mode: the user's kernel and disk, the guest command through readfile; labelled by -t."""
    kernel, disk = tmp_path / "vmlinux", tmp_path / "disk.img"
    kernel.write_bytes(b"\x7fELF")
    disk.write_bytes(b"\0" * 512)
    config = SweepConfig(kind="l1i", sizes=("16KiB", "32KiB"), workloads=("2mm",), targets=("wasmtime",),
                         outdir=tmp_path / "sweep", results=tmp_path / "results", fs_kernel=str(kernel),
                         fs_disk=str(disk), fs_command="wasmtime /root/{workload}-{size}.wasm", write_only=True)
    tasks = plan(config)
    assert [t.point.setting() for t in tasks] == ["l1i_size=16KiB", "l1i_size=32KiB"]
    text = tasks[0].config_path.read_text()
    compile(text, str(tasks[0].config_path), "exec")
    assert "wasmtime /root/2mm-small.wasm" in text and str(disk.resolve()) in text and "m5 workbegin" in text
    assert "/fs-wasmtime/" in str(tasks[0].config_path)
    with pytest.raises(SweepError, match="together"):
        plan(dataclasses.replace(config, fs_disk=None))
    with pytest.raises(SweepError, match="no such file"):
        plan(dataclasses.replace(config, fs_kernel=str(tmp_path / "nope")))
    with pytest.raises(SweepError, match="gem5 mode"):
        plan(dataclasses.replace(config, simulator="cachegrind"))


def test_the_default_size_is_small_where_a_workload_has_it_else_its_own_default(tmp_path):
    config = SweepConfig(kind="l1i", simulator="cachegrind", sizes=("8KiB",), workloads=("2mm", "inflate"),
                         targets=("native",), outdir=tmp_path / "s", results=tmp_path / "r")
    assert [(t.workload, t.size) for t in plan(config)] == [("2mm", "small"), ("inflate", "default")]
    with pytest.raises(SweepError, match="inflate has no size 'small'"):
        plan(dataclasses.replace(config, size="small"))


def test_a_finished_point_runs_again_when_its_configuration_changes(tmp_path):
    """done.json carries the configuration's digest: another machine or binary re-runs the point, a rerun does not."""
    config = SweepConfig(kind="l1i", simulator="cachegrind", sizes=("8KiB",), workloads=("2mm",), size="mini",
                         targets=("native",), outdir=tmp_path / "s", results=tmp_path / "r")
    first = run_sweep(config)
    assert first.ran == 1 and run_sweep(config).resumed == 1
    (task,) = sweep.plan(config)
    doc = json.loads((task.folder / sweep.DONE).read_text())
    assert doc["config_sha256"] == sweep.config_digest(task) and sweep.is_done(task, config.results)
    spec = json.loads(task.config_path.read_text())
    d1 = spec["geometry"][1][1]
    spec["geometry"][1][1] = d1.replace(",8,", ",4,")                      # as if the planned D1 had changed
    assert spec["geometry"][1] == ["D1", d1.replace(",8,", ",4,")] and d1.endswith(",8,64")
    task.config_path.write_text(json.dumps(spec, indent=1, sort_keys=True) + "\n")   # as the plan writes it
    assert doc["config_sha256"] != sweep.config_digest(task) and not sweep.is_done(task, config.results)
