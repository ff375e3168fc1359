"""Perfetto traces of real runs (wasmtime cold and warm, native, one counted phase), read back with the protos.

Perfetto's trace_processor is not used: it downloads its native binary on first use and this machine has no
internet, so the trace is parsed with perfetto's own protobuf classes and checked against the run file.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import typer
from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import Trace, TrackEvent
from typer.testing import CliRunner

from hwprof.analysis import commands
from hwprof.analysis.trace import RECONSTRUCTED, TraceError, list_runs, write_trace
from hwprof.collect import CollectConfig, CollectError, collect
from hwprof.data.store import read_run

EVENTS = ("task_clock", "page_faults")


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    """Real stores: wasmtime cold (2 repetitions, 4 processes each), warm (3 invocations), native, one pass."""
    base = tmp_path_factory.mktemp("trace-stores")
    runs = {
        "cold": {"runtime": "wasmtime", "repetitions": 2},
        "warm": {"runtime": "wasmtime", "mode": "warm", "invocations": 3},
        "native": {"runtime": "native"},
        "one": {"runtime": "wasmtime", "count_phases": ("execute",)},
    }
    out = {}
    for key, kw in runs.items():
        kw.setdefault("repetitions", 1)
        collect(CollectConfig("2mm", size="mini", warmup=0, results=base / key, events=EVENTS, **kw))
        out[key] = base / key
    return out


def read_trace(path: Path) -> dict[str, dict]:
    """Process name -> its phase slices (name, begin, end, depth) and counter tracks (name -> [(ts, value)])."""
    trace = Trace()
    trace.ParseFromString(path.read_bytes())
    tracks, processes, events = {}, {}, []
    for packet in trace.packet:
        assert packet.trusted_packet_sequence_id != 0
        if packet.HasField("track_descriptor"):
            d = packet.track_descriptor
            tracks[d.uuid] = d
            if d.HasField("process"):
                processes[d.uuid] = {"name": d.process.process_name, "slices": [], "counters": {},
                                     "description": d.description, "annotations": []}
        else:
            events.append(packet)
    stacks: dict[int, list] = {}
    last_ts: dict[int, int] = {}
    for packet in events:
        te = packet.track_event
        track = tracks[te.track_uuid]   # every event's track was described
        owner = processes[track.parent_uuid]
        assert packet.timestamp >= last_ts.get(te.track_uuid, 0), "events of one track out of time order"
        last_ts[te.track_uuid] = packet.timestamp
        if te.type == TrackEvent.TYPE_COUNTER:
            assert track.HasField("counter")
            owner["counters"].setdefault(track.name, []).append((packet.timestamp, te.double_counter_value))
        elif te.type == TrackEvent.TYPE_SLICE_BEGIN:
            stacks.setdefault(te.track_uuid, []).append((te.name, packet.timestamp))
            owner["annotations"].append((te.name, {a.name: getattr(a, a.WhichOneof("value")) for a in
                                                   te.debug_annotations}))
        else:
            assert te.type == TrackEvent.TYPE_SLICE_END
            name, begin = stacks[te.track_uuid].pop()   # an END with no open slice fails here
            owner["slices"].append((name, begin, packet.timestamp, len(stacks[te.track_uuid])))
    assert all(not s for s in stacks.values()), "slices left open"
    return {p["name"]: p for p in processes.values()}


def expected_slices(entry: dict) -> list[tuple[str, int, int]]:
    """The phase slices the run file's format promises: marks paired, bootstrap from spawn to its end mark."""
    ns = lambda s: round(s * 1e9)
    out, open_at = [], {}
    for phase, edge, t in entry["marks"]:
        if edge == "begin":
            open_at[phase] = t
        else:
            out.append((phase, ns(open_at.pop(phase, entry["spawn_s"])), ns(t)))
    return sorted(out, key=lambda s: s[1])


