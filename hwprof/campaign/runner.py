"""Running a campaign: seeded interleaved order, adaptive repetitions, resumable from the store alone.

State lives only in the results store: every finished repetition is one run file tagged with its cell,
so a campaign killed at any moment resumes by reading the run files back. The next run is always a
pure function of that state (state.next_cell: the open cell or pair with the fewest repetitions, ties
broken by a seeded shuffle per round), which spreads drift across targets and makes resumption exact.
With --simulate-unconverged, the cells that did not converge then get one cachegrind run each.
With --executor dask, every cell must be simulated: each round's repetitions (one per open cell) run on Dask
workers, and this process writes their run files and progress as they come back, as a local campaign does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import statistics
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from hwprof import pinning
from hwprof.backends import BackendError, backend_class
from hwprof.campaign.folder import MANIFEST, CampaignError, Lock, manifest as _manifest
from hwprof.campaign.spec import CampaignSpec
from hwprof.analysis.stats import stopping_value
from hwprof.campaign.state import SETUP, CellState, Run, decisions, next_cell, pair_tag, pool, read_state
from hwprof.campaign.stopping import CONVERGED, FAILED
from hwprof.collect import CollectError, one_line, open_plan
from hwprof.data import schema
from hwprof import executors
from hwprof.data.schema import Record
from hwprof.data.store import ResultStore, atomic_write_json, no_room, stamp
from hwprof.runtimes import RuntimeTargetError
from hwprof.plan import CollectConfig, Plan
from hwprof.sandbox import SandboxError
from hwprof.session import Session

RUN_ERRORS = (SandboxError, BackendError, RuntimeTargetError, OSError, ValueError)   # a cell's failure, not the campaign's
SIMULATOR = "cachegrind"       # --simulate-unconverged: deterministic counts where timing did not converge


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
    pool_saved: int = 0         # runs the noise-floor stops saved
    pool_spent: int = 0         # runs cells had beyond their max, from those saved
    simulated: int = 0          # cells with a --simulate-unconverged cachegrind run


def _cell_error_record(config: CollectConfig, message: str) -> Record:
    identity = schema.Identity(runtime=config.runtime, workload=config.workload, size=config.size or "",
                               invocation=config.mode, backend=config.backend)
    return identity.record(repetition=0, phase="total", name="error", kind=schema.INFO, value=None, unit="",
                           status=schema.ERROR, note=message)


def _eta(states: dict[str, CellState]) -> tuple[int, float | None]:
    """Expected total runs, and seconds left (unvisited cells are assumed to take the mean run time)."""
    timed = [r.seconds for s in states.values() for r in s.runs]
    if not timed:
        return sum(s.expected_runs() for s in states.values()), None
    typical = sum(timed) / len(timed)
    left, total = 0.0, 0
    for s in states.values():
        want = s.expected_runs()
        total += want
        per = sum(r.seconds for r in s.runs) / len(s.runs) if s.runs else typical
        left += max(0, want - len(s.runs)) * per
    return total, left


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
                 progress: Callable[[CampaignProgress], None] | None = None,
                 simulate_unconverged: bool = False, executor: str = "local",
                 scheduler: str | None = None) -> CampaignResult:
    """Run (or resume) a campaign until every cell has stopped; then, if asked, simulate the unconverged ones."""
    root = Path(results)
    if resume and not (root / MANIFEST).exists():
        raise CampaignError(f"nothing to resume in {root}: no {MANIFEST} there")
    remote = None
    if executor != "local" or scheduler:
        _only_simulated(spec, executor)
        try:
            remote = executors.make(executor, scheduler=scheduler)
        except executors.ExecutorError as exc:
            raise CampaignError(str(exc)) from None
    try:
        lock = Lock(root)
    except CampaignError:
        if remote:
            remote.close()
        raise
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
            if remote:
                _run_remote(run, remote, progress, started)
            while (st := next_cell(run.states, spec.seed, spec.pairs)) is not None:
                _step(run, st)
                _progress(run, progress, started, st.cell.key)
            while simulate_unconverged and (todo := unconverged(run.states, spec.pairs)):
                _simulate(run, todo[0])
                _progress(run, progress, started, f"{SIMULATOR}: {todo[0].cell.key}")
            state = "complete"
        finally:
            run.closing.close()
            summary = _summary(run.states, spec.pairs)
            try:
                atomic_write_json(root / MANIFEST, {**manifest, "state": state, "updated": stamp(),
                                                    "summary": summary, "pool": dict(zip(("saved", "spent"),
                                                                                         pool(run.states, spec.pairs)))})
                store.write_session(cid, state, campaign=spec.name,
                                    runs=sum(len(s.runs) for s in run.states.values()))
            except OSError:
                pass    # a full disk: the run files are the record, and the error raised says why
    finally:
        lock.release()
        if remote:
            remote.close()
    failures: dict[str, int] = {}
    for s in run.states.values():
        if s.failure:
            failures[s.failure] = failures.get(s.failure, 0) + 1
        if s.simulation_failure:
            why = f"{SIMULATOR}: {s.simulation_failure}"
            failures[why] = failures.get(why, 0) + 1
    saved, spent = pool(run.states, spec.pairs)
    return CampaignResult(spec.name, cid, root, state, run.done_now, sum(len(s.runs) for s in run.states.values()),
                          time.monotonic() - started, summary, failures, run.disturbed, saved, spent,
                          sum(bool(s.simulated) for s in run.states.values()))


def unconverged(states: dict[str, CellState], pairs: tuple[tuple[str, str], ...] = ()) -> list[CellState]:
    """The stopped cells that did not converge (noise floor or max) and have no cachegrind run yet, in spec order."""
    dec = decisions(states, pairs)
    return [s for k, s in states.items() if dec[k].stop not in (None, CONVERGED, FAILED)
            and not s.simulated and not s.simulation_failure]


def _progress(run: _Open, progress: Callable[[CampaignProgress], None] | None, started: float, last: str) -> None:
    if not progress:
        return
    expected, eta = _eta(run.states)
    dec = decisions(run.states, run.spec.pairs)
    sims = sum(bool(s.simulated or s.simulation_failure) for s in run.states.values())
    progress(CampaignProgress(sum(len(s.runs) + bool(s.failure) for s in run.states.values()) + sims,
                              expected + sims, sum(1 for d in dec.values() if d.stop), len(run.states),
                              time.monotonic() - started, eta, last))


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
        done, run_prov, seconds = _session(run, plan.cpu).run(plan, len(st.runs), _run_base(run, st, prov))
    except RUN_ERRORS as exc:
        st.failure = one_line(exc)     # this cell stops; the others go on
        return
    _record(run, st, done, run_prov, seconds)


def _run_base(run: _Open, st: CellState, prov: dict) -> dict:
    """A repetition's provenance before it runs: the cell's, and its pair's tag when paired."""
    tag = pair_tag(run.spec, run.states, st.cell.key)
    return {**prov, "campaign_pair": tag} if tag else prov


