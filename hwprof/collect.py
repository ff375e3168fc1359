"""`hwprof collect`: run one workload under one runtime, count events per phase, store every repetition."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from hwprof import backends, events, pinning, runtimes, workloads
from hwprof import plan as planning
from hwprof.data.schema import Record
from hwprof.data.store import ResultStore, new_id, no_room
from hwprof.plan import CollectConfig, Plan
from hwprof.sandbox import SandboxError
from hwprof.session import Session
from hwprof.workloads.module import ModuleError

__all__ = ["CollectConfig", "CollectError", "CollectResult", "collect", "one_line", "open_plan"]


class CollectError(Exception):
    """A collect that could not start or could not finish, with the one line that says why."""


@dataclass
class CollectResult:
    """What a collect produced: its records, where they went, and what the user should be told."""

    session_id: str
    records: list[Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    run_files: list[Path] = field(default_factory=list)
    flagged: dict[int, str] = field(default_factory=dict)   # repetition -> why its noise record flagged it

    @property
    def disturbed(self) -> int:
        """How many repetitions their noise record flagged (all kept in the store)."""
        return len(self.flagged)


# What refuses a plan, each with the one line that says why.
PLAN_ERRORS = (backends.BackendError, runtimes.RuntimeTargetError, workloads.WorkloadError, ModuleError, SandboxError,
               events.EventMapError, pinning.PinningError)


def open_plan(config: CollectConfig) -> Plan:
    """Plan a collect (target, workload build, backend, passes), or say in one line why it cannot run."""
    try:
        return planning.make(config)
    except PLAN_ERRORS as exc:
        raise CollectError(str(exc)) from None


def _claimed(config: CollectConfig) -> tuple[CollectConfig, pinning.CpuClaim | None]:
    """With --cpu auto, a free CPU chosen and claimed in one step (collects started together never share one)."""
    if config.cpu != pinning.AUTO:
        return config, None
    try:
        claim = pinning.claim_free_cpu()
    except pinning.PinningError as exc:
        raise CollectError(str(exc)) from None
    return dataclasses.replace(config, cpu=claim.cpu), claim


def collect(config: CollectConfig, progress: Callable[[str], None] | None = None) -> CollectResult:
    """Run warm-ups and repetitions, writing each repetition's records to the store as soon as it ends."""
    progress = progress or (lambda msg: None)
    config, early = _claimed(config)
    try:
        plan = open_plan(config)
    except BaseException:
        if early is not None:
            early.release()
        raise
    store = ResultStore(config.results)
    result = CollectResult(new_id(), notes=list(plan.probe.notes) + list(plan.notes), provenance=plan.provenance())
    state, failure = "interrupted", None
    with Session(plan.cpu, claim=early, keep=config.keep_workdir) as session:
        if session.warning():
            result.notes.append(session.warning())
            progress(session.warning())
        try:
            with store_errors(config.results, result):
                store.write_session(result.session_id, "running",
                                    config={k: str(v) for k, v in config.__dict__.items()})
            failure = _repetitions(plan, session, store, result, progress)
            state = "failed" if failure else "complete"
        except CollectError as exc:
            state, failure = "failed", str(exc)
            raise
        except (backends.BackendError, runtimes.RuntimeTargetError, OSError, ValueError) as exc:
            # A backend that could not read its output, a full scratch folder, a host's unreadable report: one line.
            state, failure = "failed", one_line(exc)
            raise CollectError(f"{plan.workload.name} under {plan.runtime.name}: {failure}") from None
        finally:
            try:
                store.write_session(result.session_id, state, error=failure or "", runs=len(result.run_files),
                                    planned=config.repetitions)
            except OSError:
                pass    # a full disk: the run files written so far are the record; the error raised says why
    if failure:
        raise CollectError(f"{plan.workload.name} under {plan.runtime.name}: {failure}")
    return result


def _repetitions(plan: Plan, session: Session, store: ResultStore, result: CollectResult, progress) -> str | None:
    """Warm-ups, then repetitions, each stored as it ends; the failure line that stopped them, or None."""
    config = plan.config
    for i in range(config.warmup + config.repetitions):
        rep = i - config.warmup
        label = f"warm-up {i + 1}/{config.warmup}" if rep < 0 else f"repetition {rep + 1}/{config.repetitions}"
        progress(f"{label}: {len(plan.ahead_passes) + len(plan.passes)} pass(es) on CPU {plan.cpu}")
        try:
            done, run_prov, _ = session.run(plan, rep, result.provenance)
        except SandboxError as exc:
            raise CollectError(str(exc)) from None
        if rep >= 0 or done.failure:
            if rep >= 0 and run_prov["disturbed"]:
                result.flagged[rep] = run_prov["disturbed"]
                progress(f"repetition {rep + 1} disturbed: {run_prov['disturbed']} (kept, flagged)")
            with store_errors(config.results, result):
                result.run_files.append(store.write_run(result.session_id, run_prov, done.records,
                                                        timeline=done.timeline))
            result.records += done.records
        if done.failure:
            return done.failure
    return None


def one_line(exc: BaseException) -> str:
    """An exception as one line (a full disk named as such)."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f"no space left on the device of {exc.filename or 'a file hwprof writes'}"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextlib.contextmanager
def store_errors(folder: Path, result: CollectResult):
    """An OSError writing the store (a full disk, a read-only folder) as one CollectError line saying what was kept."""
    try:
        yield
    except OSError as exc:
        why = no_room(exc)
        kept = len(result.run_files)
        raise CollectError(f"cannot write the results store {folder}: {why}; {kept} repetition(s) were stored "
                           "before it and load as they are") from None
