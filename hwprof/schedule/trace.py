"""Request traces: the CSV format, seeded generators (steady, bursty, cold-heavy, mixed) and the Azure 2019 reader.

A trace file has the header `at_s,function,size` and one request per line, sorted by arrival time; a
request's id is its place in the file. `function` is a bundled workload's name, `size` one of its sizes.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hwprof.data.store import atomic_write_text

HEADER = ("at_s", "function", "size")
EDGE_APPS = ("canny", "plate", "attitude", "lenet", "inflate")   # the study's five edge applications
EDGE_SIZE = "default"
MATMUL_SIZES = ("30", "60", "100", "200", "300")                 # the part of the matmul sweep the traces use
MIX = tuple((app, EDGE_SIZE) for app in EDGE_APPS) + tuple(("matmul", s) for s in MATMUL_SIZES)
AZURE_MINUTES = 1440                                             # one day of per-minute counts per row
AZURE_KEYS = ("HashOwner", "HashApp", "HashFunction", "Trigger")


class TraceError(ValueError):
    """A trace file that cannot be read, with the one line that says where and why."""


@dataclass(frozen=True)
class Request:
    """One invocation: when it arrives (seconds from the trace's start), which function at which size."""

    at_s: float
    function: str
    size: str
    id: int


def _numbered(items) -> list[Request]:
    """(at_s, function, size) tuples as Requests sorted by time (stable), numbered in that order."""
    ordered = sorted(items, key=lambda r: r[0])
    return [Request(round(float(at), 6), f, s, i) for i, (at, f, s) in enumerate(ordered)]


def write(path: str | Path, requests: list[Request]) -> None:
    """Write requests in the trace CSV format."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(HEADER)
    for r in requests:
        w.writerow((f"{r.at_s:.6f}", r.function, r.size))
    atomic_write_text(path, out.getvalue())


def read(path: str | Path) -> list[Request]:
    """Read a trace CSV; TraceError naming the file and line for anything that is not one."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"{path}: cannot read the trace ({getattr(exc, 'strerror', None) or exc})") from None
    rows = list(csv.reader(lines))
    if not rows or tuple(c.strip() for c in rows[0]) != HEADER:
        raise TraceError(f"{path}:1: not a trace (the header must be {','.join(HEADER)})")
    out, last = [], 0.0
    for n, row in enumerate(rows[1:], 2):
        if not row:
            continue
        if len(row) != 3 or not row[1].strip() or not row[2].strip():
            raise TraceError(f"{path}:{n}: expected at_s,function,size, got {','.join(row)!r}")
        try:
            at = float(row[0])
        except ValueError:
            raise TraceError(f"{path}:{n}: at_s {row[0]!r} is not a number") from None
        if not at >= last:
            raise TraceError(f"{path}:{n}: at_s {at} is before the line above it ({last}) or not a time")
        last = at
        out.append(Request(at, row[1].strip(), row[2].strip(), len(out)))
    if not out:
        raise TraceError(f"{path}: the trace has no requests")
    return out


# ---- seeded generators -------------------------------------------------------------------------------------

def steady(n: int = 300, seed: int = 1, rate_hz: float = 2.0, mix=MIX) -> list[Request]:
    """Evenly spaced arrivals (+-10% jitter) cycling through the mix: every function reused at a fixed rhythm."""
    rng = random.Random(seed)
    gap = 1.0 / rate_hz
    return _numbered((i * gap + rng.uniform(-0.1, 0.1) * gap + gap, *mix[i % len(mix)]) for i in range(n))


def bursty(n: int = 300, seed: int = 1, burst_rate_hz: float = 0.05, burst_mean: float = 20.0,
           within_s: float = 0.05, mix=MIX) -> list[Request]:
    """Poisson bursts: bursts arrive as a Poisson process, each a Poisson number of requests for one function."""
    rng = random.Random(seed)
    items, t = [], 0.0
    while len(items) < n:
        t += rng.expovariate(burst_rate_hz)
        fn = mix[rng.randrange(len(mix))]
        at = t
        for _ in range(max(1, _poisson(rng, burst_mean))):
            at += rng.expovariate(1.0 / within_s)
            items.append((at, *fn))
    return _numbered(items[:n])


def cold_heavy(n: int = 300, seed: int = 1, mean_gap_s: float = 120.0, mix=MIX) -> list[Request]:
    """Sparse arrivals (exponential gaps, long mean) spread evenly over the mix: most requests find nothing kept."""
    rng = random.Random(seed)
    items, t = [], 0.0
    for _ in range(n):
        t += rng.expovariate(1.0 / mean_gap_s)
        items.append((t, *mix[rng.randrange(len(mix))]))
    return _numbered(items)


def mixed(n: int = 300, seed: int = 1, rate_hz: float = 1.0, zipf: float = 1.0, mix=MIX) -> list[Request]:
    """Poisson arrivals over the mix with Zipf popularity (a shuffled order): hot and rare functions, all sizes."""
    rng = random.Random(seed)
    order = list(mix)
    rng.shuffle(order)
    weights = [1.0 / (rank + 1) ** zipf for rank in range(len(order))]
    items, t = [], 0.0
    for _ in range(n):
        t += rng.expovariate(rate_hz)
        items.append((t, *rng.choices(order, weights)[0]))
    return _numbered(items)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's product of uniforms; means here are small)."""
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


GENERATORS: dict[str, Callable[..., list[Request]]] = {
    "steady": steady, "bursty": bursty, "cold-heavy": cold_heavy, "mixed": mixed}


def generate(kind: str, n: int = 300, seed: int = 1) -> list[Request]:
    """A seeded trace of one kind (GENERATORS), or TraceError naming the kinds."""
    if kind not in GENERATORS:
        raise TraceError(f"unknown trace kind {kind!r} (one of: {', '.join(GENERATORS)})")
    return GENERATORS[kind](n=n, seed=seed)


# ---- the Azure Functions 2019 trace ------------------------------------------------------------------------

def read_azure(path: str | Path, seed: int = 1, mix=MIX, minutes: int | None = None) -> list[Request]:
    """Requests from an invocations_per_function_md.anon.dNN.csv file: each of its functions mapped onto one
    of the mix (seeded), each minute's count spread uniformly at random over that minute."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"{path}: cannot read the Azure trace ({getattr(exc, 'strerror', None) or exc})") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, [])
    columns = [str(m) for m in range(1, AZURE_MINUTES + 1)]
    if tuple(header[:4]) != AZURE_KEYS or header[4:] != columns:
        raise TraceError(f"{path}:1: not an Azure Functions 2019 invocation file (header "
                         f"{','.join(AZURE_KEYS)},1..{AZURE_MINUTES})")
    rng = random.Random(seed)
    span = AZURE_MINUTES if minutes is None else min(minutes, AZURE_MINUTES)
    items, mapped = [], {}
    for n, row in enumerate(reader, 2):
        if len(row) != len(header):
            raise TraceError(f"{path}:{n}: {len(row)} fields, the header has {len(header)}")
        key = tuple(row[:3])
        if key not in mapped:
            mapped[key] = mix[rng.randrange(len(mix))]
        for m in range(span):
            try:
                count = int(row[4 + m])
            except ValueError:
                raise TraceError(f"{path}:{n}: minute {m + 1} count {row[4 + m]!r} is not a whole number") from None
            items += [(60.0 * m + min(rng.random() * 60.0, 59.999999), *mapped[key]) for _ in range(count)]
    if not items:
        raise TraceError(f"{path}: no invocations in the first {span} minute(s)")
    return _numbered(items)


def per_minute(requests: list[Request]) -> dict[int, int]:
    """How many requests arrive in each minute (1-based, as the Azure columns count them)."""
    out: dict[int, int] = {}
    for r in requests:
        m = int(r.at_s // 60) + 1
        out[m] = out.get(m, 0) + 1
    return out
