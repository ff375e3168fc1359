"""`hwprof gem5-sweep`: run one workload set over a sweep of simulated machines, one tidy run file per point.

A sweep is planned as tasks, one per (workload, target, sweep point), each with its own folder
<outdir>/<simulator>/<workload>-<size>/<target>/<point key>/ holding the point's configuration
(gem5: config.py and m5out/; cachegrind: point.json) and, once the point's rows are in the store,
done.json. A point with done.json is finished and never re-run, so an interrupted sweep resumes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hwprof.data import provenance, schema
from hwprof.data.schema import Record
from hwprof.data.store import (
    RUNS,
    ResultStore,
    StoreError,
    atomic_write_json,
    new_id,
    read_run,
    stamp,
)
from hwprof.gem5 import GEM5_VERSION

SIMULATORS = ("gem5", "cachegrind")
KINDS = ("l1i", "l1d", "bp")
GEM5_TARGETS = ("native", "wasm2c")            # the SE binaries gem5 can run (hwprof.gem5.binaries)
DEFAULT_TARGETS = {"gem5": ("native", "wasm2c"), "cachegrind": ("native", "wasmtime")}
DONE = "done.json"
RUN_SCRIPT = "run-gem5.sh"
# gem5's metrics and the counts they come from (hwprof.gem5.stats.derive), with their units.
GEM5_METRICS = {"l1i_miss_rate": "ratio", "l1d_miss_rate": "ratio", "branch_mispredict_rate": "ratio",
                "ipc": "instructions/cycle"}
GEM5_COUNTS = {"l1i_misses": "misses", "l1i_accesses": "accesses", "l1d_misses": "misses",
               "l1d_accesses": "accesses", "cond_branches": "branches", "cond_mispredicted": "branches",
               "instructions": "instructions", "cycles": "cycles"}


class SweepError(Exception):
    """A sweep that cannot be planned or run, with the one line that says why."""


@dataclass(frozen=True)
class SweepConfig:
    """Everything a sweep needs, parsed from the command line or built by a script."""

    kind: str                                   # l1i | l1d | bp
    simulator: str = "gem5"                     # gem5 | cachegrind
    sizes: tuple[str, ...] = ()                 # cache sizes (empty: the default sweep)
    predictors: tuple[str, ...] = ()            # branch predictors (empty: the study's three)
    workloads: tuple[str, ...] = ("2mm",)
    size: str | None = None                     # the workloads' size; None: small where it has one, else its default
    targets: tuple[str, ...] = ()               # empty: DEFAULT_TARGETS[simulator]
    outdir: Path = Path("results/gem5-sweep")   # per-point folders (configs, m5out) and figures
    results: Path = Path("results/default")     # the tidy rows
    gem5: str | None = None                     # gem5 binary; None: gem5.opt on PATH
    isa: str = "x86"
    checkpoint: bool = False                    # gem5: fast-forward to the ROI once, restore it per point
    executor: str = "local"                     # local | dask
    workers: int | None = None
    scheduler: str | None = None                # dask scheduler address; None: a LocalCluster
    timeout: float = 3600.0                     # seconds one simulation may run
    write_only: bool = False                    # write the configurations, run nothing
    # FS mode (gem5): the user's kernel and disk image; fs_command runs in the guest through readfile
    # ({workload} and {size} are filled in per workload), bracketed by m5 workbegin / workend.
    fs_kernel: str | None = None
    fs_disk: str | None = None
    fs_command: str | None = None


@dataclass(frozen=True)
class Task:
    """One simulation: a workload on a target at one sweep point (or the checkpoint run of a pair)."""

    simulator: str
    point: object                               # hwprof.gem5.config.SweepPoint
    workload: str
    size: str
    target: str
    folder: Path
    config_path: Path
    gem5: str = ""
    timeout: float = 3600.0
    restore: Path | None = None                 # gem5: the checkpoint this point starts from
    checkpoint: Path | None = None              # gem5: this task takes the checkpoint (no rows)
    binary: str = ""                            # gem5: the SE binary the configuration runs

    @property
    def label(self) -> str:
        """A short human name: workload/target setting."""
        what = "checkpoint" if self.checkpoint else self.point.setting()
        return f"{self.workload}/{self.target} {what}"


@dataclass
class PointResult:
    """What one finished point gave: its rows and the provenance of its run file."""

    records: list[Record]
    provenance: dict


@dataclass
class SweepResult:
    """What a sweep did: its tasks, which ran, which were already done, which failed, and its rows."""

    config: SweepConfig
    tasks: list[Task]
    session_id: str = ""
    ran: int = 0
    resumed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)   # (task label, one-line reason)
    records: list[Record] = field(default_factory=list)           # this sweep's rows, resumed points included
    run_files: list[Path] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    gem5_missing: bool = False
    how_to_run: str = ""


@dataclass(frozen=True)
class Progress:
    """One progress event: `done` of `total` points finished, the latest one's label and status."""

    done: int
    total: int
    label: str
    status: str          # resumed | ok | failed
    elapsed: float


