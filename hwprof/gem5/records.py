"""A sweep point's rows: gem5's statistics as tidy Records, each finished point stored once (its run file,
then nothing more) with the done-marker that lets an interrupted sweep resume, and the points read back.

A point's folder holds done.json once its rows are in the store: it names the run file and the digest of
the configuration it ran, so a point planned differently since (another binary, machine or checkpoint)
runs again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from hwprof.data import schema
from hwprof.data.schema import Record
from hwprof.data.store import RUNS, ResultStore, StoreError, atomic_write_json, new_id, read_run, stamp
from hwprof.gem5.tasks import PointResult, SweepConfig, Task

DONE = "done.json"
# gem5's metrics and the counts they come from (hwprof.gem5.stats.derive), with their units.
GEM5_METRICS = {"l1i_miss_rate": "ratio", "l1d_miss_rate": "ratio", "branch_mispredict_rate": "ratio",
                "committed_branch_mispredict_rate": "ratio", "ipc": "instructions/cycle"}
GEM5_COUNTS = {"l1i_misses": "misses", "l1i_accesses": "accesses", "l1d_misses": "misses",
               "l1d_accesses": "accesses", "cond_branches": "branches", "cond_mispredicted": "branches",
               "committed_cond_branches": "branches", "committed_cond_mispredicted": "branches",
               "instructions": "instructions", "cycles": "cycles"}


def point_record(task: Task, *, name: str, kind: str, value: float | None, unit: str, status: str, backend: str,
                 flags: str = "", boundary: str = "", note: str = "") -> Record:
    """One row of a sweep point (its workload, size and target, the execute phase, the point's setting): every
    Record the sweep writes itself is built here, by keyword."""
    identity = schema.Identity(runtime=task.target, runtime_flags=flags, workload=task.workload, size=task.size,
                               backend=backend, sweep=task.point.setting())
    return identity.record(repetition=0, phase="execute", name=name, kind=kind, value=value, unit=unit,
                           status=status, boundary=boundary, note=note)


def gem5_records(task: Task, derived: dict) -> list[Record]:
    """The tidy rows of one gem5 point: its metrics, then the counts they come from; absent ones unavailable."""
    what = task.binary if task.binary.startswith("FS: ") else f"SE binary {Path(task.binary).name}"
    flags = f"{what}; sim: gem5 {point_settings(task.point)}"
    out = []
    for names, kind in ((GEM5_METRICS, schema.METRIC), (GEM5_COUNTS, schema.EVENT)):
        for name, unit in names.items():
            value = derived.get(name)
            status, note = (schema.OK, "") if value is not None else (schema.UNAVAILABLE, "not in gem5's stats.txt")
            out.append(point_record(task, name=name, kind=kind, value=None if value is None else float(value),
                                    unit=unit, status=status, backend="gem5", flags=flags, boundary="markers",
                                    note=note))
    return out


def error_record(task: Task, line: str) -> Record:
    """The row a failed point leaves in the store: why it failed."""
    return point_record(task, name="sweep_point", kind=schema.INFO, value=None, unit="", status=schema.ERROR,
                        backend=task.simulator, note=line)


def point_settings(point) -> str:
    """Every setting of a sweep point, 'name=value' separated by spaces."""
    return " ".join(f"{f.name}={getattr(point, f.name)}" for f in dataclasses.fields(point))


def config_digest(task: Task) -> str:
    """sha256 of the point's configuration as planned now (it names the binary, the machine, the checkpoint;
    not how long the simulation may run nor where rows go, which are no part of what it measures)."""
    return hashlib.sha256(task.config_path.read_bytes()).hexdigest()


def done_run_file(task: Task, results: Path | None = None) -> Path | None:
    """The run file of a finished point: its done-marker was written for the configuration planned now and
    names a run file that exists (in `results`, when given); else None."""
    try:
        doc = json.loads((task.folder / DONE).read_text())
    except (OSError, ValueError):
        return None
    if doc.get("config_sha256") != config_digest(task) or "run_file" not in doc:
        return None                  # another binary, ISA, machine or checkpoint since: run it again
    run_file = Path(doc["run_file"])
    if not run_file.is_file() or (results is not None and run_file.parent != Path(results).resolve() / RUNS):
        return None
    return run_file


def is_done(task: Task, results: Path | None = None) -> bool:
    """A point is finished when done_run_file finds its run file; a checkpoint run when its marker matches
    the configuration planned now and its m5.cpt is there."""
    if task.checkpoint:
        try:
            doc = json.loads((task.folder / DONE).read_text())
        except (OSError, ValueError):
            return False
        return doc.get("config_sha256") == config_digest(task) and any(task.checkpoint.rglob("m5.cpt"))
    return done_run_file(task, results) is not None


def point_provenance(config: SweepConfig, task: Task, result: PointResult) -> dict:
    """A finished point's run provenance: its simulator's, and which sweep, point and configuration it was."""
    return {**result.provenance, "simulator": task.simulator, "sweep_kind": config.kind,
            "sweep": task.point.setting(), "point": {f.name: getattr(task.point, f.name)
                                                      for f in dataclasses.fields(task.point)},
            "config_path": str(task.config_path.resolve()), "point_folder": str(task.folder.resolve()),
            "workload": task.workload, "size": task.size, "target": task.target,
            "checkpoint": str(task.restore) if task.restore else ""}


def mark_checkpoint(task: Task, result: PointResult) -> None:
    """Write a finished checkpoint run's done-marker (it has no rows)."""
    atomic_write_json(task.folder / DONE, {"checkpoint": str(task.checkpoint), "config_sha256": config_digest(task),
                                           **result.provenance})


def persist(store: ResultStore, session: str, task: Task, provenance: dict, records: list[Record]) -> Path:
    """Write a finished point's rows as one run file, then its done-marker; returns the run file."""
    # The marker first, naming the run file about to be written: interrupted between the two, the point is not
    # done (its run file is missing) and runs again under a new id, so the store never holds it twice.
    run_id = new_id()
    run_file = (store.root / RUNS / f"{run_id}.json").resolve()
    atomic_write_json(task.folder / DONE, {"run_file": str(run_file), "sweep": task.point.setting(),
                                            "config_sha256": config_digest(task),
                                            "finished": stamp()})
    store.write_run(session, provenance, records, run_id=run_id)
    return run_file


def stored_points(outdir: Path, simulator: str, known: dict | None = None) -> dict[Path, tuple[dict, list[Record]]]:
    """run file -> (provenance, rows) of every finished point under outdir for one simulator (every sweep run
    there so far), in folder order; points in `known` (run file -> the same) are taken from it, not re-read."""
    known = known or {}
    out = {}
    for marker in sorted((Path(outdir) / simulator).rglob(DONE)):
        try:
            run_file = Path(json.loads(marker.read_text())["run_file"])
        except (OSError, ValueError, KeyError, TypeError):
            continue   # a checkpoint's marker
        if run_file in known:
            out[run_file] = known[run_file]
            continue
        try:
            doc = read_run(run_file)
        except StoreError:
            continue   # a point whose run file was removed
        out[run_file] = (doc.get("provenance", {}), doc["records"])
    return out


def sweep_records(outdir: Path, simulator: str) -> list[tuple[dict, Record]]:
    """(provenance, row) of every finished point under outdir for one simulator: every sweep run there so far."""
    return [(prov, r) for prov, rows in stored_points(outdir, simulator).values() for r in rows]