def check_against_run_file(run_file: Path, trace_path: Path) -> dict[str, dict]:
    doc = json.loads(run_file.read_text())
    prov = doc["provenance"]
    got = read_trace(trace_path)
    assert len(got) == len(doc["timeline"])
    counters_seen = set()
    for entry in doc["timeline"]:
        name = f"pass {entry['process'] + 1}: {', '.join(entry['phases'])} ({prov['runtime']} 2mm mini)"
        assert name in got, sorted(got)
        proc = got[name]
        assert prov["runtime_version"] in proc["description"] and prov["cpu"] in proc["description"]
        outer = [s for s in proc["slices"] if s[3] == 0]
        assert [(s[0], s[1], s[2]) for s in outer] == [("process", round(entry["spawn_s"] * 1e9),
                                                        round(entry["end_s"] * 1e9))]
        phases = sorted([s for s in proc["slices"] if s[3] == 1], key=lambda s: s[1])
        assert [(s[0], s[1], s[2]) for s in phases] == expected_slices(entry)
        for phase, begin, end, _ in phases:
            assert outer[0][1] <= begin < end <= outer[0][2], (phase, begin, end)
        for r in doc["records"]:
            if r["phase"] not in entry["phases"] or r["kind"] != "event" or r["status"] != "ok":
                continue
            unit = f"{r['unit']} per invocation" if r["iteration"] < 0 else r["unit"]
            points = proc["counters"][f"{r['name']} ({unit})"]
            spans = [s for s in phases if s[0] == r["phase"]]
            assert spans
            for _, begin, end, _ in spans:   # the value over the phase, back to 0 at its end
                assert (begin, r["value"]) in points and (end, 0.0) in points
            counters_seen.add((r["phase"], r["name"]))
    counted = {(r["phase"], r["name"]) for r in doc["records"] if r["kind"] == "event" and r["status"] == "ok"}
    assert counters_seen == counted and counted
    return got


@pytest.mark.parametrize("key", ["cold", "warm", "native", "one"])
def test_every_phase_and_counter_of_the_run_file_is_in_the_trace(stores, key, tmp_path):
    for run_id in list_runs(stores[key]):
        out = write_trace(stores[key], run_id, tmp_path / f"{run_id}.pftrace")
        check_against_run_file(stores[key] / "runs" / f"{run_id}.json", out)


def test_cold_run_has_one_process_per_phase_and_times_in_nanoseconds(stores, tmp_path):
    run_id = list_runs(stores["cold"])[0]
    got = read_trace(write_trace(stores["cold"], run_id, tmp_path / "t.pftrace"))
    assert sorted(got) == sorted(f"pass {i + 1}: {p} (wasmtime 2mm mini)"
                                 for i, p in enumerate(("bootstrap", "compile", "instantiate", "execute")))
    doc = read_run(stores["cold"] / "runs" / f"{run_id}.json")
    wall = {r.phase: r.value for r in doc["records"] if r.name == "wall_time"}
    execute = [s for s in got["pass 4: execute (wasmtime 2mm mini)"]["slices"] if s[0] == "execute"]
    assert abs((execute[0][2] - execute[0][1]) - wall["execute"] * 1e9) <= 2   # ns, not us or s
    assert set(got["pass 1: bootstrap (wasmtime 2mm mini)"]["counters"]) == {"task_clock (msec)",
                                                                             "page_faults (faults)"}


def test_warm_invocations_are_separate_slices(stores, tmp_path):
    run_id = list_runs(stores["warm"])[0]
    got = read_trace(write_trace(stores["warm"], run_id, tmp_path / "t.pftrace"))
    execute = got["pass 4: execute (wasmtime 2mm mini)"]
    assert [s[0] for s in execute["slices"] if s[0] == "execute"] == ["execute"] * 3
    assert [s[0] for s in got["pass 3: instantiate (wasmtime 2mm mini)"]["slices"]].count("instantiate") == 3
    assert set(execute["counters"]) == {"task_clock (msec per invocation)", "page_faults (faults per invocation)"}
    invocations = [a["invocation"] for name, a in execute["annotations"] if name == "execute"]
    assert invocations == [0, 1, 2]


