"""A trace replayed against a running `hwprof serve`, policy by policy: what each policy's choices cost live.

Policies run one after another in the order named; before each, the host drops every cached artefact
(POST /admin/reset), so each starts clean as a simulated host does. Each request is sent at its trace time
divided by the speed, through at most as many requests in flight as the host has workers (a request that
finds none free waits, and the wait counts in its latency, as a simulated queue's does). When a slot is
free the policy is asked, the host is told to run {"size", "target"} and the answer's `cold` and the time
from sending to answer are what the policy observes. A request's latency is its wait for a slot plus the
time from sending to answer: the replay's own exchanges in between (reading the host's state, asking for a
compile) stand in for a scheduler inside the host and are counted apart (admin_s).

The policy's State is the live host's, read before each decision (POST /admin/held): `cached` says whether
any holder keeps that target's artefact for the request's module (a module in one worker's memory is warm
only on that worker: with every holder busy, the host compiles again, and the answer says cold);
`compile_in_background` asks the host for one (POST /admin/compile: it runs on a request worker, not on a
lane of its own as in the simulation); `keep_alive` is only counted: the live host keeps artefacts by its
own budget and keep-alive, not per artefact.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from hwprof.schedule import policies as pol
from hwprof.schedule.profiles import Profiles
from hwprof.schedule.simulate import Outcome, Served
from hwprof.schedule.trace import Request


class LiveError(RuntimeError):
    """A live replay that cannot go on (host unreachable, a function or target it does not serve), in one line."""


@dataclass(frozen=True)
class LiveConfig:
    """Where the host is and how the trace is replayed against it."""

    url: str
    speed: float = 1.0                    # trace seconds per second of replay (the run's trace is divided by it)
    concurrency: int | None = None        # requests in flight at once (default: the host's workers)
    timeout_s: float = 600.0              # per HTTP exchange
    calibrate: bool = True                # measure each target's per-request overhead first, for the simulation


@dataclass
class LiveOutcome(Outcome):
    """A policy's live replay: the simulated Outcome's fields from measured answers, plus every answer."""

    answers: list = field(default_factory=list)      # the host's JSON answer per request, in trace order
    keep_alive_asks: int = 0
    admin_s: float = 0.0                             # mean seconds per request of the replay's own exchanges

    def overhead_s(self) -> dict[str, float]:
        """Per target, the mean seconds a request took beyond the phases its answer reports (HTTP, JSON, the
        worker's pipe, a wasm2c process's start): what the host adds to a profile's times."""
        per: dict[str, list[float]] = {}
        for s, a in zip(self.served, self.answers):
            phases = sum(v for v in (a or {}).get("phases", {}).values() if v is not None)
            per.setdefault(s.target, []).append(s.run_s - phases)
        return {t: sum(v) / len(v) for t, v in per.items()}


@dataclass
class HostState:
    """The policy's State during a live replay: what /admin/held said for this request's module, and the asks."""

    now: float = 0.0
    seen: dict = field(default_factory=dict)          # (function, size) -> {target: [holders]}
    compiles: list = field(default_factory=list)      # (function, size, target) asked during this decision
    keep_alive_asks: int = 0

    def cached(self, function: str, size: str, target: str) -> bool:
        """Whether some holder keeps the target's artefact (as last read from the host)."""
        return bool(self.seen.get((function, size), {}).get(target))

    def compile_in_background(self, function: str, size: str, target: str) -> None:
        """Ask the host for a background compile (sent once the decision is made)."""
        self.compiles.append((function, size, target))

    def keep_alive(self, function: str, size: str, target: str, seconds: float) -> None:
        """Counted only: the live host keeps by its own budget and keep-alive."""
        self.keep_alive_asks += 1


