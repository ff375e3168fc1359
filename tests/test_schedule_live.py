"""hwprof schedule --live: a trace replayed against a real `hwprof serve` (2 workers, Cranelift and Winch) from a
small real profile store. No verdict depends on timing: which request is cold is asserted only where the
host's state decides it (after a reset; one request in flight at a time; at most one compile per worker)."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hwprof.collect import CollectConfig, collect
from hwprof.commands.schedule import schedule, schedule_trace
from hwprof.schedule import live, profiles, trace
from hwprof.schedule.run import ScheduleConfig, replay_live
from hwprof.schedule.trace import Request
from hwprof.workloads import catalogue

ROOT = Path(__file__).resolve().parents[1]
KEYS = (("attitude", "small"), ("gemm", "mini"))
TARGETS = ("wasmtime", "wasmtime-winch")
WORKERS = 2
POLICIES = ("only:wasmtime-winch", "hybrid")
FAST = 1000.0                      # the trace's 16 seconds in 16 ms: requests overlap

app = typer.Typer(add_completion=False)
app.command()(schedule)
app.command("schedule-trace")(schedule_trace)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """2 workloads x 2 targets, 2 cold runs each (the warm parts are the cold runs' instantiate + execute)."""
    root = tmp_path_factory.mktemp("live") / "store"
    for workload, size in KEYS:
        for target in TARGETS:
            collect(CollectConfig(workload, target, size=size, repetitions=2, warmup=0, results=root,
                                  events=("task_clock",)))
    return root


@pytest.fixture(scope="module")
def url():
    """`hwprof serve` on a free loopback port, started as a user would; stopped by SIGTERM at the end."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "hwprof", "serve", "--port", "0", "--workers", str(WORKERS),
                             "--targets", ",".join(TARGETS)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 120)
    line = proc.stdout.readline() if ready else ""
    if "listening on " not in line:
        proc.kill()
        raise AssertionError(f"the server did not start: {line!r} {proc.stderr.read()}")
    yield line.split("listening on ")[1].split()[0]
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


@pytest.fixture
def trace_file(tmp_path) -> Path:
    """16 requests, the two workloads alternating a second apart."""
    path = tmp_path / "t.csv"
    trace.write(path, [Request(float(i), *KEYS[i % 2], i) for i in range(16)])
    return path


def expected(function: str, size: str) -> str:
    return catalogue()["workload"][function]["expected"][size]


def test_every_request_answered_by_the_policys_target_cold_only_where_the_host_had_nothing(store, url, trace_file):
    config = ScheduleConfig(trace_file, store, POLICIES, live=live.LiveConfig(url, FAST))
    simulated, measured, overhead = replay_live(config)
    assert [o.name for o in measured] == [o.name for o in simulated] == list(POLICIES)
    prof = profiles.load(store)
    for outcome in measured:
        assert len(outcome.served) == len(outcome.answers) == 16
        for served, answer in zip(outcome.served, outcome.answers):
            assert answer["error"] is None, answer
            assert answer["result"]["checksum"] == expected(served.function, served.size), answer
            assert answer["target"] == served.target and answer["cold"] == served.cold      # what the policy chose
        if outcome.kind == "single":
            assert {s.target for s in outcome.served} == {"wasmtime-winch"}
        firsts = {}
        for served in outcome.served:
            firsts.setdefault(served.function, served)
        # after the reset nothing is kept: each function's first request is cold, on the least cold-time target
        assert all(s.cold for s in firsts.values()), outcome.name
        if outcome.name == "hybrid":
            for s in firsts.values():
                assert s.target == min(TARGETS, key=lambda t: prof.get(s.function, s.size, t).cold_s)
        # a worker compiles a module once and keeps it (no budget pressure): at most one cold start per worker
        for function, size in KEYS:
            for target in TARGETS:
                mine = [s for s in outcome.served if (s.function, s.target) == (function, target)]
                assert sum(s.cold for s in mine) <= WORKERS
                if len(mine) > WORKERS:
                    assert not all(s.cold for s in mine)
        assert outcome.cold_starts == sum(a["cold"] for a in outcome.answers)
        assert outcome.admin_s > 0                          # the replay's own exchanges, kept out of latencies
    # the per-request overhead each target adds, measured before the replays, is in every simulated request
    assert set(overhead) == set(TARGETS) and all(abs(v) < 5.0 for v in overhead.values())
    hosted = profiles.for_host(prof, "persistent")
    for outcome in simulated:
        for s in outcome.served:
            p = hosted.get(s.function, s.size, s.target)
            assert s.run_s == pytest.approx((p.cold_s if s.cold else p.warm_s) + overhead[s.target], abs=1e-9)


def test_one_at_a_time_a_repeat_on_a_kept_target_is_warm(store, url, tmp_path):
    path = tmp_path / "four.csv"
    trace.write(path, [Request(float(i), *KEYS[i % 2], i) for i in range(4)])
    requests = trace.read(path)
    prof = profiles.load(store)
    outcomes = live.run(requests, prof, ["only:wasmtime", "only:wasmtime"], TARGETS,
                        live.LiveConfig(url, FAST, concurrency=1))
    for outcome in outcomes:                        # the second starts from a clean host, as the first did
        assert [s.cold for s in outcome.served] == [True, True, False, False]
        assert [a["result"]["checksum"] for a in outcome.answers] == [expected(*KEYS[i % 2]) for i in range(4)]


class Recorder:
    """A policy that always picks Cranelift and records what the State said was kept at each decision."""

    name, kind = "recorder", "single"

    def __init__(self):
        self.saw = []

    def choose(self, request, state) -> str:
        self.saw.append({t: state.cached(request.function, request.size, t) for t in TARGETS})
        return "wasmtime"

    def observe(self, request, target, latency_s, cold) -> None:
        pass


def test_the_state_a_policy_sees_is_what_the_host_keeps(url, tmp_path):
    requests = [Request(float(i), *KEYS[i % 2], i) for i in range(4)]
    recorder = Recorder()
    live.replay(requests, [recorder], TARGETS, live.LiveConfig(url, FAST, concurrency=1))
    kept, nothing = {"wasmtime": True, "wasmtime-winch": False}, {t: False for t in TARGETS}
    assert recorder.saw == [nothing, nothing, kept, kept]


def test_the_command_reports_live_beside_simulated(store, url, trace_file):
    done = CliRunner().invoke(app, ["schedule", str(trace_file), "--profiles", str(store), "--live", url,
                                    "--speed", str(FAST), "--max-requests", "12", "--json",
                                    *(x for p in POLICIES for x in ("--policy", p))])
    assert done.exit_code == 0, done.output
    found = json.loads(done.output)
    assert set(found) == {"simulated", "live", "comparison", "overhead_s"}
    for block in ("simulated", "live"):
        assert [r["name"] for r in found[block]] == list(POLICIES)
        for r in found[block]:
            assert r["requests"] == 12 and r["cold_starts"] >= 2 and set(r["speedup_vs"]) == {"wasmtime-winch"}
            assert {"total_s", "mean_s", "p50_s", "p99_s", "kind"} <= set(r)
    for c, s, m in zip(found["comparison"], found["simulated"], found["live"]):
        assert (c["simulated_total_s"], c["live_total_s"]) == (s["total_s"], m["total_s"])
        assert c["relative_difference"] == pytest.approx((s["total_s"] - m["total_s"]) / m["total_s"])
    text = CliRunner().invoke(app, ["schedule", str(trace_file), "--profiles", str(store), "--live", url,
                                    "--speed", str(FAST), "--max-requests", "4", "--policy", "hybrid"])
    assert text.exit_code == 0, text.output
    titles = [line for line in text.output.splitlines() if line.startswith(("Table II", "Simulated against live"))]
    assert len(titles) == 3 and "live" in titles[1] and titles[2].startswith("Simulated against live")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_host_and_an_unserved_function_are_one_line(store, url, tmp_path):
    trace.write(tmp_path / "ok.csv", [Request(0.0, "gemm", "mini", 0)])
    gone = CliRunner().invoke(app, ["schedule", str(tmp_path / "ok.csv"), "--profiles", str(store),
                                    "--live", f"http://127.0.0.1:{_free_port()}"])
    assert gone.exit_code == 2 and len(gone.output.strip().splitlines()) == 1
    assert gone.output.startswith("hwprof: error: cannot reach hwprof serve at http://127.0.0.1:")
    trace.write(tmp_path / "bad.csv", [Request(0.0, "gemm", "mini", 0), Request(1.0, "no-such-app", "x", 1)])
    bad = CliRunner().invoke(app, ["schedule", str(tmp_path / "bad.csv"), "--profiles", str(store), "--live", url])
    assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1
    assert "cannot serve no-such-app[x] of the trace: unknown function 'no-such-app'" in bad.output
    pulley = CliRunner().invoke(app, ["schedule", str(tmp_path / "ok.csv"), "--profiles", str(store), "--live", url,
                                      "--target", "wasmtime-pulley"])
    assert pulley.exit_code == 2 and "does not serve target wasmtime-pulley" in pulley.output
