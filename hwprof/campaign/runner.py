"""Running a campaign: seeded interleaved order, adaptive repetitions, resumable from the store alone.

State lives only in the results store: every finished repetition is one run file tagged with its cell,
so a campaign killed at any moment resumes by reading the run files back. The next run is always a
pure function of that state (the unfinished cell with the fewest repetitions, ties broken by a seeded
shuffle per round), which spreads drift across targets and makes resumption exact.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from hwprof import pinning
from hwprof.analysis.verdict import mean_ci
from hwprof.backends import BackendError
from hwprof.campaign.spec import CampaignSpec, Cell, Repetitions
from hwprof.collect import CollectError, one_line, open_plan
from hwprof.data import schema
from hwprof.data.schema import Record
from hwprof.data.store import ResultStore, atomic_write_json, new_id, no_room, read_run, stamp
from hwprof.runtimes import RuntimeTargetError
from hwprof.plan import Plan
from hwprof.sandbox import SandboxError
from hwprof.session import Session

MANIFEST = "campaign.json"
# What must not change between the runs of one cell (a resumed campaign checks it).
SETUP = ("machine", "cpu", "runtime_version", "runtime_flags", "backend_version", "event_map")
CONVERGED, AT_MAX, FAILED = "converged", "max", "failed"


class CampaignError(Exception):
    """A campaign that cannot start or continue, with the one line that says why."""


@dataclass
class CellState:
    """What the store says about one cell: its stopping-statistic values, run times, and why it stopped."""

    cell: Cell
    values: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    failure: str | None = None
    setup: dict | None = None      # SETUP of the cell's stored runs, when it has any

    def stop(self, policy: Repetitions | None = None) -> str | None:
        """Why this cell needs no more runs (converged, max, failed), or None (policy: the cell's own by default)."""
        policy = policy or self.cell.repetitions
        if self.failure:
            return FAILED
        if len(self.values) >= policy.min:
            ci = mean_ci(self.values, policy.confidence)
            if ci.relative is not None and ci.relative <= policy.target_ci:
                return CONVERGED
        if len(self.values) >= policy.max:
            return AT_MAX
        return None

    def expected_runs(self, policy: Repetitions | None = None) -> int:
        """How many repetitions this cell will likely have in the end (for the ETA)."""
        policy = policy or self.cell.repetitions
        n = len(self.values)
        if self.stop(policy):
            return n
        if n < 2:                     # an interval needs two runs, whatever the minimum
            return max(policy.min, min(2, policy.max))
        ci = mean_ci(self.values, policy.confidence)
        rel = ci.relative or 0.0
        # The half-width shrinks as 1/sqrt(n): how many runs bring it to the target.
        needed = int(n * (rel / policy.target_ci) ** 2) + 1
        return max(n + 1, min(policy.max, max(policy.min, needed)))


@dataclass(frozen=True)
class CampaignProgress:
    """Where a running campaign stands, after each run."""

    runs_done: int
    runs_expected: int
    cells_done: int
    cells: int
    elapsed_s: float
    eta_s: float | None
    last: str


@dataclass
class CampaignResult:
    """What a campaign run did: its runs, stop reasons and failures, and where they are."""

    name: str
    campaign_id: str
    results: Path
    state: str
    runs_this_time: int
    runs_total: int
    seconds: float
    cells: list[dict]
    failures: dict[str, int]
    disturbed: int = 0          # runs this time whose noise record flagged them (kept in the store)


def stopping_value(records: list[Record]) -> float | None:
    """The statistic repetitions adapt on: execute wall time (per invocation when warm; `total` if no execute)."""
    for phase in ("execute", "total"):
        times = [r.value for r in records if r.phase == phase and r.name == "wall_time" and r.status == schema.OK]
        if times:
            return sum(times) / len(times)
    return None


def _cell_error_record(cell: Cell, message: str) -> Record:
    c = cell.config
    identity = schema.Identity(runtime=c.runtime, workload=c.workload, size=c.size or "", invocation=c.mode,
                               backend=c.backend)
    return identity.record(repetition=0, phase="total", name="error", kind=schema.INFO, value=None, unit="",
                           status=schema.ERROR, note=message)


def read_state(root: Path, spec: CampaignSpec) -> dict[str, CellState]:
    """Every cell's state, rebuilt from the run files of this campaign in the store."""
    states = {c.key: CellState(c) for c in spec.cells}
    for path in ResultStore(root).run_files():
        doc = read_run(path)
        prov = doc.get("provenance", {})
        if prov.get("campaign_digest") != spec.digest or prov.get("campaign_cell") not in states:
            continue
        st = states[prov["campaign_cell"]]
        if st.setup is None and "runtime_version" in prov:
            st.setup = {k: prov.get(k) for k in SETUP}
        errors = [r for r in doc["records"] if r.status == schema.ERROR]
        if errors:
            st.failure = errors[0].note or "failed"
            continue
        value = stopping_value(doc["records"])
        if value is None:
            st.failure = "no execute time in a finished run"
            continue
        st.values.append(value)
        st.seconds.append(float(prov.get("campaign_run_seconds", 0.0)))
    return states


def next_cell(states: dict[str, CellState], seed: int) -> CellState | None:
    """The unfinished cell with the fewest repetitions; within a round, a seeded shuffle decides."""
    open_cells = [s for s in states.values() if not s.stop()]
    if not open_cells:
        return None
    fewest = min(len(s.values) for s in open_cells)
    keys = sorted(states)
    random.Random(f"{seed}:{fewest}").shuffle(keys)
    order = {k: i for i, k in enumerate(keys)}
    return min((s for s in open_cells if len(s.values) == fewest), key=lambda s: order[s.cell.key])


def _eta(states: dict[str, CellState]) -> tuple[int, float | None]:
    """Expected total runs, and seconds left (unvisited cells are assumed to take the mean run time)."""
    timed = [t for s in states.values() for t in s.seconds]
    if not timed:
        return sum(s.expected_runs() for s in states.values()), None
    typical = sum(timed) / len(timed)
    left, total = 0.0, 0
    for s in states.values():
        want = s.expected_runs()
        total += want
        per = sum(s.seconds) / len(s.seconds) if s.seconds else typical
        left += max(0, want - len(s.values)) * per
    return total, left


class _Lock:
    """An exclusive lock on a results folder, so two campaigns never write the same runs."""

    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        self.path = root / ".campaign.lock"
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise CampaignError(f"another hwprof campaign is running in {root}") from None

    def release(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _manifest(root: Path, spec: CampaignSpec, resume: bool) -> dict:
    """Start or continue the campaign's manifest; refuse to mix two campaigns in one folder."""
    path = root / MANIFEST
    if path.exists():
        import json

        old = json.loads(path.read_text())
        if not resume:
            raise CampaignError(f"{root} already holds campaign {old.get('name')!r}: --resume continues it, "
                                "or choose another --results folder")
        if old.get("digest") != spec.digest:
            raise CampaignError(f"{spec.source} has changed since campaign {old.get('name')!r} began in {root} "
                                "(other cells or repetitions): start it in a new --results folder")
        return old
    if resume:
        raise CampaignError(f"nothing to resume in {root}: no {MANIFEST} there")
    if ResultStore(root).run_files():
        raise CampaignError(f"{root} already holds results from other runs: choose an empty --results folder")
    return {"format_version": schema.FORMAT_VERSION, "campaign_id": new_id(), "name": spec.name,
            "title": spec.title, "digest": spec.digest, "seed": spec.seed, "source": spec.source,
            "repetitions": spec.repetitions.__dict__, "cells": [c.key for c in spec.cells], "started": stamp()}


@dataclass
class _Open:
    """A running campaign's state: its store, the session it measures in, and each opened cell's plan."""

    spec: CampaignSpec
    root: Path
    store: ResultStore
    cid: str
    states: dict[str, CellState]
    cpu: int                          # every cell measures here (chosen once, before the controller moves off it)
    session: Session | None = None
    closing: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)   # closes the session
    plans: dict[str, tuple[Plan | None, dict]] = field(default_factory=dict)
    done_now: int = 0
    disturbed: int = 0


def run_campaign(spec: CampaignSpec, results: Path, resume: bool = False,
                 progress: Callable[[CampaignProgress], None] | None = None) -> CampaignResult:
    """Run (or resume) a campaign until every cell has converged, hit its maximum or failed."""
    root = Path(results)
    if resume and not (root / MANIFEST).exists():
        raise CampaignError(f"nothing to resume in {root}: no {MANIFEST} there")
    lock = _Lock(root)
    started = time.monotonic()
    store = ResultStore(root)
    try:
        manifest = _manifest(root, spec, resume)
        atomic_write_json(root / MANIFEST, {**manifest, "state": "running", "updated": stamp()})
        cid = manifest["campaign_id"]
        store.write_session(cid, "running", campaign=spec.name)
        try:
            cpu = pinning.choose_cpu(spec.cpu)
        except pinning.PinningError as exc:
            raise CampaignError(str(exc)) from None
        run = _Open(spec, root, store, cid, read_state(root, spec), cpu)
        state = "interrupted"
        try:
            while (st := next_cell(run.states, spec.seed)) is not None:
                _step(run, st)
                if progress:
                    expected, eta = _eta(run.states)
                    progress(CampaignProgress(sum(len(s.values) + bool(s.failure) for s in run.states.values()), expected,
                                      sum(1 for s in run.states.values() if s.stop()), len(run.states),
                                      time.monotonic() - started, eta, st.cell.key))
            state = "complete"
        finally:
            run.closing.close()
            summary = _summary(run.states)
            try:
                atomic_write_json(root / MANIFEST, {**manifest, "state": state, "updated": stamp(),
                                                    "summary": summary})
                store.write_session(cid, state, campaign=spec.name,
                                    runs=sum(len(s.values) for s in run.states.values()))
            except OSError:
                pass    # a full disk: the run files are the record, and the error raised says why
    finally:
        lock.release()
    failures: dict[str, int] = {}
    for s in run.states.values():
        if s.failure:
            failures[s.failure] = failures.get(s.failure, 0) + 1
    return CampaignResult(spec.name, cid, root, state, run.done_now, sum(len(s.values) for s in run.states.values()),
                          time.monotonic() - started, summary, failures, run.disturbed)


def _session(run: _Open, cpu: int) -> Session:
    """The campaign's one session, opened on the CPU of its first plan."""
    if run.session is None:
        run.session = run.closing.enter_context(Session(cpu, kind="campaign"))
        if run.session.warning():
            warnings.warn(run.session.warning(), pinning.SharedCpuWarning, stacklevel=3)
    return run.session


def _step(run: _Open, st: CellState) -> None:
    """One repetition of a cell, stored; the cell's state updated (a failure stops the cell, not the campaign)."""
    if st.cell.key not in run.plans:
        run.plans[st.cell.key] = _open(run, st)
    plan, prov = run.plans[st.cell.key]
    if plan is None:
        return                   # it failed to start; _open recorded why
    try:
        done, run_prov, seconds = _session(run, plan.cpu).run(plan, len(st.values), prov)
    except (SandboxError, BackendError, RuntimeTargetError, OSError, ValueError) as exc:
        st.failure = one_line(exc)     # this cell stops; the others go on
        return
    run_prov["campaign_run_seconds"] = round(seconds, 6)
    try:
        run.store.write_run(run.cid, run_prov, done.records, timeline=done.timeline)
    except OSError as exc:
        raise CampaignError(f"cannot write {run.root}: {no_room(exc)}; {run.done_now} run(s) were stored this "
                            "time and load as they are; `--resume` continues once there is room") from None
    run.done_now += 1
    run.disturbed += bool(run_prov["disturbed"])
    value = stopping_value(done.records)
    if done.failure or value is None:
        st.failure = done.failure or "no execute time in a finished run"
    else:
        st.values.append(value)
        st.seconds.append(seconds)


def _open(run: _Open, st: CellState) -> tuple[Plan | None, dict]:
    """Plan a cell and run its warm-ups; on failure store one error run and mark the cell."""
    spec = run.spec
    base = {"campaign": spec.name, "campaign_id": run.cid, "campaign_digest": spec.digest,
            "campaign_cell": st.cell.key}
    try:
        plan = open_plan(dataclasses.replace(st.cell.config, results=run.root, cpu=run.cpu))
        prov = {**plan.provenance(), **base}
        now = {k: prov.get(k) for k in SETUP}
        if st.setup and st.setup != now:
            changed = ", ".join(f"{k} {st.setup[k]!r} -> {now[k]!r}" for k in SETUP if st.setup[k] != now[k])
            raise CampaignError(f"{st.cell.key}: its stored runs were measured differently ({changed}); resume on "
                                "the same setup, or start a new campaign in another --results folder")
        for i in range(st.cell.warmup):
            done, _, _ = _session(run, plan.cpu).run(plan, -1 - i, prov)
            if done.failure:
                raise CollectError(f"warm-up: {done.failure}")
    except CollectError as exc:
        st.failure = str(exc)
        run.store.write_run(run.cid, {**base, "timestamp_end": stamp()}, [_cell_error_record(st.cell, str(exc))])
        return None, {}
    return plan, prov


def _summary(states: dict[str, CellState]) -> list[dict]:
    """One line per cell: repetitions, mean and relative CI of the stopping statistic, and why it stopped."""
    out = []
    for s in states.values():
        ci = mean_ci(s.values, s.cell.repetitions.confidence) if s.values else None
        c = s.cell.config
        out.append({"cell": s.cell.key, "workload": c.workload, "size": c.size or "default",
                    "target": c.runtime, "mode": c.mode, "n": len(s.values),
                    "mean_s": ci.mean if ci else None, "ci_rel": ci.relative if ci else None,
                    "stopped": s.stop() or "not yet", "failure": s.failure or ""})
    return out
