"""Campaigns: spec parsing, the scheduler's order and stopping rules, and a real campaign killed and resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from hwprof.campaign import SpecError, parse
from hwprof.campaign.spec import Cell, Repetitions
from hwprof.campaign.state import CellState, Run, next_cell, read_state
from hwprof.campaign.stopping import AT_MAX, CONVERGED, FAILED
from hwprof.collect import CollectConfig
from hwprof.analysis.verdict import compare
from hwprof.data.store import load_results, read_run
from hwprof.report import build_report, build_sections

from browser import needs_chromium, open_in_chromium, problems

HWPROF = [sys.executable, "-m", "hwprof"]
SMALL = """
[campaign]
name = "small"
seed = 11
events = ["task_clock"]
count_phases = ["execute"]
warmup = 0

[repetitions]
min = 4
max = 4

[[matrix]]
workloads = ["2mm", "atax", "gemm"]
sizes = ["mini"]
targets = ["wasmtime", "wasmtime-winch", "native"]
"""


@pytest.mark.quick
def test_a_spec_expands_to_its_cells():
    spec = parse(SMALL)
    assert len(spec.cells) == 9 and len({c.key for c in spec.cells}) == 9
    assert {c.config.runtime for c in spec.cells} == {"wasmtime", "wasmtime-winch", "native"}
    assert all(c.config.count_phases == ("execute",) and c.config.size == "mini" for c in spec.cells)
    suite = parse('[[matrix]]\nworkloads = ["@polybench"]\ntargets = ["wasmtime"]\nmodes = ["cold", "warm"]\n')
    assert len(suite.cells) == 60 and suite.repetitions == Repetitions()
    assert parse(SMALL).digest == spec.digest != parse(SMALL.replace("max = 4", "max = 5")).digest
    own = parse(SMALL + '[[matrix]]\nworkloads = ["2mm"]\ntargets = ["wasmtime"]\nbackend = "cachegrind"\n'
                 'repetitions = {min = 1, max = 1}\n')
    assert own.cells[-1].repetitions == Repetitions(min=1, max=1) and own.cells[0].repetitions.min == 4


@pytest.mark.parametrize("text, message", [
    ("[[matrix]]\nworkloads = ['nope']\ntargets = ['wasmtime']", "unknown workload 'nope'"),
    ("[[matrix]]\nworkloads = ['2mm']\nsizes = ['huge']\ntargets = ['wasmtime']", "2mm has no size 'huge'"),
    ("[[matrix]]\nworkloads = ['2mm']\ntargets = ['spidermonkey']", "unknown target 'spidermonkey'"),
    ("[[matrix]]\nworkloads = ['@nope']\ntargets = ['wasmtime']", "no workload suite '@nope'"),
    ("[[matrix]]\nworkloads = ['2mm']\ntargets = ['wasmtime']\nbackend = 'oprofile'", "unknown backend"),
    ("[[matrix]]\nworkloads = ['2mm']\ntargets = ['wasmtime']\nmodes = ['hot']", "unknown mode 'hot'"),
    ("[[matrix]]\nworkloads = ['2mm']\ntargets = ['wasmtime']\nrepeat = 3", "unknown keys ['repeat']"),
    ("[repetitions]\nmin = 5\nmax = 2\n[[matrix]]\nworkloads = ['2mm']\ntargets = ['wasmtime']", "min <= max"),
    ("[[matrix]]\nworkloads = ['2mm']\ntargets = ['wasmtime']\nrepetitions = {most = 2}", "repetitions takes only"),
    ("[campaign]\nname = 'x'", "no [[matrix]] block"),
    ("[campaign]\nseed = 'x'\n[[matrix]]\nworkloads = ['2mm']\ntargets = ['wasmtime']", "seed must be a whole number"),
    ("[repetitions]\nmin = 'a'\n[[matrix]]\nworkloads = ['2mm']\ntargets = ['wasmtime']", "min must be a whole"),
    ("[[matrix]]\nworkloads = ['2mm']\ntargets = ['wasmtime']\ntimeout = 'x'", "timeout must be a number"),
    ("[[matrix]]\nworkloads = ['2mm']\ntargets = ['wasmtime']\n[[matrix]]\nworkloads = ['2mm']\n"
     "targets = ['wasmtime']\ntimeout = 5", "appears twice with different"),
    ("[[matrix]\n", "not valid TOML"),
])
def test_bad_specs_fail_with_one_line_naming_the_block(text, message):
    with pytest.raises(SpecError) as exc:
        parse(text, "c.toml")
    assert message in str(exc.value) and str(exc.value).startswith("c.toml") and "\n" not in str(exc.value)


def cell(name, **policy):
    return Cell(CollectConfig(name, runtime="wasmtime", size="mini", backend="perf"), **policy)


def state(c, values, **kw):
    return CellState(c, runs=[Run(v) for v in values], **kw)


@pytest.mark.quick
def test_stopping_rules():
    policy = Repetitions(min=3, max=6, target_ci=0.02)
    steady = state(cell("a"), [1.0, 1.001, 0.999])
    assert steady.stop(policy) == CONVERGED
    assert state(cell("b"), [1.0, 1.001]).stop(policy) is None          # fewer than min
    noisy = state(cell("c"), [1.0, 1.5, 0.7])
    assert noisy.stop(policy) is None and noisy.expected_runs(policy) == 6         # would need far more: capped
    assert state(cell("d"), [1.0, 1.5, 0.7, 1.2, 0.8, 1.1]).stop(policy) == AT_MAX
    assert state(cell("e"), [1.0], failure="trap").stop(policy) == FAILED


@pytest.mark.quick
def test_the_order_is_interleaved_seeded_and_a_function_of_state():
    two = lambda n: cell(n, repetitions=Repetitions(min=2, max=2))
    states = {c.key: CellState(c) for c in (two(n) for n in "abcdef")}
    order = []
    while (st := next_cell(states, seed=3)) is not None:
        order.append(st.cell.config.workload)
        st.runs.append(Run(1.0))
    assert sorted(order[:6]) == list("abcdef") == sorted(order[6:])   # every cell once per round
    assert order[:6] != order[6:] or order[:6] != list("abcdef")       # shuffled
    again = {c.key: CellState(c) for c in (two(n) for n in "abcdef")}
    assert next_cell(again, seed=3).cell.config.workload == order[0]
    assert any(next_cell(dict(again), seed=s).cell.config.workload != order[0] for s in range(4, 12))


def runs_by_cell(folder: Path) -> Counter:
    files = sorted((folder / "runs").glob("*.json"))
    return Counter((read_run(f)["provenance"]["campaign_cell"], read_run(f)["records"][0].repetition)
                   for f in files)


@pytest.fixture(scope="module")
def campaign_store(tmp_path_factory):
    """The issue's test: 3 kernels x 3 targets at MINI, software events, killed mid-way and resumed."""
    tmp = tmp_path_factory.mktemp("campaign")
    spec = tmp / "small.toml"
    spec.write_text(SMALL)
    folder = tmp / "results"
    proc = subprocess.Popen(HWPROF + ["campaign", str(spec), "--results", str(folder), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((folder / "runs").glob("*.json"))) < 14:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = runs_by_cell(folder)
    manifest = json.loads((folder / "campaign.json").read_text())
    resumed = subprocess.run(HWPROF + ["campaign", str(spec), "--results", str(folder), "--resume", "--json"],
                             capture_output=True, text=True, timeout=300)
    return {"spec": spec, "folder": folder, "killed_at": killed_at, "manifest": manifest, "resumed": resumed}


def test_a_killed_campaign_resumes_to_exactly_the_expected_runs(campaign_store):
    killed = campaign_store["killed_at"]
    assert 14 <= sum(killed.values()) < 36
    assert campaign_store["manifest"]["state"] == "running"        # kill -9 left no chance to say otherwise
    out = campaign_store["resumed"]
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["state"] == "complete" and summary["runs_total"] == 36
    assert summary["runs_this_time"] == 36 - sum(killed.values())
    final = runs_by_cell(campaign_store["folder"])
    assert set(final.values()) == {1}                               # no (cell, repetition) twice
    per_cell = Counter(c for c, _ in final)
    assert len(per_cell) == 9 and set(per_cell.values()) == {4}
    assert {rep for _, rep in final} == {0, 1, 2, 3}
    # min = max = 4: a cell stops at 4 either way ("converged" when its interval is already within 2%).
    assert all(c["stopped"] in ("max", "converged") and c["n"] == 4 for c in summary["cells"])
    manifest = json.loads((campaign_store["folder"] / "campaign.json").read_text())
    assert manifest["state"] == "complete"


def test_runs_are_interleaved_across_targets(campaign_store):
    files = sorted((campaign_store["folder"] / "runs").glob("*.json"))
    first_round = [read_run(f)["provenance"]["campaign_cell"] for f in files[:9]]
    assert len(set(first_round)) == 9


def test_every_cell_measures_on_the_one_cpu_the_campaign_claimed(campaign_store):
    """Cells opened after the first once chose the controller's own CPU (it had moved off the measured one)."""
    provs = [read_run(f)["provenance"] for f in sorted((campaign_store["folder"] / "runs").glob("*.json"))]
    measured = [p for p in provs if "cpu_index" in p]
    assert len({p["campaign_cell"] for p in measured}) == 9
    assert len({p["cpu_index"] for p in measured}) == 1
    cpu = measured[0]["cpu_index"]
    # Where the processes really ran, as each measured process itself read its affinity.
    assert all(p["pinning"]["affinity"] == [cpu] for p in measured)
    assert all(set(p["pinning"]["threads"].values()) <= {str(cpu)} for p in measured if p["pinning"]["threads"])


def test_resuming_needs_the_same_spec_and_starting_needs_an_empty_folder(campaign_store, tmp_path):
    spec, folder = campaign_store["spec"], campaign_store["folder"]
    again = subprocess.run(HWPROF + ["campaign", str(spec), "--results", str(folder)], capture_output=True, text=True)
    assert again.returncode == 2 and "--resume continues it" in again.stderr
    changed = tmp_path / "changed.toml"
    changed.write_text(SMALL.replace("max = 4", "max = 5").replace("min = 4", "min = 5"))
    res = subprocess.run(HWPROF + ["campaign", str(changed), "--results", str(folder), "--resume"],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "has changed since campaign" in res.stderr
    nothing = subprocess.run(HWPROF + ["campaign", str(spec), "--results", str(tmp_path / "new"), "--resume"],
                             capture_output=True, text=True)
    assert nothing.returncode == 2 and "nothing to resume" in nothing.stderr
    assert not (tmp_path / "new").exists()                           # and nothing left behind


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path):
    spec = tmp_path / "c.toml"
    spec.write_text(SMALL)
    folder = tmp_path / "r"
    # A suite started in the background (a shell's `&`) passes SIGINT on ignored, and Python keeps an ignored
    # SIGINT ignored: the campaign gets Ctrl-C's default disposition, as a terminal would give it.
    proc = subprocess.Popen(HWPROF + ["campaign", str(spec), "--results", str(folder), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((folder / "runs").glob("*.json"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "--resume" in err, err
    assert json.loads((folder / "campaign.json").read_text())["state"] == "interrupted"
    states = read_state(folder, parse(SMALL))
    assert 3 <= sum(len(s.runs) for s in states.values()) < 36


@needs_chromium
def test_the_report_of_the_resumed_campaign_renders_in_headless_chromium(campaign_store, tmp_path):
    """The issue's second test: `hwprof report` on that campaign, loaded in a real browser."""
    out = build_report(campaign_store["folder"], tmp_path / "report")
    seen = open_in_chromium(out.html, tmp_path / "profile")
    assert problems(seen) == []
    fig5 = next(s for s in out.sections if s.name == "fig5")
    assert not fig5.missing and set(fig5.table["target"]) >= {"wasmtime-winch", "native"}
    assert len(seen["plots"]) >= 2 and all(int(p["data-points"]) > 0 for p in seen["plots"])


def test_every_pair_of_targets_gets_a_verdict_from_the_raw_samples(campaign_store):
    """The report's `pairs` table: 3 targets -> 3 pairs per kernel, each the Welch comparison of the raw rows."""
    frame = load_results(campaign_store["folder"])
    (section,) = build_sections(frame, ["pairs"])
    table = section.table
    assert len(table) == 9 and set(table["workload"]) == {"2mm", "atax", "gemm"}
    execute = frame[(frame["phase"] == "execute") & (frame["name"] == "wall_time") & (frame["status"] == "ok")]
    for _, r in table.iterrows():
        a = execute[(execute["workload"] == r["workload"]) & (execute["runtime"] == r["target_a"])]["value"]
        b = execute[(execute["workload"] == r["workload"]) & (execute["runtime"] == r["target_b"])]["value"]
        c = compare(list(a), list(b))
        assert (r["n_a"], r["n_b"]) == (4, 4) and r["ratio"] == pytest.approx(c.ratio)
        assert r["low"] == pytest.approx(c.low) and r["high"] == pytest.approx(c.high)
        assert r["verdict"] in (f"{r['target_a']} {c.verdict}", c.verdict)


def test_resuming_on_a_changed_setup_is_refused(tmp_path):
    """A cell's runs must come from one setup: a runtime upgraded between sessions stops the resume."""
    from hwprof.campaign import CampaignError, run_campaign

    spec = parse(SMALL.replace('["2mm", "atax", "gemm"]', '["2mm"]').replace('"wasmtime-winch", "native"', '"native"'))
    folder = tmp_path / "r"
    run_campaign(spec, folder)
    mine = sorted(f for f in (folder / "runs").glob("*.json")
                  if json.loads(f.read_text())["provenance"].get("runtime") == "wasmtime")
    for f in mine:
        doc = json.loads(f.read_text())
        doc["provenance"]["runtime_version"] = "0.0.1"              # as if measured by an older wasmtime
        f.write_text(json.dumps(doc))
    mine[-1].unlink()                                               # its last run is still to be done
    with pytest.raises(CampaignError, match=r"measured differently \(runtime_version '0.0.1' -> "):
        run_campaign(spec, folder, resume=True)
    assert len(list((folder / "runs").glob("*.json"))) == 7         # nothing was added