def _record(run: _Open, st: CellState, done, run_prov: dict, seconds: float) -> None:
    """Store one finished repetition and add it to its cell's state."""
    run_prov["campaign_run_seconds"] = round(seconds, 6)
    _write(run, run_prov, done.records, done.timeline)
    run.done_now += 1
    run.disturbed += bool(run_prov["disturbed"])
    value = stopping_value(done.records)
    if done.failure or value is None:
        st.failure = done.failure or "no execute time in a finished run"
    else:
        st.runs.append(Run(value, seconds, run_prov["disturbed"] or "",
                           (run_prov.get("noise") or {}).get("calibration_slowdown")))


def _only_simulated(spec: CampaignSpec, executor: str) -> None:
    """Refuse, before anything is written, a campaign off this machine that has a timed (measuring) cell."""
    for cell in spec.cells:
        try:
            simulated = backend_class(cell.config.backend).simulated
        except BackendError as exc:
            raise CampaignError(f"{cell.key}: {exc}") from None
        if not simulated:
            raise CampaignError(f"--executor {executor}: cell {cell.key} is timed (backend {cell.config.backend}); "
                                "timed cells measure this machine: run them with --executor local")


def _run_remote(run: _Open, executor: executors.Executor, progress, started: float) -> None:
    """Run every cell's repetitions on the executor, a round at a time (one repetition per open cell)."""
    while wave := _wave(run):
        tasks = [(st.cell.key, plan, len(st.runs), _run_base(run, st, prov)) for st, (plan, prov) in wave]
        for (key, *_), result, exc in executor.run(_remote_repetition, tasks):
            st = run.states[key]
            if exc is None:
                _record(run, st, *result)
            elif isinstance(exc, RUN_ERRORS):
                st.failure = one_line(exc)     # this cell stops; the others go on
            else:
                raise exc
            _progress(run, progress, started, key)


