"""`hwprof schedule` as one library call: a trace and a store in, Table II's rows out (and, with a live host,
the live rows and how far the simulation is from them)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from hwprof.schedule import live as live_replay
from hwprof.schedule import policies as pol
from hwprof.schedule import profiles as prof
from hwprof.schedule import simulate, store, table, trace


@dataclass(frozen=True)
class ScheduleConfig:
    """What `hwprof schedule` was asked: the trace, the profiles' store, the policies, the simulated host."""

    trace: Path
    profiles: Path
    policies: tuple[str, ...] = ()        # empty: every single target, then every registry policy
    targets: tuple[str, ...] = ()         # empty: every target profiled for the whole trace
    sim: simulate.SimConfig = simulate.SimConfig()
    max_requests: int | None = None       # only the trace's first requests
    live: live_replay.LiveConfig | None = None    # also replay against this running `hwprof serve`
    host_model: str = "persistent"        # profiles.HOST_MODELS: which cold parts the simulated host pays


def _requests(config: ScheduleConfig) -> list[trace.Request]:
    requests = trace.read(config.trace)
    return requests[:config.max_requests] if config.max_requests else requests


def simulated(config: ScheduleConfig) -> list[simulate.Outcome]:
    """Replay the trace through every policy by simulation: one Outcome per policy."""
    requests = _requests(config)
    profiles = prof.for_host(prof.load(config.profiles), config.host_model)
    return simulate.run(requests, profiles, list(config.policies) or None, config.sim, list(config.targets) or None)


def schedule(config: ScheduleConfig) -> list[dict]:
    """Replay the trace through every policy by simulation: Table II's rows (table.rows)."""
    return table.rows(simulated(config))


def settings(config: ScheduleConfig) -> dict:
    """What a stored replay was asked, for its run file's provenance."""
    sim = config.sim
    return {"trace": str(config.trace), "trace_sha256": store.digest(config.trace), "profiles": str(config.profiles),
            "host_model": config.host_model, "policies": list(config.policies), "targets": list(config.targets),
            "workers": sim.workers, "memory_budget": sim.memory_budget, "keep_alive_s": sim.keep_alive_s,
            "compile_workers": sim.compile_workers, "max_requests": config.max_requests,
            "live": None if config.live is None else {"url": config.live.url, "speed": config.live.speed}}


def keep(config: ScheduleConfig, outcomes: list[simulate.Outcome], mode: str, root: Path,
         overhead: dict[str, float] | None = None) -> Path:
    """Write one replay (simulated | live) into the results store at root: the run file's path."""
    extra = f"{config.live.url} at {config.live.speed:g}x" if config.live else ""
    note = store.describe(config.trace, mode, config.host_model, config.profiles, extra)
    return store.write(root, outcomes, mode, note, {**settings(config), "overhead_s": overhead or {}})


def replay_live(config: ScheduleConfig
                ) -> tuple[list[simulate.Outcome], list[live_replay.LiveOutcome], dict[str, float]]:
    """Replay the trace (its times divided by the speed) against the live host, and by simulation of a host
    with the live one's workers, budget and keep-alive (kept by it, not as policies ask) and per-request
    overhead per target (live_replay.calibrate): the simulated and the live outcomes, policy by policy, and
    the overhead per target the simulation added."""
    speed = config.live.speed
    if speed <= 0:
        raise live_replay.LiveError(f"--speed must be positive, not {speed:g}")
    requests = [replace(r, at_s=r.at_s / speed) for r in _requests(config)]
    profiles = prof.for_host(prof.load(config.profiles), config.host_model)
    host = live_replay.settings_of(config.live.url, requests)
    served = [t for t in (config.targets or host.get("targets", [])) if t in host.get("targets", [])]
    if config.targets and len(served) < len(config.targets):
        missing = next(t for t in config.targets if t not in served)
        raise live_replay.LiveError(f"{config.live.url} does not serve target {missing} "
                                    f"(it serves: {', '.join(host.get('targets', []))})")
    needs = {(r.function, r.size) for r in requests}
    if config.targets:
        targets = tuple(profiles.covering(needs, list(config.targets)))
    else:
        targets = tuple(t for t in profiles.covering(needs) if t in served)
    if not targets:
        raise live_replay.LiveError(f"no target {config.live.url} serves ({', '.join(host.get('targets', []))}) "
                                    f"has a profile in {config.profiles} for every function of the trace")
    names = list(config.policies) or pol.names(targets)
    overhead = live_replay.calibrate(config.live.url, requests, profiles, targets) if config.live.calibrate else {}
    sim = replace(config.sim, workers=config.live.concurrency or int(host.get("workers") or 1),
                  memory_budget=host.get("memory_budget"), keep_alive_s=host.get("keep_alive_s"),
                  overhead_s=overhead, keeps_asked=False)
    simulated = simulate.run(requests, profiles, names, sim, list(targets))
    return simulated, live_replay.run(requests, profiles, names, targets, config.live, sim.keep_alive_s), overhead


def schedule_live(config: ScheduleConfig, results: Path | None = None) -> dict:
    """replay_live as rows: {"simulated": Table II's rows, "live": the same rows measured, "comparison": per
    policy the simulated and live totals and their relative difference}; both replays kept in `results`."""
    sim_out, live_out, overhead = replay_live(config)
    if results is not None:
        keep(config, sim_out, "simulated", results, overhead)
        keep(config, live_out, "live", results, overhead)
    sim_rows, live_rows = table.rows(sim_out), table.rows(live_out)
    for row, o in zip(live_rows, live_out):
        row["admin_s"] = o.admin_s
    return {"simulated": sim_rows, "live": live_rows, "comparison": table.comparison(sim_rows, live_rows),
            "overhead_s": overhead}
