"""`hwprof schedule` as one library call: a trace and a store in, Table II's rows out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hwprof.schedule import profiles as prof
from hwprof.schedule import simulate, table, trace


@dataclass(frozen=True)
class ScheduleConfig:
    """What `hwprof schedule` was asked: the trace, the profiles' store, the policies, the simulated host."""

    trace: Path
    profiles: Path
    policies: tuple[str, ...] = ()        # empty: every single target, then every registry policy
    targets: tuple[str, ...] = ()         # empty: every target profiled for the whole trace
    sim: simulate.SimConfig = simulate.SimConfig()


def schedule(config: ScheduleConfig) -> list[dict]:
    """Replay the trace through every policy by simulation: Table II's rows (table.rows)."""
    requests = trace.read(config.trace)
    profiles = prof.load(config.profiles)
    outcomes = simulate.run(requests, profiles, list(config.policies) or None, config.sim,
                            list(config.targets) or None)
    return table.rows(outcomes)