def find_gem5(path: str | None) -> str | None:
    """The gem5 binary to run: `path` (must exist) or gem5.opt from PATH, else None."""
    if path:
        found = shutil.which(path)
        if not found:
            raise SweepError(f"--gem5 {path}: no such executable")
        return found
    return shutil.which("gem5.opt")


def gem5_argv(gem5: str, config_path: Path, m5out: Path) -> list[str]:
    """The gem5 command line for one configuration, its outputs in m5out (simout/simerr, stats.txt)."""
    return [gem5, f"--outdir={m5out}", "--redirect-stdout", "--redirect-stderr", "--listener-mode=off",
            str(config_path)]


def _validate(config: SweepConfig) -> tuple[str, ...]:
    if config.kind not in KINDS:
        raise SweepError(f"unknown sweep {config.kind!r} (choose: --cache l1i, --cache l1d or --bp)")
    if config.simulator not in SIMULATORS:
        raise SweepError(f"unknown simulator {config.simulator!r} (choose: {', '.join(SIMULATORS)})")
    if config.simulator == "cachegrind" and config.kind == "bp":
        raise SweepError("branch-predictor sweeps need gem5: valgrind simulates one fixed predictor, so --bp "
                         "cannot run with --simulator cachegrind")
    if config.simulator == "cachegrind" and config.checkpoint:
        raise SweepError("--checkpoint is a gem5 option: cachegrind starts counting at bench.start by itself")
    if not config.workloads:
        raise SweepError("no workload given")
    from hwprof.gem5.executors import EXECUTORS

    if config.executor not in EXECUTORS:
        raise SweepError(f"unknown executor {config.executor!r} (choose: {', '.join(EXECUTORS)})")
    if config.scheduler and config.executor != "dask":
        raise SweepError("--scheduler is a Dask option: add --executor dask")
    fs = [config.fs_kernel, config.fs_disk, config.fs_command]
    if any(fs):
        if not all(fs):
            raise SweepError("FS mode needs --fs-kernel, --fs-disk and --fs-command together")
        if config.simulator != "gem5":
            raise SweepError("FS mode is a gem5 mode: cachegrind runs the workload on this machine")
        for label, path in (("--fs-kernel", config.fs_kernel), ("--fs-disk", config.fs_disk)):
            if not Path(path).is_file():
                raise SweepError(f"{label} {path}: no such file")
        if config.checkpoint:
            raise SweepError("--checkpoint is for SE mode here; an FS run switches to O3 at work-begin itself")
        return tuple(config.targets or ("fs",))   # labels for what the guest command runs
    targets = config.targets or DEFAULT_TARGETS[config.simulator]
    if config.simulator == "gem5":
        bad = [t for t in targets if t not in GEM5_TARGETS]
        if bad:
            raise SweepError(f"gem5 runs the SE binaries {', '.join(GEM5_TARGETS)}, not {', '.join(bad)}")
    else:
        from hwprof import runtimes

        known = runtimes.names()
        bad = [t for t in targets if t not in known]
        if bad:
            raise SweepError(f"unknown runtime target {', '.join(bad)} (known: {', '.join(known)})")
    return tuple(targets)


