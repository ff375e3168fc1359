"""A sweep's plan: the config checked, its sweep points, each workload's size, and the tasks its simulator
writes, one folder per (workload, target, point): <outdir>/<simulator>/<workload>-<size>/<target>/<point key>/.
"""

from __future__ import annotations

from pathlib import Path

from hwprof import workloads as bundled
from hwprof.gem5 import config as gem5_config
from hwprof.executors import EXECUTORS
from hwprof.gem5.simulators import Simulator, simulator
from hwprof.gem5.tasks import KINDS, SweepConfig, SweepError, Task


def validate(config: SweepConfig) -> tuple[Simulator, tuple[str, ...]]:
    """The config's simulator and targets, or a SweepError saying in one line what cannot be swept."""
    if config.kind not in KINDS:
        raise SweepError(f"unknown sweep {config.kind!r} (choose: --cache l1i, --cache l1d or --bp)")
    sim = simulator(config.simulator)
    if not config.workloads:
        raise SweepError("no workload given")
    if config.executor not in EXECUTORS:
        raise SweepError(f"unknown executor {config.executor!r} (choose: {', '.join(EXECUTORS)})")
    if config.scheduler and config.executor != "dask":
        raise SweepError("--scheduler is a Dask option: add --executor dask")
    fs = [config.fs_kernel, config.fs_disk, config.fs_command]
    if any(fs) and not all(fs):
        raise SweepError("FS mode needs --fs-kernel, --fs-disk and --fs-command together")
    return sim, sim.targets(config)


def points_for(config: SweepConfig) -> list:
    """The sweep points of the config's kind, sizes and predictors."""
    try:
        return gem5_config.sweep_points(config.kind, list(config.sizes) or None, list(config.predictors) or None)
    except gem5_config.ConfigError as exc:
        raise SweepError(str(exc)) from None


def size_for(config: SweepConfig, workload: str) -> str:
    """The size a workload is swept at: the one asked for, else `small` where it has one, else its default."""
    spec = bundled.catalogue()["workload"].get(workload)
    if spec is None:
        raise SweepError(f"unknown workload {workload!r} (see `hwprof workloads list`)")
    known = bundled.sizes_of(spec)
    if config.size is None:
        return "small" if "small" in known else bundled.default_size(spec)
    if config.size not in known:
        raise SweepError(f"{workload} has no size {config.size!r} (it has: {', '.join(known)})")
    return config.size


def plan(config: SweepConfig) -> list[Task]:
    """Write one configuration per (workload, target, point) and return the tasks, checkpoint runs first."""
    sim, targets = validate(config)
    points = points_for(config)
    sized = [(w, size_for(config, w)) for w in config.workloads]
    base = Path(config.outdir).resolve() / sim.name   # absolute: configurations name their checkpoints
    return sim.plan(config, targets, points, sized, base)
