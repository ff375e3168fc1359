"""Campaign state from stored run files (a kill at any point resumes to the same next cell), real pairs' provenance,
and --simulate-unconverged's cachegrind run on a real tiny workload."""

from __future__ import annotations

import json
import random

import pytest

from hwprof.campaign import parse, run_campaign
from hwprof.campaign.state import CellState, Run, next_cell, read_state
from hwprof.data import schema
from hwprof.data.store import ResultStore, read_run

from test_campaign_stopping import PAIRS


def store_run(store: ResultStore, spec, st: CellState, run: Run) -> None:
    c = st.cell.config
    identity = schema.Identity(runtime=c.runtime, workload=c.workload, size=c.size or "", invocation=c.mode,
                               backend=c.backend)
    record = identity.record(repetition=len(st.runs), phase="execute", name="wall_time", kind=schema.TIME,
                             value=run.value, unit="s", status=schema.OK)
    store.write_run("s", {"campaign_digest": spec.digest, "campaign_cell": st.cell.key, "disturbed": run.disturbed,
                          "noise": {"calibration_slowdown": run.slowdown}, "campaign_run_seconds": 0.1}, [record])


@pytest.mark.quick
def test_killed_anywhere_the_stored_state_gives_the_same_next_cell(tmp_path):
    spec = parse(PAIRS.replace("max = 8", "max = 8\nexclude_disturbed = true"))
    store = ResultStore(tmp_path)
    states = {c.key: CellState(c) for c in spec.cells}
    rng = random.Random(5)
    steps = 0
    while (st := next_cell(states, spec.seed, spec.pairs)) is not None:
        again = read_state(tmp_path, spec)                    # what a resumed campaign reads
        assert next_cell(again, spec.seed, spec.pairs).cell.key == st.cell.key
        assert all(again[k].runs == states[k].runs for k in states)
        run = Run(rng.gauss(1.0, 0.05), 0.1, "calibration" if rng.random() < 0.2 else "", round(rng.uniform(1, 1.1), 3))
        store_run(store, spec, st, run)
        st.runs.append(run)
        steps += 1
    assert next_cell(read_state(tmp_path, spec), spec.seed, spec.pairs) is None and steps > len(spec.cells)


SIM = """
[campaign]
name = "sim"
seed = 5
events = ["task_clock"]
count_phases = ["execute"]
warmup = 0
[repetitions]
min = 1
max = 1
[[matrix]]
workloads = ["2mm"]
sizes = ["mini"]
targets = ["native"]
"""


def test_simulate_unconverged_adds_one_cachegrind_run_once(tmp_path):
    """One run of max 1 has no interval: the cell stops at max, unconverged, and gets one simulated run."""
    spec = parse(SIM)
    (key,) = [c.key for c in spec.cells]
    first = run_campaign(spec, tmp_path / "r")
    assert first.simulated == 0 and first.cells[0]["stopped"] == "max" and not first.cells[0]["simulated"]
    result = run_campaign(spec, tmp_path / "r", resume=True, simulate_unconverged=True)
    assert result.state == "complete" and result.simulated == 1 and result.cells[0]["simulated"]
    docs = [read_run(f) for f in sorted((tmp_path / "r" / "runs").glob("*.json"))]
    sims = [d for d in docs if d["provenance"].get("campaign_simulates") == key]
    assert len(docs) == 2 and len(sims) == 1 and "campaign_cell" not in sims[0]["provenance"]
    assert {r.backend for r in sims[0]["records"]} == {"cachegrind"} and not result.failures
    assert any(r.name == "Ir" and r.status == schema.OK and r.value > 0 for r in sims[0]["records"])  # instructions
    again = run_campaign(spec, tmp_path / "r", resume=True, simulate_unconverged=True)
    assert again.simulated == 1 and len(list((tmp_path / "r" / "runs").glob("*.json"))) == 2
    manifest = json.loads((tmp_path / "r" / "campaign.json").read_text())
    assert manifest["summary"][0]["simulated"] is True and read_state(tmp_path / "r", spec)[key].runs


def test_a_real_pair_tags_its_runs(tmp_path):
    spec = parse(SIM.replace('targets = ["native"]', 'targets = ["native", "wasmtime"]')
                 .replace("max = 1", "max = 2").replace("min = 1", "min = 2")
                 + '[[pairs]]\na = "wasmtime"\nb = "native"\n')
    run_campaign(spec, tmp_path / "r")
    provs = [read_run(f)["provenance"] for f in sorted((tmp_path / "r" / "runs").glob("*.json"))]
    (a, b), = spec.pairs
    tags = [(p["campaign_cell"], p["campaign_pair"]) for p in provs]
    assert len(tags) == 4
    for r in (0, 1):
        (k1, t1), (k2, t2) = tags[2 * r], tags[2 * r + 1]         # back to back, round by round
        assert t1["id"] == t2["id"] == f"{a} ~ {b}" and t1["round"] == t2["round"] == r
        assert t1["first"] == t2["first"] == t1["side"] != t2["side"]
        assert (k1, t1["side"]) in ((a, "a"), (b, "b")) and (k2, t2["side"]) in ((a, "a"), (b, "b"))