def _wave(run: _Open) -> list[tuple[CellState, tuple[Plan, dict]]]:
    """The open cells of this round, each with its opened plan (a cell that fails to open stops, recorded)."""
    dec = decisions(run.states, run.spec.pairs)
    wave = []
    for key, st in run.states.items():
        if dec[key].stop is not None:
            continue
        if key not in run.plans:
            run.plans[key] = _open(run, st)
        if run.plans[key][0] is not None:
            wave.append((st, run.plans[key]))
    return wave


def _remote_repetition(task: tuple) -> tuple:
    """One repetition on a Dask worker, in a session on the worker's CPU (a simulator's counts do not depend on it)."""
    _, plan, rep, base = task
    plan = dataclasses.replace(plan, cpu=executors.worker_cpu())
    with Session(plan.cpu, kind="campaign") as session:
        return session.run(plan, rep, base)


def _simulate(run: _Open, st: CellState) -> None:
    """One cachegrind repetition of an unconverged cell's workload, size, target and mode, stored and tagged."""
    spec = run.spec
    base = {"campaign": spec.name, "campaign_id": run.cid, "campaign_digest": spec.digest,
            "campaign_simulates": st.cell.key}
    config = dataclasses.replace(st.cell.config, backend=SIMULATOR, events=(), results=run.root, cpu=run.cpu)
    try:
        plan = open_plan(config)
        done, prov, seconds = _session(run, plan.cpu).run(plan, 0, {**plan.provenance(), **base})
    except (CollectError, SandboxError, BackendError, RuntimeTargetError, OSError, ValueError) as exc:
        st.simulation_failure = one_line(exc)
        _write(run, {**base, "timestamp_end": stamp()}, [_cell_error_record(config, st.simulation_failure)])
        return
    prov["campaign_run_seconds"] = round(seconds, 6)
    path = _write(run, prov, done.records, done.timeline)
    if done.failure:
        st.simulation_failure = done.failure
    else:
        st.simulated = path.stem


def _write(run: _Open, prov: dict, records: list[Record], timeline: list[dict] | None = None) -> Path:
    """Store one run file, or stop the campaign saying the disk is full."""
    try:
        return run.store.write_run(run.cid, prov, records, timeline=timeline)
    except OSError as exc:
        raise CampaignError(f"cannot write {run.root}: {no_room(exc)}; {run.done_now} run(s) were stored this "
                            "time and load as they are; `--resume` continues once there is room") from None


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
        run.store.write_run(run.cid, {**base, "timestamp_end": stamp()}, [_cell_error_record(st.cell.config, str(exc))])
        return None, {}
    return plan, prov


def _summary(states: dict[str, CellState], pairs: tuple[tuple[str, str], ...] = ()) -> list[dict]:
    """One line per cell: runs, the stopping statistic with its interval, why it stopped, and its simulation."""
    dec = decisions(states, pairs)
    partner = {k: p for a, b in pairs for k, p in ((a, b), (b, a))}
    out = []
    for k, s in states.items():
        d, c, est = dec[k], s.cell.config, dec[k].estimate
        out.append({"cell": k, "workload": c.workload, "size": c.size or "default", "target": c.runtime,
                    "mode": c.mode, "runs": d.runs, "n": d.n, "excluded": d.excluded,
                    "statistic": s.cell.repetitions.statistic,
                    "center_s": est.center if est else None, "low_s": est.low if est else None,
                    "high_s": est.high if est else None,
                    "mean_s": statistics.fmean(s.values) if s.values else None, "ci_rel": d.relative,
                    "stopped": d.stop or "not yet", "reason": d.reason, "failure": s.failure or "",
                    "pair": partner.get(k, ""), "simulated": bool(s.simulated),
                    "simulation_failure": s.simulation_failure})
    return out
