"""The host's counters, and their Prometheus text exposition (format 0.0.4), written by hand.

Per function and target: requests, errors, cold starts, and a latency summary (p50, p99 over the last
LATENCY_WINDOW requests; sum and count over all). Host-wide: bytes of cached artefacts and the budget,
evictions, background compilations, requests in flight.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict, deque

LATENCY_WINDOW = 1024
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "hwprof_serve"


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")   # nearest rank


def _labels(pairs: dict) -> str:
    quoted = (f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
              for k, v in pairs.items())
    return "{" + ",".join(quoted) + "}"


class Metrics:
    """Counters the app updates as requests finish, read out as Prometheus text."""

    def __init__(self):
        self._lock = threading.Lock()
        self.requests = defaultdict(int)
        self.errors = defaultdict(int)
        self.cold = defaultdict(int)
        self.latency_sum = defaultdict(float)
        self.recent = defaultdict(lambda: deque(maxlen=LATENCY_WINDOW))
        self.background_compiles = 0
        self.in_flight = 0
        self.rejected = defaultdict(int)

    def finished(self, function: str, target: str, cold: bool, failed: bool, latency_s: float) -> None:
        """Count one answered run."""
        key = (function, target)
        with self._lock:
            self.requests[key] += 1
            self.errors[key] += int(failed)
            self.cold[key] += int(cold)
            self.latency_sum[key] += latency_s
            self.recent[key].append(latency_s)

    def reject(self, status: int) -> None:
        """Count a request refused before it ran (404, 413, 400)."""
        with self._lock:
            self.rejected[status] += 1

    def text(self, cache_bytes: int, budget: int, evictions: int) -> str:
        """Everything as Prometheus text."""
        with self._lock:
            lines = []
            for name, kind, doc, table in (
                    ("requests_total", "counter", "Runs answered, per function and target.", self.requests),
                    ("errors_total", "counter", "Runs answered with an error (trap, limit, failed compile).",
                     self.errors),
                    ("cold_starts_total", "counter", "Runs that compiled their artefact first.", self.cold)):
                lines += [f"# HELP {PREFIX}_{name} {doc}", f"# TYPE {PREFIX}_{name} {kind}"]
                lines += [f"{PREFIX}_{name}{_labels({'function': f, 'target': t})} {v}"
                          for (f, t), v in sorted(table.items())]
            lines += self._summary()
            lines += [f"# HELP {PREFIX}_rejected_total Requests refused before running, per HTTP status.",
                      f"# TYPE {PREFIX}_rejected_total counter"]
            lines += [f"{PREFIX}_rejected_total{_labels({'status': s})} {v}" for s, v in sorted(self.rejected.items())]
            for name, kind, doc, value in (
                    ("cache_bytes", "gauge", "Bytes of cached artefacts kept now.", cache_bytes),
                    ("cache_budget_bytes", "gauge", "The memory budget for cached artefacts.", budget),
                    ("evictions_total", "counter", "Artefacts evicted (budget or keep-alive).", evictions),
                    ("background_compiles_total", "counter", "Optimizing compiles run in the background.",
                     self.background_compiles),
                    ("in_flight", "gauge", "Requests running now.", self.in_flight)):
                lines += [f"# HELP {PREFIX}_{name} {doc}", f"# TYPE {PREFIX}_{name} {kind}", f"{PREFIX}_{name} {value}"]
        return "\n".join(lines) + "\n"

    def _summary(self) -> list[str]:
        name = f"{PREFIX}_request_seconds"
        lines = [f"# HELP {name} Host-side latency of answered runs (quantiles over the last "
                 f"{LATENCY_WINDOW}).", f"# TYPE {name} summary"]
        for (f, t), recent in sorted(self.recent.items()):
            values = list(recent)
            for q in (0.5, 0.99):
                lines.append(f"{name}{_labels({'function': f, 'target': t, 'quantile': q})} {_quantile(values, q)!r}")
            lines.append(f"{name}_sum{_labels({'function': f, 'target': t})} {self.latency_sum[(f, t)]!r}")
            lines.append(f"{name}_count{_labels({'function': f, 'target': t})} {self.requests[(f, t)]}")
        return lines