def points_for(config: SweepConfig) -> list:
    """The sweep points of the config's kind, sizes and predictors."""
    from hwprof.gem5 import config as gem5_config

    try:
        return gem5_config.sweep_points(config.kind, list(config.sizes) or None, list(config.predictors) or None)
    except gem5_config.ConfigError as exc:
        raise SweepError(str(exc)) from None


def size_for(config: SweepConfig, workload: str) -> str:
    """The size a workload is swept at: the one asked for, else `small` where it has one, else its default."""
    from hwprof import workloads

    spec = workloads.catalogue()["workload"].get(workload)
    if spec is None:
        raise SweepError(f"unknown workload {workload!r} (see `hwprof workloads list`)")
    known = workloads.sizes_of(spec)
    if config.size is None:
        return "small" if "small" in known else workloads.default_size(spec)
    if config.size not in known:
        raise SweepError(f"{workload} has no size {config.size!r} (it has: {', '.join(known)})")
    return config.size


def plan(config: SweepConfig) -> list[Task]:
    """Write one configuration per (workload, target, point) and return the tasks, checkpoint runs first."""
    targets = _validate(config)
    points = points_for(config)
    base = Path(config.outdir).resolve() / config.simulator   # absolute: configurations name their checkpoints
    if config.simulator == "cachegrind":
        from hwprof.gem5 import cachegrind_sweep

        return [cachegrind_sweep.task(p, w, size_for(config, w), t, base / f"{w}-{size_for(config, w)}" / t / p.key(),
                                      config.timeout)
                for w in config.workloads for t in targets for p in points]
    return _plan_gem5(config, targets, points, base)


def _plan_fs(config: SweepConfig, targets, points, base: Path, gem5: str) -> list[Task]:
    """FS mode: one configuration per (workload, target label, point) booting the user's kernel and disk."""
    from hwprof.gem5 import config as gem5_config

    tasks = []
    for w in config.workloads:
        size = size_for(config, w)
        command = config.fs_command.replace("{workload}", w).replace("{size}", size)
        for t in targets:
            for p in points:
                folder = base / f"{w}-{size}" / f"fs-{t}" / p.key()
                try:
                    text = gem5_config.render_fs(p, str(Path(config.fs_kernel).resolve()),
                                                 str(Path(config.fs_disk).resolve()), command, config.isa)
                except gem5_config.ConfigError as exc:
                    raise SweepError(str(exc)) from None
                path = gem5_config.write_config(text, folder / "config.py")
                tasks.append(Task("gem5", p, w, size, t, folder, path, gem5, config.timeout,
                                  binary=f"FS: {command}"))
    return tasks


def _plan_gem5(config: SweepConfig, targets, points, base: Path) -> list[Task]:
    from hwprof.gem5 import binaries
    from hwprof.gem5 import config as gem5_config

    gem5 = find_gem5(config.gem5) or ""
    if config.fs_kernel:
        return _plan_fs(config, targets, points, base, gem5)
    checkpoints, tasks = [], []
    for w in config.workloads:
        size = size_for(config, w)
        for t in targets:
            try:
                binary = binaries.se_binary(w, size, kind=t, isa=config.isa)
                args = binaries.se_arguments(w, size)
            except binaries.BinaryError as exc:
                raise SweepError(f"{w} ({size}) as a gem5 SE binary for {t}: {exc}") from None
            pair = base / f"{w}-{size}" / t
            restore = None
            try:
                if config.checkpoint:
                    cpt = pair / "checkpoint" / "cpt"
                    folder = pair / "checkpoint"
                    text = gem5_config.render_se(points[0], binary, args, config.isa, checkpoint=cpt)
                    path = gem5_config.write_config(text, folder / "config.py")
                    checkpoints.append(Task("gem5", points[0], w, size, t, folder, path, gem5,
                                            config.timeout, checkpoint=cpt, binary=str(binary)))
                    restore = cpt
                for p in points:
                    folder = pair / p.key()
                    text = gem5_config.render_se(p, binary, args, config.isa, restore=restore)
                    path = gem5_config.write_config(text, folder / "config.py")
                    tasks.append(Task("gem5", p, w, size, t, folder, path, gem5, config.timeout,
                                      restore=restore, binary=str(binary)))
            except gem5_config.ConfigError as exc:
                raise SweepError(str(exc)) from None
    return checkpoints + tasks


