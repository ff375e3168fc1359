"""A deterministic discrete-event simulation of a serving host: N workers, a queue, a cache of compiled artefacts.

Requests are served first come, first served by the first free worker; a request's latency is its wait
plus its run time. The run time is the chosen target's cold time (bootstrap + compile + instantiate +
execute) when its artefact for the request's module is not kept, else its warm time (instantiate +
execute). An artefact is per module and target, as a real host keys it (a workload that takes its size as
an argument has one module for all its sizes: profiles.module_of). It is kept from the end of its compile;
it goes when unused longer than its keep-alive or, under a memory budget, least recently used first.
Background compiles run on their own lanes.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field

import numpy as np

from hwprof.schedule import policies as pol
from hwprof.schedule.profiles import Profiles, module_of
from hwprof.schedule.trace import Request


@dataclass(frozen=True)
class SimConfig:
    """The simulated host: request workers, memory budget, keep-alive, background compile lanes."""

    workers: int = 1
    memory_budget: int | None = None      # bytes of kept artefacts; None: no limit
    keep_alive_s: float | None = 600.0    # drop an artefact unused this long (AWS Lambda's fixed ten minutes,
                                          # as Shahrad et al. report it, ATC'20); None: never
    compile_workers: int = 1              # lanes for background compiles, apart from the request workers
    artefact_bytes: float = float(1 << 20)   # an artefact's bytes where its profile does not know them
    overhead_s: dict = field(default_factory=dict)   # target -> seconds the host adds to every request's profile
                                                     # time (HTTP, JSON, pipes, a process per request): 0 if absent
    keeps_asked: bool = True              # keep an artefact as long as a policy asks (False: by keep_alive_s only)


@dataclass(frozen=True)
class Served:
    """One request as the host served it."""

    id: int
    function: str
    size: str
    target: str
    cold: bool
    at_s: float
    start_s: float
    run_s: float

    @property
    def latency_s(self) -> float:
        """Wait in the queue plus run time."""
        return self.start_s - self.at_s + self.run_s


@dataclass
class Outcome:
    """One policy's replay of a trace: every request served, decision cost, memory, background compiles."""

    name: str
    kind: str
    served: list[Served]
    decision_ns: float = 0.0              # mean nanoseconds of one choose()
    memory_bytes: float = 0.0             # the most artefact bytes kept at once
    evictions: int = 0
    background_compiles: int = 0

    def latencies(self) -> np.ndarray:
        """Every request's latency in seconds, in trace order."""
        return np.array([s.latency_s for s in self.served], dtype=float)

    @property
    def total_s(self) -> float:
        """Summed latency."""
        return float(self.latencies().sum())

    @property
    def mean_s(self) -> float:
        """Mean latency."""
        return float(self.latencies().mean())

    @property
    def p50_s(self) -> float:
        """Median latency."""
        return float(np.percentile(self.latencies(), 50))

    @property
    def p99_s(self) -> float:
        """99th percentile latency."""
        return float(np.percentile(self.latencies(), 99))

    @property
    def cold_starts(self) -> int:
        """Requests that found no artefact kept for their target."""
        return sum(s.cold for s in self.served)


@dataclass
class Kept:
    bytes: float
    last_used: float


def artefact_key(function: str, size: str, target: str) -> tuple[str, str]:
    """What a host keys a kept artefact by: the request's module and the target."""
    return module_of(function, size), target


