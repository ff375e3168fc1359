"""A bounded load benchmark of `hwprof serve` on loopback: throughput, p50/p99, and the host's own overhead.

    .venv/bin/python scripts/bench_serve.py [--function 2mm] [--size mini] [--target wasmtime]
        [--requests 2000] [--seconds 10] [--connections 4] [--workers 2] [--tool wrk|httpx] [--json]

It starts the real host on a free loopback port, warms the function (one cold request), then:
- load: wrk (Debian's `wrk`; a Lua script bounds the requests and reports percentiles) or, where wrk is
  not installed, an httpx async client with as many concurrent connections; bounded by --requests and
  --seconds, whichever comes first;
- overhead: --samples sequential requests (one connection, same tool) against the same work done directly in this
  process (the worker's own code: compiled module kept, fresh store and instance per call), median each;
  the difference is what the host adds per request (HTTP, JSON, routing, the worker pipe).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SERVE = ["-m", "hwprof", "serve"]   # the installed command line, as a user starts it

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = %(body)s
wrk.headers["Content-Type"] = "application/json"
local answered, limit = 0, %(limit)d
response = function(status, headers, body)
  answered = answered + 1
  if answered >= limit then wrk.thread:stop() end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %%d, "duration_s": %%f, "errors": %%d, "p50_s": %%f, "p99_s": %%f}\\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50) / 1e6, latency:percentile(99) / 1e6))
end
"""


