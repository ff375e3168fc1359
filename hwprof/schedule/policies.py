"""Scheduling policies behind one protocol: which target serves a request (and, for one, what to keep and compile).

Singles always pick their target (the study's single-runtime modes, each with its artefact cache); the
study's hybrid looks its profile up; the online hybrid also learns from observed times; the pattern-aware
hybrid also asks the host for background compiles and keep-alive times from inter-arrival gaps; the oracle
follows the best plan in hindsight, made from the whole trace (per module: which target serves each request,
and which one, if any, to compile in the background from the module's first request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from hwprof.schedule.profiles import Profiles, module_of
from hwprof.schedule.trace import Request

KINDS = ("single", "hybrid", "oracle")
FOREVER = float("inf")            # a keep-alive that never runs out
SINGLE = "only:"                  # a single target's policy is named only:<target>


class PolicyError(ValueError):
    """A policy name that is not known, with the one line naming the known ones."""


class State(Protocol):
    """What the host lets a policy see at a decision, and the two things a policy may ask of it."""

    now: float

    def cached(self, function: str, size: str, target: str) -> bool: ...

    def compile_in_background(self, function: str, size: str, target: str) -> None: ...

    def keep_alive(self, function: str, size: str, target: str, seconds: float) -> None: ...


class Policy(Protocol):
    """A scheduling policy: its name and kind (single|hybrid|oracle), a choice per request, what it was told."""

    name: str
    kind: str

    def choose(self, request: Request, state: State) -> str: ...

    def observe(self, request: Request, target: str, latency_s: float, cold: bool) -> None: ...


@dataclass(frozen=True)
class Setting:
    """What a policy is built from: the profiles, the targets it may pick, and (for the oracle) the trace."""

    profiles: Profiles
    targets: tuple[str, ...]
    requests: tuple[Request, ...] = ()
    keep_alive_s: float | None = None      # the host's keep-alive
    keeps_asked: bool = True               # whether the host keeps an artefact as long as a policy asks (the
                                           # simulated one does; a live hwprof serve keeps by its own keep-alive)


def _expected(setting: Setting, request: Request, target: str, cached: bool) -> float:
    p = setting.profiles.get(request.function, request.size, target)
    return p.warm_s if cached else p.cold_s


@dataclass
class Single:
    """One target for every request (the study's "X only" modes)."""

    target: str
    kind: str = "single"

    @property
    def name(self) -> str:
        """only:<target>."""
        return SINGLE + self.target

    def choose(self, request: Request, state: State) -> str:
        """Always the one target."""
        return self.target

    def observe(self, request: Request, target: str, latency_s: float, cold: bool) -> None:
        """Nothing to learn."""


@dataclass
class StudyHybrid:
    """The study's hybrid: the target with the least profiled time for this request, given what is kept."""

    setting: Setting
    name: str = "hybrid"
    kind: str = "hybrid"

    def estimate(self, request: Request, target: str, cached: bool) -> float:
        """Expected seconds of serving the request with a target (warm when kept, else cold)."""
        return _expected(self.setting, request, target, cached)

    def choose(self, request: Request, state: State) -> str:
        """The least expected time; ties go to a kept artefact, then to the earlier target."""
        def cost(t):
            kept = state.cached(request.function, request.size, t)
            return self.estimate(request, t, kept), not kept

        return min(self.setting.targets, key=cost)

    def observe(self, request: Request, target: str, latency_s: float, cold: bool) -> None:
        """The offline profile is not updated."""


@dataclass
class OnlineHybrid(StudyHybrid):
    """The study's hybrid whose estimates are running means of the profile and every observed run time."""

    name: str = "online-hybrid"
    seen: dict = field(default_factory=dict)       # (function, size, target, cold) -> (sum, n)

    def estimate(self, request: Request, target: str, cached: bool) -> float:
        """The running mean, the profile counting as one observation."""
        key = (request.function, request.size, target, not cached)
        total, n = self.seen.get(key, (0.0, 0))
        return (_expected(self.setting, request, target, cached) + total) / (n + 1)

    def observe(self, request: Request, target: str, latency_s: float, cold: bool) -> None:
        """Add an observed run time (queueing excluded) to its estimate."""
        key = (request.function, request.size, target, cold)
        total, n = self.seen.get(key, (0.0, 0))
        self.seen[key] = (total + latency_s, n + 1)


@dataclass
class PatternHybrid(StudyHybrid):
    """The hybrid plus the invocation pattern: a function that recurs gets its fastest-warm target compiled in
    the background while another serves it; that artefact is kept alive for a few of its mean gaps (at least
    the host's keep-alive), the one that served meanwhile dropped once superseded."""

    name: str = "pattern-hybrid"
    gaps: dict = field(default_factory=dict)       # module -> (last arrival, mean gap or None)
    alive_gaps: float = 4.0                        # keep an artefact this many mean gaps
    smoothing: float = 0.3                         # weight of the newest gap in the moving mean

    def choose(self, request: Request, state: State) -> str:
        """The hybrid's choice; a background compile of the best warm target when the function recurs."""
        key, module = (request.function, request.size), module_of(request.function, request.size)
        last, gap = self.gaps.get(module, (None, None))
        if last is not None:
            new = request.at_s - last
            gap = new if gap is None else (1 - self.smoothing) * gap + self.smoothing * new
        self.gaps[module] = (request.at_s, gap)
        target = super().choose(request, state)
        steady = min(self.setting.targets, key=lambda t: self.setting.profiles.get(*key, t).warm_s)
        if gap is not None and steady != target and not state.cached(*key, steady):
            state.compile_in_background(*key, steady)
        if gap is not None:
            # the best warm target is kept for a few gaps (longer than the host would for a rare, regular
            # function); a faster-to-compile one that served while it compiled goes once it is superseded
            usual = self.setting.keep_alive_s or 0.0
            alive = self.alive_gaps * gap + self.setting.profiles.get(*key, steady).cold_s
            state.keep_alive(*key, steady, max(usual, alive))
            if target != steady:
                state.keep_alive(*key, target, 0.0 if state.cached(*key, steady) else max(usual, gap))
        return target


@dataclass
class Oracle:
    """The best plan in hindsight, per module: the targets with the least total run time over all its requests
    (every target's cold and warm time for each request known), one target perhaps compiled in the background
    from the module's first request, every artefact it makes asked to be kept (where the host keeps what it
    is asked to; else the host's keep-alive is allowed for). Lane contention, queueing and memory evictions
    are not foreseen: a planned background artefact that is not kept yet when its request comes (the lanes
    were busy) gives way to the hybrid's choice."""

    setting: Setting
    name: str = "oracle"
    kind: str = "oracle"
    plan: dict = field(default_factory=dict)       # request id -> target
    background: dict = field(default_factory=dict)   # request id (a module's first) -> target compiled meanwhile
    relies: set = field(default_factory=set)         # ids of requests planned on their background artefact

    def __post_init__(self):
        streams: dict[str, list[Request]] = {}
        for r in self.setting.requests:
            streams.setdefault(module_of(r.function, r.size), []).append(r)
        for stream in streams.values():
            plans = [best_plan(self.setting, stream, b) for b in (None, *self.setting.targets)]
            total, plan, b = min(plans, key=lambda found: found[0])
            self.plan.update(plan)
            if b is not None:
                self.background[stream[0].id] = b
                self.relies |= {r.id for r in stream if plan[r.id] == b}

    def choose(self, request: Request, state: State) -> str:
        """The planned target (the hybrid's choice where a planned background artefact is not kept yet)."""
        b = self.background.get(request.id)
        if b is not None:
            state.compile_in_background(request.function, request.size, b)
            state.keep_alive(request.function, request.size, b, FOREVER)
        target = self.plan[request.id]
        if request.id in self.relies and not state.cached(request.function, request.size, target):
            target = StudyHybrid(self.setting).choose(request, state)
        state.keep_alive(request.function, request.size, target, FOREVER)
        return target

    def observe(self, request: Request, target: str, latency_s: float, cold: bool) -> None:
        """The plan is fixed."""


def best_plan(setting: Setting, stream: list[Request], background: str | None = None
              ) -> tuple[float, dict[int, str], str | None]:
    """(summed run time, request id -> target, the background target) minimizing one module's stream: a
    dynamic programme over the set of targets whose artefact is kept (where the host keeps only by its
    keep-alive, all of it dropped after a longer gap); a background target's artefact joins every set once
    its compile, begun at the stream's first request, has ended."""
    keep = None if setting.keeps_asked else setting.keep_alive_s
    costs: dict[tuple[str, str], object] = {}

    def cost(r: Request, t: str):
        if (r.size, t) not in costs:
            costs[(r.size, t)] = setting.profiles.get(r.function, r.size, t)
        return costs[(r.size, t)]

    ready = None if background is None else stream[0].at_s + cost(stream[0], background).make_s
    frontier: dict[frozenset, float] = {frozenset(): 0.0}
    steps: list[dict[frozenset, tuple[frozenset, str]]] = []     # per request: state -> (state before, target)
    last = None
    for r in stream:
        entry = {k: k for k in frontier}                          # the state each frontier state came from
        if last is not None and keep is not None and r.at_s - last > keep:
            best = min(frontier, key=frontier.get)
            frontier, entry = {frozenset(): frontier[best]}, {frozenset(): best}
        if ready is not None and r.at_s >= ready:
            if keep is None or r.at_s - ready <= keep:            # landed, and not expired unused since
                frontier, entry = _with(frontier, entry, background)
            ready = None
        nxt: dict[frozenset, float] = {}
        back: dict[frozenset, tuple[frozenset, str]] = {}
        for kept, total in frontier.items():
            for t in setting.targets:
                p = cost(r, t)
                step = total + (p.warm_s if t in kept else p.cold_s)
                state = kept | {t}
                if state not in nxt or step < nxt[state]:
                    nxt[state], back[state] = step, (entry[kept], t)
        frontier, last = nxt, r.at_s
        steps.append(back)
    state = min(frontier, key=frontier.get)
    total, path = frontier[state], []
    for back in reversed(steps):
        state, t = back[state]
        path.append(t)
    return total, {r.id: t for r, t in zip(stream, reversed(path))}, background


def _with(frontier: dict, entry: dict, target: str) -> tuple[dict, dict]:
    """Every kept set with one more artefact, the cheapest way to each, and where each came from."""
    grown, came = {}, {}
    for kept, total in frontier.items():
        state = kept | {target}
        if state not in grown or total < grown[state]:
            grown[state], came[state] = total, entry[kept]
    return grown, came


REGISTRY: dict[str, Callable[[Setting], Policy]] = {
    "hybrid": StudyHybrid, "online-hybrid": OnlineHybrid, "pattern-hybrid": PatternHybrid, "oracle": Oracle}


def names(targets) -> list[str]:
    """Every policy's name for these targets: the singles, then the registry's."""
    return [SINGLE + t for t in targets] + list(REGISTRY)


def make(name: str, setting: Setting) -> Policy:
    """A policy by name (only:<target>, or a REGISTRY name), or PolicyError naming the known ones."""
    if name.startswith(SINGLE) and name[len(SINGLE):] in setting.targets:
        return Single(name[len(SINGLE):])
    if name in REGISTRY:
        return REGISTRY[name](setting)
    raise PolicyError(f"unknown policy {name!r} (one of: {', '.join(names(setting.targets))})")