def write_run_script(config: SweepConfig, tasks: list[Task]) -> Path:
    """A shell script that runs every gem5 configuration of the sweep (checkpoints first), for elsewhere."""
    lines = ["#!/bin/sh", "# Generated by hwprof gem5-sweep: run every point's configuration with gem5.",
             "# GEM5=/path/to/gem5.opt sh " + RUN_SCRIPT, "set -e", 'GEM5="${GEM5:-gem5.opt}"']
    for t in tasks:
        argv = gem5_argv("GEM5", t.config_path.resolve(), (t.folder / "m5out").resolve())
        lines.append('"$GEM5" ' + " ".join(shlex.quote(a) for a in argv[1:]))
    path = Path(config.outdir) / config.simulator / RUN_SCRIPT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)
    return path


def config_digest(task: Task) -> str:
    """sha256 of the point's configuration as planned now (it names the binary, the machine, the checkpoint;
    not how long the simulation may run nor where rows go, which are no part of what it measures)."""
    return hashlib.sha256(task.config_path.read_bytes()).hexdigest()


def is_done(task: Task, results: Path | None = None) -> bool:
    """A point is finished when its done-marker was written for the configuration planned now and names a run
    file that exists (in `results`, when given); a checkpoint run when its m5.cpt is there too."""
    try:
        doc = json.loads((task.folder / DONE).read_text())
    except (OSError, ValueError):
        return False
    if doc.get("config_sha256") != config_digest(task):
        return False                 # another binary, ISA, machine or checkpoint since: run it again
    if task.checkpoint:
        return any(task.checkpoint.rglob("m5.cpt"))
    run_file = Path(doc.get("run_file", ""))
    return run_file.is_file() and (results is None or run_file.parent == Path(results).resolve() / RUNS)


def done_records(task: Task) -> list[Record]:
    """The rows a finished point stored."""
    try:
        return read_run(json.loads((task.folder / DONE).read_text())["run_file"])["records"]
    except (OSError, ValueError, KeyError, StoreError):
        return []


