"""The simulators a sweep can run its points on, behind one protocol, and their one registry.

Adding a simulator is one module implementing `Simulator` and one line in `SIMULATORS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from hwprof.gem5 import cachegrind_sweep, gem5_sim
from hwprof.gem5.tasks import PointResult, SweepConfig, SweepError, Task


class Simulator(Protocol):
    """One way to simulate a sweep point: plan its tasks, run one, or say how to run them elsewhere."""

    name: str
    title: str          # how a sweep's summary names it (e.g. that it is simulated, not measured)

    def targets(self, config: SweepConfig) -> tuple[str, ...]:
        """The targets a sweep runs, after this simulator's own checks (SweepError says what it refuses)."""
        ...

    def plan(self, config: SweepConfig, targets: tuple[str, ...], points: list, base: Path) -> list[Task]:
        """Write each task's configuration under `base` and return the tasks, those others start from first."""
        ...

    def run(self, task: Task) -> PointResult:
        """Simulate one task (in an executor's worker) and return its rows and provenance."""
        ...

    def how_to_run(self, config: SweepConfig, tasks: list[Task]) -> tuple[str, str]:
        """('', '') when the sweep runs here now; else what to tell the user, and the one line the command fails
        with when the simulator is missing ('' when nothing is wrong, as with --write-only)."""
        ...


SIMULATORS: dict[str, Simulator] = {sim.name: sim for sim in (
    gem5_sim.GEM5,
    cachegrind_sweep.CACHEGRIND,
)}


def simulator(name: str) -> Simulator:
    """The simulator called `name`, or a SweepError listing those there are."""
    try:
        return SIMULATORS[name]
    except KeyError:
        raise SweepError(f"unknown simulator {name!r} (choose: {', '.join(SIMULATORS)})") from None
