"""The same cache sweep without gem5: valgrind's cache simulator (hwprof's cachegrind backend) at each point.

Each point is one `collect --backend cachegrind` with the point's I1/D1/LL geometry, over the same region
of interest (bench.start .. bench.end, the execute phase). Its rows are labelled backend "cachegrind".
A point runs in a fresh Python process with a fixed environment: the simulated D1 sees the stack, and
the stack's placement moves with the size of the environment, so a worker's own variables (Dask sets
some) would otherwise change the counts. That process collects into a scratch store it removes and hands
its rows back on stdout: the sweep stores each point once, in the sweep's results store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from hwprof import runtimes
from hwprof.backends import BackendError
from hwprof.backends.cachegrind import check_geometry
from hwprof.data import schema
from hwprof.data.schema import Record
from hwprof.data.store import read_run
from hwprof.gem5.config import BLOCK_SIZE, size_bytes
from hwprof.executors import worker_cpu
from hwprof.gem5.tasks import PointResult, SweepConfig, SweepError, Task

POINT_FILE = "point.json"
DEFAULT_TARGETS = ("native", "wasmtime")
# The variables a point's process keeps; everything else is dropped so every worker gives the same counts.
# PYTHONPATH: the point's process must import the hwprof its sweep runs, not another one installed.
KEEP_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "XDG_CACHE_HOME", "HWPROF_CACHE", "HWPROF_EVENTS_DIR",
            "HWPROF_TARGETS_DIR", "VIRTUAL_ENV", "PYTHONPATH")


def geometry(point) -> tuple[tuple[str, str], ...]:
    """valgrind's I1, D1 and LL geometry (size,assoc,line) for a sweep point; LL is the point's L2."""
    line = BLOCK_SIZE   # gem5's cache line: the same machine as the gem5 configuration
    levels = {"I1": (point.l1i_size, point.l1i_assoc), "D1": (point.l1d_size, point.l1d_assoc),
              "LL": (point.l2_size, point.l2_assoc)}
    spec = {k: f"{size_bytes(size)},{int(assoc)},{line}" for k, (size, assoc) in levels.items()}
    try:
        check_geometry(spec)
    except BackendError as exc:
        raise SweepError(f"{point.setting()}: valgrind cannot simulate this cache: {exc}") from None
    return tuple(spec.items())


def task(point, workload: str, size: str, target: str, folder: Path, timeout: float) -> Task:
    """Write the point's file (what the point's process simulates) and return its task."""
    spec = {"workload": workload, "runtime": target, "size": size, "geometry": [list(g) for g in geometry(point)],
            "sweep": point.setting()}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / POINT_FILE
    path.write_text(json.dumps(spec, indent=1, sort_keys=True) + "\n")
    return Task("cachegrind", point, workload, size, target, folder, path, timeout=timeout)


class CachegrindSimulator:
    """valgrind's cache simulator (the cachegrind backend) at each point: cache sweeps, on this machine."""

    name = "cachegrind"
    title = "cachegrind (valgrind's simulator; simulated, not measured)"

    def targets(self, config: SweepConfig) -> tuple[str, ...]:
        """Runtime targets hwprof knows (default native, wasmtime); gem5's own modes and options refused."""
        if config.kind == "bp":
            raise SweepError("branch-predictor sweeps need gem5: valgrind simulates one fixed predictor, so --bp "
                             "cannot run with --simulator cachegrind")
        if config.checkpoint:
            raise SweepError("--checkpoint is a gem5 option: cachegrind starts counting at bench.start by itself")
        if config.fs_kernel:
            raise SweepError("FS mode is a gem5 mode: cachegrind runs the workload on this machine")
        targets = config.targets or DEFAULT_TARGETS
        known = runtimes.names()
        bad = [t for t in targets if t not in known]
        if bad:
            raise SweepError(f"unknown runtime target {', '.join(bad)} (known: {', '.join(known)})")
        return tuple(targets)

    def plan(self, config: SweepConfig, targets, points, workloads, base: Path) -> list[Task]:
        """One point file per (workload, target, point)."""
        return [task(p, w, size, t, base / f"{w}-{size}" / t / p.key(), config.timeout)
                for w, size in workloads for t in targets for p in points]

    def run(self, task: Task) -> PointResult:
        """Simulate the task's point in a fresh process."""
        return run_task(task)

    def how_to_run(self, config: SweepConfig, tasks: list[Task]) -> tuple[str, str]:
        """Nothing to tell unless --write-only: valgrind runs here."""
        if config.write_only:
            return f"{len(tasks)} point(s) written under {Path(config.outdir) / self.name}", ""
        return "", ""


CACHEGRIND = CachegrindSimulator()


def fixed_environment() -> dict[str, str]:
    """The environment every point's process gets, in a fixed order, whatever worker runs it."""
    return {k: os.environ[k] for k in KEEP_ENV if k in os.environ} | {"PYTHONHASHSEED": "0"}


def run_task(task: Task) -> PointResult:
    """Simulate one point in a fresh process; its execute-phase rows and the run's provenance."""
    argv = [sys.executable, "-m", "hwprof.gem5.cachegrind_sweep", str(task.config_path.resolve()),
            str(worker_cpu()), f"{task.timeout:g}"]
    try:
        done = subprocess.run(argv, env=fixed_environment(), capture_output=True, text=True, check=False,
                              timeout=task.timeout * 2 + 60, cwd=task.folder)
    except subprocess.TimeoutExpired:
        raise SweepError(f"{task.label}: cachegrind timed out after {task.timeout:g} s") from None
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        raise SweepError(f"{task.label}: {lines[-1] if lines else f'exit status {done.returncode}'}")
    doc = json.loads(done.stdout.strip().splitlines()[-1])
    # The region of interest's simulated counts and rates (a wall time under valgrind says nothing here).
    records = [r for r in map(Record.from_dict, doc["records"])
               if r.phase == "execute" and r.kind in (schema.EVENT, schema.METRIC)]
    if not records:
        raise SweepError(f"{task.label}: {task.target} has no execute phase under cachegrind "
                         "(a command-line runtime is simulated whole)")
    prov = {**doc["provenance"], "simulator_version": doc["provenance"].get("backend_version", "")}
    return PointResult(records, prov)


def main(argv: list[str]) -> int:
    """The point's process: one cachegrind collect of the point file's workload (argv: point file, CPU, time
    limit) into a scratch store it removes; prints the run's provenance and rows as one line of JSON."""
    from hwprof.collect import CollectConfig, CollectError, collect

    point_file = Path(argv[0])
    spec = json.loads(point_file.read_text())
    with tempfile.TemporaryDirectory(prefix=".collect-", dir=point_file.parent) as scratch:
        config = CollectConfig(workload=spec["workload"], runtime=spec["runtime"], size=spec["size"],
                               backend="cachegrind", sim_geometry=tuple(tuple(g) for g in spec["geometry"]),
                               sweep=spec["sweep"], repetitions=1, warmup=0, cpu=int(argv[1]),
                               count_phases=("execute",),   # only the region of interest is simulated with counts
                               timeout=float(argv[2]), results=Path(scratch))
        try:
            result = collect(config)
        except CollectError as exc:
            print(f"hwprof: error: {exc}", file=sys.stderr)
            return 2
        doc = read_run(result.run_files[-1])
    print(json.dumps({"provenance": doc["provenance"], "records": [r.to_dict() for r in doc["records"]]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