def test_a_failed_run_still_gives_a_trace_that_says_why(tmp_path):
    with pytest.raises(CollectError, match="timed out"):
        collect(CollectConfig("2mm", size="mini", warmup=0, repetitions=1, results=tmp_path, events=EVENTS,
                              timeout=0.01))
    run_id, = list_runs(tmp_path)
    (name, proc), = read_trace(write_trace(tmp_path, run_id, tmp_path / "t.pftrace")).items()
    assert name.startswith("pass 1: bootstrap (wasmtime 2mm mini)")
    assert "timed out" in proc["description"]
    assert "timed out" in dict(proc["annotations"])["process"]["error"]


def test_a_run_file_without_timeline_is_reconstructed_from_wall_times(stores, tmp_path):
    for key in ("cold", "warm"):
        src = stores[key] / "runs" / f"{list_runs(stores[key])[0]}.json"
        doc = json.loads(src.read_text())
        del doc["timeline"]
        doc["format_version"] = 2
        old = tmp_path / key / "runs" / src.name
        old.parent.mkdir(parents=True)
        old.write_text(json.dumps(doc))
        got = read_trace(write_trace(tmp_path / key, src.stem[:10], tmp_path / f"{key}.pftrace"))
        (name, proc), = got.items()
        assert name.endswith(RECONSTRUCTED)
        phases = [s for s in proc["slices"] if s[3] == 1]
        walls = [r for r in doc["records"] if r["name"] == "wall_time"]
        durations = sorted(s[2] - s[1] for s in phases)
        assert len(durations) == len(walls)
        assert all(abs(d - w) <= 1 for d, w in zip(durations, sorted(round(r["value"] * 1e9) for r in walls)))
        assert all(a[2] == b[1] for a, b in itertools.pairwise(phases))   # end to end
        order = [s[0] for s in phases]
        if key == "warm":
            assert order == ["bootstrap", "compile"] + ["instantiate", "execute"] * 3
        events = {(r["phase"], r["name"]) for r in doc["records"] if r["kind"] == "event" and r["status"] == "ok"}
        assert {n.split(" (")[0] for n in proc["counters"]} == {n for _, n in events}


def test_bad_run_ids_and_stores_fail_in_one_line(stores, tmp_path):
    with pytest.raises(TraceError, match="no run 'nope'"):
        write_trace(stores["cold"], "nope", tmp_path / "t.pftrace")
    with pytest.raises(TraceError, match="ambiguous"):
        write_trace(stores["cold"], "2", tmp_path / "t.pftrace")   # both repetitions' ids start with the year
    with pytest.raises(TraceError, match="not a results store"):
        write_trace(tmp_path, "x", tmp_path / "t.pftrace")
    assert len(list_runs(stores["cold"])) == 2


def app() -> typer.Typer:
    cli = typer.Typer()
    cli.command("trace")(commands.trace)
    cli.command("export")(commands.export)
    return cli


def test_trace_command_writes_a_trace_and_lists_runs(stores, tmp_path):
    runner = CliRunner()
    run_id = list_runs(stores["one"])[0]
    res = runner.invoke(app(), ["trace", str(stores["one"]), "--run", run_id[:17], "-o", str(tmp_path / "x.pftrace")])
    assert res.exit_code == 0, res.output
    assert "ui.perfetto.dev" in res.output
    check_against_run_file(stores["one"] / "runs" / f"{run_id}.json", tmp_path / "x.pftrace")
    res = runner.invoke(app(), ["trace", str(stores["cold"])])
    assert res.exit_code == 2 and all(i in res.stdout for i in list_runs(stores["cold"]))
    assert "choose a run with --run" in res.stderr
    res = runner.invoke(app(), ["trace", str(stores["cold"]), "--run", "zzz"])
    assert res.exit_code == 2 and res.stderr.count("\n") == 1 and "no run 'zzz'" in res.stderr


def test_trace_and_export_commands_have_help_text():
    runner = CliRunner()
    for name in ("trace", "export"):
        res = runner.invoke(app(), [name, "--help"])
        assert res.exit_code == 0
        assert "Results store folder" in res.output and "--out" in res.output
    assert "Perfetto" in runner.invoke(app(), ["trace", "--help"]).output
    assert "pyperf" in runner.invoke(app(), ["export", "--help"]).output