class Live:
    """One host's client for a replay: its settings, the admin calls, one request."""

    def __init__(self, client, url: str):
        self.client, self.url = client, url.rstrip("/")

    async def call(self, method: str, path: str, **kwargs):
        """One exchange; LiveError in one line when the host cannot be reached."""
        import httpx

        try:
            return await self.client.request(method, self.url + path, **kwargs)
        except httpx.HTTPError as exc:
            raise LiveError(f"cannot reach hwprof serve at {self.url}: {exc or type(exc).__name__}") from None

    async def json(self, method: str, path: str, what: str, **kwargs) -> dict:
        """An exchange whose answer must be 200 and JSON; LiveError naming what was asked otherwise."""
        answer = await self.call(method, path, **kwargs)
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if answer.status_code != 200:
            why = body.get("error") if isinstance(body, dict) else None
            if answer.status_code == 404 and why is None:
                why = "no such route (a host without the /admin routes of a live replay?)"
            raise LiveError(f"{self.url}: {what}: {why or f'HTTP {answer.status_code}'}")
        return body

    async def settings(self) -> dict:
        """/healthz: workers, targets, memory budget, keep-alive."""
        return await self.json("GET", "/healthz", "asking its settings")

    async def held(self, function: str, size: str) -> dict:
        """/admin/held for one function at one size."""
        return await self.json("POST", f"/admin/held/{function}", f"{function}[{size}]", json={"size": size})


async def _replay(live: Live, requests: list[Request], policy: pol.Policy, config: LiveConfig,
                  slots: int) -> LiveOutcome:
    """One policy's live replay from a clean host."""
    await live.json("POST", "/admin/reset", "starting clean")
    state, gate = HostState(), asyncio.Semaphore(slots)
    served, answers = [None] * len(requests), [None] * len(requests)
    spent, peak, first, admin = [0], [0.0], None, [0.0]
    loop = asyncio.get_running_loop()
    t0 = loop.time()

    async def one(i: int, r: Request) -> None:
        nonlocal first
        at = r.at_s
        await asyncio.sleep(max(0.0, t0 + at - loop.time()))
        async with gate:
            slot = loop.time() - t0                   # a worker is free: the queueing wait ends here
            held = await live.held(r.function, r.size)
            first = held if first is None else first
            state.seen[(r.function, r.size)], state.now = held["held"], loop.time() - t0
            peak[0] = max(peak[0], float(held["held_bytes"]))
            begun = time.perf_counter_ns()
            target = policy.choose(r, state)
            spent[0] += time.perf_counter_ns() - begun
            asks, state.compiles = state.compiles, []
            for f, s, t in asks:
                await live.json("POST", f"/admin/compile/{f}", f"compiling {f}[{s}] with {t}",
                                json={"size": s, "target": t})
            sent = loop.time() - t0
            answer = await live.call("POST", f"/run/{r.function}", json={"size": r.size, "target": target})
            done = loop.time() - t0
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if answer.status_code not in (200, 500) or "target" not in body:
            raise LiveError(f"{live.url}: request {r.id} ({r.function}[{r.size}] on {target}) refused: "
                            f"{body.get('error') or f'HTTP {answer.status_code}'}")
        admin[0] += sent - slot
        served[i] = Served(r.id, r.function, r.size, target, bool(body.get("cold")), at, slot, done - sent)
        answers[i] = body
        policy.observe(r, target, done - sent, bool(body.get("cold")))

    await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))
    last = await live.held(requests[-1].function, requests[-1].size)
    peak[0] = max(peak[0], float(last["held_bytes"]))
    return LiveOutcome(policy.name, policy.kind, served, spent[0] / max(1, len(requests)), peak[0],
                       last["evictions"] - first["evictions"],
                       last["background_compiles"] - first["background_compiles"], answers, state.keep_alive_asks,
                       admin[0] / max(1, len(requests)))


async def _check(live: Live, requests: list[Request]) -> dict:
    """The host's settings, once it is known to serve every function and size of the trace (their modules
    built by the host before any request is timed)."""
    settings = await live.settings()
    for function, size in sorted({(r.function, r.size) for r in requests}):
        await live.json("POST", f"/admin/held/{function}", f"cannot serve {function}[{size}] of the trace",
                        json={"size": size})
    return settings