def run_gem5(task: Task) -> PointResult:
    """Run gem5 on one configuration (as a subprocess, with a timeout) and turn its ROI statistics into rows."""
    from hwprof.gem5 import stats as gem5_stats

    m5out = task.folder / "m5out"
    m5out.mkdir(parents=True, exist_ok=True)
    (m5out / "stats.txt").unlink(missing_ok=True)
    argv = gem5_argv(task.gem5, task.config_path, m5out)
    started = time.time()
    # gem5 stays in hwprof's process group, so a Ctrl-C that stops the sweep stops every simulation too.
    with open(task.folder / "gem5.log", "w") as log:
        proc = subprocess.Popen(argv, cwd=task.folder, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            rc = proc.wait(timeout=task.timeout)
        except subprocess.TimeoutExpired:
            rc = None
        finally:
            if proc.poll() is None:      # timed out, or this thread was interrupted
                proc.kill()
                proc.wait()
    if rc is None:
        raise SweepError(f"{task.label}: gem5 timed out after {task.timeout:g} s (raise it with --timeout)")
    if rc != 0:
        raise SweepError(f"{task.label}: gem5 exited with status {rc}: {_last_line(m5out, task.folder)}")
    version = gem5_version(m5out)
    if task.checkpoint:
        if not any(task.checkpoint.rglob("m5.cpt")):
            raise SweepError(f"{task.label}: gem5 finished but wrote no checkpoint under {task.checkpoint}")
        return PointResult([], {"simulator_version": version})
    try:
        derived = gem5_stats.derive(gem5_stats.roi(gem5_stats.parse(m5out / "stats.txt")))
    except (gem5_stats.StatsError, OSError) as exc:
        raise SweepError(f"{task.label}: {exc}") from None
    prov = {**provenance.machine(), "simulator": "gem5", "simulator_version": version,
            "simulator_binary": task.gem5, "config_gem5_version": GEM5_VERSION,
            "seconds": round(time.time() - started, 3)}
    return PointResult(gem5_records(task, derived), prov)


def gem5_records(task: Task, derived: dict) -> list[Record]:
    """The tidy rows of one gem5 point: its metrics, then the counts they come from; absent ones unavailable."""
    p = task.point
    what = task.binary if task.binary.startswith("FS: ") else f"SE binary {Path(task.binary).name}"
    flags = f"{what}; sim: gem5 {describe(p)}"
    out = []
    for names, kind in ((GEM5_METRICS, schema.METRIC), (GEM5_COUNTS, schema.EVENT)):
        for name, unit in names.items():
            value = derived.get(name)
            status, note = (schema.OK, "") if value is not None else (schema.UNAVAILABLE, "not in gem5's stats.txt")
            out.append(Record(task.target, "", flags, task.workload, task.size, "cold", 0, "execute", name, kind,
                              None if value is None else float(value), unit, status, "gem5", "markers", None, note,
                              0, p.setting()))
    return out


def describe(point) -> str:
    """Every setting of a sweep point, 'name=value' separated by spaces."""
    return " ".join(f"{f.name}={getattr(point, f.name)}" for f in dataclasses.fields(point))


def gem5_version(m5out: Path) -> str:
    """The version gem5 printed in its banner (m5out/simout), or ''."""
    for name in ("simout", "simout.txt", "simerr"):
        path = m5out / name
        if path.exists():
            m = re.search(r"^gem5 version (\S+)", path.read_text(errors="replace"), re.MULTILINE)
            if m:
                return m.group(1)
    return ""


def _last_line(m5out: Path, folder: Path) -> str:
    for path in (m5out / "simerr", m5out / "simout", folder / "gem5.log"):
        if path.exists():
            lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
            if lines:
                return lines[-1]
    return "no output"


def worker(task: Task) -> PointResult:
    """Run one task with its simulator (the function executors ship to their workers)."""
    from hwprof.gem5 import cachegrind_sweep, executors

    result = cachegrind_sweep.run_task(task) if task.simulator == "cachegrind" else run_gem5(task)
    result.provenance["worker"] = executors.worker_name()
    return result


def _persist(store: ResultStore, session: str, config: SweepConfig, task: Task, result: PointResult) -> Path | None:
    """Write a finished point's rows as one run file, then its done-marker; returns the run file."""
    if task.checkpoint:
        atomic_write_json(task.folder / DONE, {"checkpoint": str(task.checkpoint), "config_sha256": config_digest(task),
                                               **result.provenance})
        return None
    prov = {**result.provenance, "simulator": task.simulator, "sweep_kind": config.kind,
            "sweep": task.point.setting(), "point": {f.name: getattr(task.point, f.name)
                                                      for f in dataclasses.fields(task.point)},
            "config_path": str(task.config_path.resolve()), "point_folder": str(task.folder.resolve()),
            "workload": task.workload, "size": task.size, "target": task.target,
            "checkpoint": str(task.restore) if task.restore else ""}
    # The marker first, naming the run file about to be written: interrupted between the two, the point is not
    # done (its run file is missing) and runs again under a new id, so the store never holds it twice.
    run_id = new_id()
    run_file = (store.root / RUNS / f"{run_id}.json").resolve()
    atomic_write_json(task.folder / DONE, {"run_file": str(run_file), "sweep": task.point.setting(),
                                            "config_sha256": config_digest(task),
                                            "finished": stamp()})
    store.write_run(session, prov, result.records, run_id=run_id)
    return run_file


def _error_row(task: Task, line: str) -> Record:
    return Record(task.target, "", "", task.workload, task.size, "cold", 0, "execute", "sweep_point", schema.INFO,
                  None, "", schema.ERROR, task.simulator, "", None, line, 0, task.point.setting())


def run_sweep(config: SweepConfig, progress: Callable[[Progress], None] | None = None) -> SweepResult:
    """Plan the sweep, run every unfinished point in parallel, store each point's rows as it ends, draw figures."""
    from hwprof.gem5 import figures

    progress = progress or (lambda event: None)
    tasks = plan(config)
    result = SweepResult(config, tasks)
    if config.simulator == "gem5":
        script = write_run_script(config, tasks)
        gem5 = find_gem5(config.gem5)
        if config.write_only or not gem5:
            result.gem5_missing = not gem5
            result.how_to_run = (f"{len(tasks)} gem5 configuration(s) written under {Path(config.outdir) / 'gem5'}.\n"
                                 f"Run them all with: GEM5=/path/to/gem5.opt sh {script}\n"
                                 f"or here: repeat this command with --gem5 /path/to/gem5.opt")
            return result
    elif config.write_only:
        result.how_to_run = f"{len(tasks)} point(s) written under {Path(config.outdir) / config.simulator}"
        return result
    store = ResultStore(config.results)
    result.session_id = session = new_id()
    pending = [t for t in tasks if not is_done(t, config.results)]
    result.resumed = len(tasks) - len(pending)
    for i, t in enumerate(t for t in tasks if t not in pending):
        progress(Progress(i + 1, len(tasks), t.label, "resumed", 0.0))
    info = {"kind": config.kind, "simulator": config.simulator, "planned": len(tasks), "resumed": result.resumed}
    store.write_session(session, "running", **info)
    state = "interrupted"
    try:
        if pending:
            _run_pending(config, pending, store, result, progress)
        state = "failed" if result.failed else "complete"
    finally:
        store.write_session(session, state, ran=result.ran, failed=len(result.failed), **info)
    result.records = [r for t in tasks if not t.checkpoint and is_done(t, config.results) for r in done_records(t)]
    result.figures = figures.write_all(sweep_records(Path(config.outdir), config.simulator),
                                       Path(config.outdir) / "figures", config.simulator)
    return result


def _run_pending(config: SweepConfig, pending: list[Task], store: ResultStore, result: SweepResult, progress) -> None:
    """Run the checkpoint tasks, then the points, on one executor; persist each point as it ends."""
    from hwprof.gem5 import executors

    total, started = len(result.tasks), time.monotonic()
    done, broken = result.resumed, set()          # broken: (workload, target) pairs whose checkpoint failed
    pool = executors.make(config.executor, config.workers, config.scheduler)
    try:
        for batch in ([t for t in pending if t.checkpoint], [t for t in pending if not t.checkpoint]):
            runnable = [t for t in batch if (t.workload, t.target) not in broken]
            result.failed += [(t.label, "its checkpoint run failed") for t in batch if t not in runnable]
            done += len(batch) - len(runnable)
            for task, out, exc in pool.run(worker, runnable):
                done += 1
                if exc is not None:
                    line = (str(exc) or type(exc).__name__).splitlines()[0]
                    result.failed.append((task.label, line))
                    if task.checkpoint:
                        broken.add((task.workload, task.target))
                    else:
                        store.write_run(result.session_id, {**provenance.machine(), "simulator": task.simulator},
                                        [_error_row(task, line)])
                else:
                    run_file = _persist(store, result.session_id, config, task, out)
                    result.run_files += [run_file] if run_file else []
                    result.ran += 1
                progress(Progress(done, total, task.label, "failed" if exc else "ok", time.monotonic() - started))
    finally:
        pool.close()


def sweep_records(outdir: Path, simulator: str) -> list[tuple[dict, Record]]:
    """(provenance, row) of every finished point under outdir for one simulator: every sweep run there so far."""
    out = []
    for marker in sorted((Path(outdir) / simulator).rglob(DONE)):
        try:
            doc = read_run(json.loads(marker.read_text())["run_file"])
        except (OSError, ValueError, KeyError, StoreError):
            continue   # a checkpoint's marker, or a point whose run file was removed
        out += [(doc.get("provenance", {}), r) for r in doc["records"]]
    return out