def start_server(workers: int, target: str, log: Path) -> tuple[subprocess.Popen, str]:
    """The host in a subprocess on a free loopback port, logging to `log`, and its URL."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, *SERVE, "--port", "0", "--host", "127.0.0.1",
                             "--workers", str(workers), "--targets", target, "--log", str(log)], env=env, stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 120)
    line = proc.stdout.readline() if ready else ""
    if "listening on " not in line:
        proc.kill()
        sys.exit(f"bench_serve: the host did not start: {line!r}")
    return proc, line.split("listening on ")[1].split()[0]


def load_wrk(url: str, body: dict, requests: int, seconds: float, connections: int) -> dict:
    """wrk with one thread and N connections, stopped after --requests answers or --seconds."""
    with tempfile.TemporaryDirectory(prefix="hwprof-bench-serve-") as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(WRK_SCRIPT % {"body": json.dumps(json.dumps(body)), "limit": requests})
        done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, int(seconds))}s", "--timeout", "60s",
                               "-s", str(script), url], capture_output=True, text=True, timeout=seconds + 120)
    found = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not found:
        sys.exit(f"bench_serve: wrk failed: {done.stderr.strip() or done.stdout.strip()}")
    return {"tool": "wrk", **json.loads(found[-1])}


def load_httpx(url: str, body: dict, requests: int, seconds: float, connections: int) -> dict:
    """An httpx async client with N concurrent requests at a time, bounded the same way."""
    import httpx

    latencies, errors = [], 0

    async def one_lane(client, deadline):
        nonlocal errors
        while len(latencies) + errors < requests and time.perf_counter() < deadline:
            t0 = time.perf_counter()
            answer = await client.post(url, json=body)
            latencies.append(time.perf_counter() - t0)
            errors += int(answer.status_code != 200)

    async def main():
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            t0 = time.perf_counter()
            await asyncio.gather(*(one_lane(client, t0 + seconds) for _ in range(connections)))
            return time.perf_counter() - t0

    duration = asyncio.run(main())
    ordered = sorted(latencies)
    return {"tool": "httpx", "requests": len(latencies), "duration_s": duration, "errors": errors,
            "p50_s": ordered[len(ordered) // 2], "p99_s": ordered[max(0, -(-99 * len(ordered) // 100) - 1)]}


def served_throughput(log: Path, skip: int) -> tuple[int, float]:
    """Requests the host finished after the first `skip` log lines, per second from the first start to the last end.

    wrk's own duration is always its -d (a Lua script can stop sending, not end the run early), so the
    rate comes from the host's log: each line has its finish time and its latency.
    """
    lines = [json.loads(line) for line in log.read_text().splitlines()[skip:]]
    span = max(x["finished_at"] for x in lines) - min(x["finished_at"] - x["latency_s"] for x in lines)
    return len(lines), len(lines) / span


def direct_calls(function: str, size: str, target: str, samples: int) -> list[float]:
    """The same run without the host: the worker's code in this process, module kept, fresh instance per call."""
    from hwprof import workloads
    from hwprof.serve.targets import TARGETS
    from hwprof.serve.worker import KINDS

    built = workloads.build(function, size, flavour=TARGETS[target].flavour)
    scratch = Path(tempfile.mkdtemp(prefix="hwprof-bench-serve-"))
    try:
        keeper = KINDS[TARGETS[target].kind](TARGETS[target], scratch / "artefacts")
        job = {"key": "direct", "wasm": str(built.program), "name": built.program.name, "args": list(built.args),
               "timeout_s": 60, "memory_limit": 256 << 20}
        keeper.obtain(job)
        times = []
        for _ in range(samples + 1):
            t0 = time.perf_counter()
            artefact = keeper.obtain(job)[0]
            ran = keeper.run(artefact, job, scratch)
            times.append(time.perf_counter() - t0)
            if ran["error"]:
                sys.exit(f"bench_serve: the direct call failed: {ran['error']}")
        return times[1:]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def sequential(url: str, body: dict, samples: int) -> list[float]:
    """Client-side latency of one request at a time (the host idle otherwise)."""
    import httpx

    times = []
    with httpx.Client(timeout=60) as client:
        for _ in range(samples):
            t0 = time.perf_counter()
            answer = client.post(url, json=body)
            times.append(time.perf_counter() - t0)
            if answer.status_code != 200 or answer.json()["cold"]:
                sys.exit(f"bench_serve: a sequential request failed or was cold: {answer.text[:300]}")
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--function", default="2mm")
    ap.add_argument("--size", default="mini")
    ap.add_argument("--target", default="wasmtime")
    ap.add_argument("--requests", type=int, default=2000, help="at most this many requests under load")
    ap.add_argument("--seconds", type=float, default=10, help="at most this long under load")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--samples", type=int, default=200, help="sequential requests and direct calls compared")
    ap.add_argument("--tool", choices=("wrk", "httpx"), default="wrk" if shutil.which("wrk") else "httpx")
    ap.add_argument("--json", action="store_true")
    opts = ap.parse_args()
    body = {"size": opts.size, "target": opts.target}
    scratch = Path(tempfile.mkdtemp(prefix="hwprof-bench-serve-"))
    log = scratch / "serve.jsonl"
    proc, base = start_server(opts.workers, opts.target, log)
    url = f"{base}/run/{opts.function}"
    tool = load_wrk if opts.tool == "wrk" else load_httpx
    try:
        import httpx

        for _ in range(opts.workers):       # every worker warm (a cold compile is not the host's overhead)
            httpx.post(url, json=body, timeout=300).raise_for_status()
        skip = len(log.read_text().splitlines())
        load = tool(url, body, opts.requests, opts.seconds, opts.connections)
        load["served"], load["throughput_rps"] = served_throughput(log, skip)
        one = tool(url, body, opts.samples, opts.seconds, 1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        shutil.rmtree(scratch, ignore_errors=True)
    direct = direct_calls(opts.function, opts.size, opts.target, opts.samples)
    report = {"function": opts.function, "size": opts.size, "target": opts.target, "workers": opts.workers,
              "connections": opts.connections, **load,
              "sequential_p50_s": one["p50_s"], "direct_p50_s": statistics.median(direct),
              "overhead_p50_s": one["p50_s"] - statistics.median(direct)}
    if opts.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"{opts.function} {opts.size} on {opts.target}, {opts.workers} workers, {opts.connections} connections "
              f"({load['tool']}): {load['requests']} requests, {load['errors']} errors")
        print(f"  throughput {report['throughput_rps']:.1f} req/s (the host's log); p50 {load['p50_s'] * 1e3:.2f} ms, "
              f"p99 {load['p99_s'] * 1e3:.2f} ms")
        print(f"  one at a time: served {report['sequential_p50_s'] * 1e3:.3f} ms, direct in-process "
              f"{report['direct_p50_s'] * 1e3:.3f} ms: the host adds {report['overhead_p50_s'] * 1e3:.3f} ms per "
              f"request (p50 of {one['requests']} sequential requests, median of {opts.samples} direct calls)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