async def _run(requests: list[Request], made: list[pol.Policy], targets: tuple[str, ...],
               config: LiveConfig) -> tuple[dict, list[LiveOutcome]]:
    import httpx

    async with httpx.AsyncClient(timeout=config.timeout_s, limits=httpx.Limits(max_connections=64)) as client:
        live = Live(client, config.url)
        settings = await live.settings()
        missing = [t for t in targets if t not in settings.get("targets", [])]
        if missing:
            raise LiveError(f"{live.url} does not serve target {missing[0]} (it serves: "
                            f"{', '.join(settings.get('targets', []))})")
        slots = config.concurrency or int(settings.get("workers") or 1)
        return settings, [await _replay(live, requests, p, config, slots) for p in made]


def settings_of(url: str, requests: list[Request] = ()) -> dict:
    """The live host's /healthz settings (workers, targets, memory_budget, keep_alive_s); LiveError in one line
    when it cannot be reached or does not serve a function and size of the requests."""
    import httpx

    async def ask() -> dict:
        async with httpx.AsyncClient(timeout=600) as client:
            return await _check(Live(client, url), list(requests))

    return asyncio.run(ask())


CALIBRATION_REQUESTS = 7                # per target: one cold, then warm ones whose median is kept


async def _overhead(live: Live, function: str, size: str, target: str, warm_s: float) -> float:
    """Seconds a warm request of one target takes live beyond its profile's warm time (median of a few)."""
    await live.json("POST", "/admin/reset", "starting clean")
    times = []
    for _ in range(CALIBRATION_REQUESTS):
        begun = time.perf_counter()
        answer = await live.call("POST", f"/run/{function}", json={"size": size, "target": target})
        took = time.perf_counter() - begun
        body = answer.json() if answer.status_code in (200, 500) else {}
        if answer.status_code != 200 or body.get("error"):
            raise LiveError(f"{live.url}: calibrating {target} on {function}[{size}]: "
                            f"{body.get('error') or f'HTTP {answer.status_code}'}")
        if not body.get("cold"):
            times.append(took)
    times.sort()
    return times[len(times) // 2] - warm_s if times else 0.0


def calibrate(url: str, requests: list[Request], profiles: Profiles, targets: tuple[str, ...]) -> dict[str, float]:
    """Per target, what the live host adds to a request beyond the profile's warm time (HTTP, JSON, the worker's
    pipe, a wasm2c process's start), measured on the trace's quickest function before any replay: the
    simulation of that host adds it to every request of the target."""
    import httpx

    quick = min(sorted({(r.function, r.size) for r in requests}),
                key=lambda k: min(profiles.get(*k, t).warm_s for t in targets))

    async def measure() -> dict[str, float]:
        async with httpx.AsyncClient(timeout=600) as client:
            live = Live(client, url)
            return {t: await _overhead(live, *quick, t, profiles.get(*quick, t).warm_s) for t in targets}

    return asyncio.run(measure())


def run(requests: list[Request], profiles: Profiles, names: list[str], targets: tuple[str, ...],
        config: LiveConfig, keep_alive_s: float | None = None) -> list[LiveOutcome]:
    """Every named policy's live replay, in that order, each from a clean host (requests' times as sent:
    already divided by the speed); keep_alive_s is the host's, which the oracle's plan allows for (the live
    host keeps by it, not as a policy asks)."""
    setting = pol.Setting(profiles, targets, tuple(requests), keep_alive_s, keeps_asked=False)
    return replay(requests, [pol.make(n, setting) for n in names], targets, config)


def replay(requests: list[Request], made: list[pol.Policy], targets: tuple[str, ...], config: LiveConfig
           ) -> list[LiveOutcome]:
    """These policies' live replays, in order, each from a clean host; targets: those they may choose."""
    return asyncio.run(_run(requests, made, targets, config))[1]
