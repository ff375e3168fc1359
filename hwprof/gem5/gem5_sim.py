"""gem5 as a sweep's simulator: one configuration per point (SE binaries, or FS mode booting the user's
kernel and disk), gem5 run as a subprocess per point, and its ROI statistics turned into rows.

A point's folder holds config.py, m5out/ (gem5's outputs) and gem5.log. Without gem5 here, the sweep
writes the configurations and run-gem5.sh, a script that runs them all elsewhere.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from hwprof.data import paths, provenance
from hwprof.gem5 import GEM5_VERSION, binaries
from hwprof.gem5 import config as gem5_config
from hwprof.gem5 import stats as gem5_stats
from hwprof.gem5.records import gem5_records
from hwprof.gem5.tasks import PointResult, SweepConfig, SweepError, Task

GEM5_TARGETS = ("native", "wasm2c")            # the SE binaries gem5 can run (hwprof.gem5.binaries)
RUN_SCRIPT = "run-gem5.sh"
# A gem5 shared beside the project's clone (../shared/gem5/ from its root), found when no other is named.
SHARED_GEM5 = paths.REPO_ROOT.parent / "shared" / "gem5" / "gem5.fast"


def shared_gem5() -> str | None:
    """The gem5 shared beside the project (SHARED_GEM5: ../shared/gem5/gem5.fast), if it is there."""
    return str(SHARED_GEM5) if SHARED_GEM5.is_file() and os.access(SHARED_GEM5, os.X_OK) else None


def find_gem5(path: str | None) -> str | None:
    """The gem5 binary to run: `path` (must exist), else gem5.opt from PATH, else the shared one, else None."""
    if path:
        found = shutil.which(path)
        if not found:
            raise SweepError(f"--gem5 {path}: no such executable")
        return found
    return shutil.which("gem5.opt") or shared_gem5()


def gem5_argv(gem5: str, config_path: Path, m5out: Path) -> list[str]:
    """The gem5 command line for one configuration, its outputs in m5out (simout/simerr, stats.txt)."""
    return [gem5, f"--outdir={m5out}", "--redirect-stdout", "--redirect-stderr", "--listener-mode=off",
            str(config_path)]


class Gem5Simulator:
    """gem5 (its standard library, v24.0): SE binaries or FS mode, cache and branch-predictor sweeps."""

    name = "gem5"
    title = "gem5"

    def targets(self, config: SweepConfig) -> tuple[str, ...]:
        """SE mode: the binaries gem5 runs (native, wasm2c); FS mode: labels for what the guest command runs."""
        if config.fs_kernel:
            for label, path in (("--fs-kernel", config.fs_kernel), ("--fs-disk", config.fs_disk)):
                if not Path(path).is_file():
                    raise SweepError(f"{label} {path}: no such file")
            if config.checkpoint:
                raise SweepError("--checkpoint is for SE mode here; an FS run switches to O3 at work-begin itself")
            return tuple(config.targets or ("fs",))
        targets = config.targets or GEM5_TARGETS
        bad = [t for t in targets if t not in GEM5_TARGETS]
        if bad:
            raise SweepError(f"gem5 runs the SE binaries {', '.join(GEM5_TARGETS)}, not {', '.join(bad)}")
        return tuple(targets)

    def plan(self, config: SweepConfig, targets, points, workloads, base: Path) -> list[Task]:
        """One configuration per (workload, target, point); with --checkpoint a checkpoint run per pair first."""
        gem5 = find_gem5(config.gem5) or ""
        try:
            if config.fs_kernel:
                return _plan_fs(config, targets, points, workloads, base, gem5)
            return _plan_se(config, targets, points, workloads, base, gem5)
        except gem5_config.ConfigError as exc:
            raise SweepError(str(exc)) from None

    def run(self, task: Task) -> PointResult:
        """Run gem5 on the task's configuration and read its region of interest's statistics."""
        return run_gem5(task)

    def how_to_run(self, config: SweepConfig, tasks: list[Task]) -> tuple[str, str]:
        """Write run-gem5.sh; without gem5 here (or with --write-only) say how to run the configurations."""
        script = write_run_script(config, tasks)
        gem5 = find_gem5(config.gem5)
        if gem5 and not config.write_only:
            return "", ""
        missing = "" if config.write_only else ("gem5 is not installed (no --gem5, no gem5.opt on PATH, no "
                                                f"{SHARED_GEM5}): "
                                                "configurations written, nothing run")
        return (f"{len(tasks)} gem5 configuration(s) written under {Path(config.outdir) / self.name}.\n"
                f"Run them all with: GEM5=/path/to/gem5.opt sh {script}\n"
                f"or here: repeat this command with --gem5 /path/to/gem5.opt"), missing


GEM5 = Gem5Simulator()


def _plan_fs(config: SweepConfig, targets, points, workloads, base: Path, gem5: str) -> list[Task]:
    """FS mode: one configuration per (workload, target label, point) booting the user's kernel and disk."""
    tasks = []
    for w, size in workloads:
        command = config.fs_command.replace("{workload}", w).replace("{size}", size)
        for t in targets:
            for p in points:
                folder = base / f"{w}-{size}" / f"fs-{t}" / p.key()
                text = gem5_config.render_fs(p, str(Path(config.fs_kernel).resolve()),
                                             str(Path(config.fs_disk).resolve()), command, config.isa)
                path = gem5_config.write_config(text, folder / "config.py")
                tasks.append(Task("gem5", p, w, size, t, folder, path, gem5, config.timeout,
                                  binary=f"FS: {command}"))
    return tasks


def _plan_se(config: SweepConfig, targets, points, workloads, base: Path, gem5: str) -> list[Task]:
    """SE mode: the workload's static binary per target; checkpoint runs (one per pair) before the points."""
    checkpoints, tasks = [], []
    for w, size in workloads:
        for t in targets:
            try:
                binary = binaries.se_binary(w, size, kind=t, isa=config.isa)
                args = binaries.se_arguments(w, size)
            except binaries.BinaryError as exc:
                raise SweepError(f"{w} ({size}) as a gem5 SE binary for {t}: {exc}") from None
            pair = base / f"{w}-{size}" / t
            restore = None
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


def run_gem5(task: Task) -> PointResult:
    """Run gem5 on one configuration (as a subprocess, with a timeout) and turn its ROI statistics into rows."""
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
    for path in (m5out / "simerr.txt", m5out / "simerr", m5out / "simout.txt", m5out / "simout", folder / "gem5.log"):
        if path.exists():
            lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
            if lines:
                return lines[-1]
    return "no output"