@dataclass
class Host:
    """The simulated host's cache and compile lanes, as a policy's State sees it."""

    profiles: Profiles
    config: SimConfig
    now: float = 0.0
    kept: dict = field(default_factory=dict)          # (module, target) -> Kept
    alive: dict = field(default_factory=dict)         # (module, target) -> keep-alive seconds
    pending: list = field(default_factory=list)       # heap of (ready_s, seq, key, used_until, bytes)
    lanes: list = field(default_factory=list)         # when each background lane is free
    held: float = 0.0
    peak: float = 0.0
    evictions: int = 0
    background: int = 0
    landed: int = 0                                   # artefacts sent to the cache, for the heap's order

    def __post_init__(self):
        self.lanes = [0.0] * max(1, self.config.compile_workers)

    def cached(self, function: str, size: str, target: str) -> bool:
        """Whether the target's artefact for this request's module is kept now."""
        return artefact_key(function, size, target) in self.kept

    def compile_in_background(self, function: str, size: str, target: str) -> None:
        """Compile an artefact on the first free lane (nothing when it is kept or already being made)."""
        key = artefact_key(function, size, target)
        if key in self.kept or any(p[2] == key for p in self.pending):
            return
        lane = min(range(len(self.lanes)), key=lambda i: self.lanes[i])
        ready = max(self.now, self.lanes[lane]) + self.profiles.get(function, size, target).make_s
        self.lanes[lane] = ready
        self.background += 1
        self.land(function, size, target, ready, ready)

    def keep_alive(self, function: str, size: str, target: str, seconds: float) -> None:
        """Keep this artefact while it is used at least every `seconds` (a host that keeps by its own keep-alive
        only counts the ask)."""
        if self.config.keeps_asked:
            self.alive[artefact_key(function, size, target)] = float(seconds)

    def land(self, function: str, size: str, target: str, ready_s: float, used_until: float) -> None:
        """An artefact that will be kept from ready_s (its compile's end), last used at used_until."""
        self.landed += 1
        nbytes = self.profiles.get(function, size, target).artefact_bytes or self.config.artefact_bytes
        heapq.heappush(self.pending, (ready_s, self.landed, artefact_key(function, size, target), used_until, nbytes))

    def touch(self, function: str, size: str, target: str, used_until: float) -> None:
        """A kept artefact used until then."""
        kept = self.kept[artefact_key(function, size, target)]
        kept.last_used = max(kept.last_used, used_until)

    def advance(self, now: float) -> None:
        """Move the clock: compiles that ended are kept, artefacts past their keep-alive dropped."""
        while self.pending and self.pending[0][0] <= now:
            ready, _, key, used, nbytes = heapq.heappop(self.pending)
            self._expire(ready)
            self._insert(key, used, nbytes)
        self._expire(now)
        self.now = now

    def _ttl(self, key) -> float | None:
        return self.alive.get(key, self.config.keep_alive_s)

    def _expire(self, now: float) -> None:
        for key in [k for k, v in self.kept.items() if self._ttl(k) is not None and now - v.last_used > self._ttl(k)]:
            self._drop(key)

    def _drop(self, key) -> None:
        self.held -= self.kept.pop(key).bytes
        self.evictions += 1

    def _insert(self, key, used: float, size: float) -> None:
        if key in self.kept:
            self.kept[key].last_used = max(self.kept[key].last_used, used)
            return
        budget = self.config.memory_budget
        if budget is not None and size > budget:
            return                        # too big to keep at all: every use compiles it again
        while budget is not None and self.held + size > budget:
            self._drop(min(self.kept, key=lambda k: self.kept[k].last_used))
        self.kept[key] = Kept(size, used)
        self.held += size
        self.peak = max(self.peak, self.held)


def replay(requests: list[Request], profiles: Profiles, policy: pol.Policy, config: SimConfig = SimConfig()
           ) -> Outcome:
    """One policy's replay of a trace on a fresh host."""
    host = Host(profiles, config)
    free = [(0.0, w) for w in range(max(1, config.workers))]     # (free at, worker): the first free one serves
    served, spent = [], 0
    for r in requests:
        at, worker = heapq.heappop(free)
        start = max(r.at_s, at)
        host.advance(start)
        t0 = time.perf_counter_ns()
        target = policy.choose(r, host)
        spent += time.perf_counter_ns() - t0
        key = (r.function, r.size, target)
        p = profiles.get(*key)
        cold = not host.cached(*key)
        run = (p.cold_s if cold else p.warm_s) + config.overhead_s.get(target, 0.0)
        if cold:
            host.land(*key, start + p.make_s, start + run)
        else:
            host.touch(*key, start + run)
        heapq.heappush(free, (start + run, worker))
        served.append(Served(r.id, r.function, r.size, target, cold, r.at_s, start, run))
        policy.observe(r, target, run, cold)
    host.advance(max(at for at, _ in free))      # the last compiles land: what the host holds at the end
    return Outcome(policy.name, policy.kind, served, spent / max(1, len(requests)), host.peak, host.evictions,
                   host.background)


def run(requests: list[Request], profiles: Profiles, names: list[str] | None = None,
        config: SimConfig = SimConfig(), targets: list[str] | None = None) -> list[Outcome]:
    """Every named policy's replay (default: every single target, then the registry's) over the given targets
    (default: every one profiled for the whole trace); ProfileError or PolicyError in one line when the
    profiles or a name do not fit the trace."""
    needs = {(r.function, r.size) for r in requests}
    singles = [n[len(pol.SINGLE):] for n in names or () if n.startswith(pol.SINGLE)]
    if singles:
        profiles.covering(needs, singles)
    targets = tuple(profiles.covering(needs, targets))
    setting = pol.Setting(profiles, targets, tuple(requests), config.keep_alive_s, config.keeps_asked)
    chosen = [pol.make(n, setting) for n in (names or pol.names(targets))]
    return [replay(requests, profiles, p, config) for p in chosen]
