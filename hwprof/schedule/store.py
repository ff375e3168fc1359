"""A replay's outcomes as a results store's rows (what `hwprof report` draws Table II and the latency figure
from), and back.

One run file per replay (simulated or live), every policy in it. Per request: a `latency` and a `wait` row
(TIME, seconds; backend schedule-sim | schedule-live), the policy's name as runtime and its kind as
runtime_flags, the request's function and size as workload and size, cold or warm as invocation, the request
id as iteration, the target that served it as scope (`target=NAME`). Per policy: memory_bytes, decision_ns,
background_compiles and evictions (METRIC rows, scope `policy`). Every row's note names the replay (trace,
simulated or live, host model, profiles), so two replays in one store stay apart.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from hwprof.data import phases, schema
from hwprof.report.section import REPLAY_BACKENDS
from hwprof.schedule.simulate import Outcome, Served

BACKENDS = dict(zip(("simulated", "live"), REPLAY_BACKENDS))
SUMMARY = {"memory_bytes": "bytes", "decision_ns": "ns", "background_compiles": "count", "evictions": "count"}
TARGET = "target="
POLICY = "policy"


def describe(trace: Path, mode: str, host_model: str, profiles: Path, extra: str = "") -> str:
    """The one line naming a replay: trace, simulated or live, host model, profiles."""
    return f"{Path(trace).name}, {mode}, {host_model} host, profiles {profiles}" + (f", {extra}" if extra else "")


def records(outcomes: list[Outcome], mode: str, note: str) -> list[schema.Record]:
    """Rows of one replay (mode: simulated | live)."""
    backend = BACKENDS[mode]
    out = []
    for o in outcomes:
        for s in o.served:
            for name, value in (("latency", s.latency_s), ("wait", s.start_s - s.at_s)):
                out.append(schema.Record(
                    runtime=o.name, runtime_version="", runtime_flags=o.kind, workload=s.function, size=s.size,
                    invocation="cold" if s.cold else "warm", repetition=0, phase=phases.TOTAL, name=name,
                    kind=schema.TIME, value=max(0.0, float(value)), unit="s", backend=backend, iteration=s.id,
                    scope=TARGET + s.target, note=note))
        for name, unit in SUMMARY.items():
            out.append(schema.Record(
                runtime=o.name, runtime_version="", runtime_flags=o.kind, workload="", size="", invocation="cold",
                repetition=0, phase=phases.TOTAL, name=name, kind=schema.METRIC, value=float(getattr(o, name)),
                unit=unit, backend=backend, iteration=-1, scope=POLICY, note=note))
    return out


def write(root: Path, outcomes: list[Outcome], mode: str, note: str, settings: dict) -> Path:
    """One replay as a run of the store at root (with this machine's provenance and the replay's settings)."""
    from hwprof import events
    from hwprof.data import provenance
    from hwprof.data.cpu import identify
    from hwprof.data.store import ResultStore, new_id

    cpu = identify(None)
    prov = {**provenance.machine(None, events.microarch_name(cpu, events.for_cpu(cpu))),
            "backend": BACKENDS[mode], "replay": note, **settings}
    session, store = new_id(), ResultStore(root)
    path = store.write_run(session, prov, records(outcomes, mode, note))
    store.write_session(session, "complete", runs=1, command="schedule")
    return path


def digest(path: Path) -> str:
    """A trace file's SHA-256 (its first 16 hex digits), so a replay names exactly which trace it ran."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def outcomes(frame: pd.DataFrame) -> dict[str, list[Outcome]]:
    """The replays of a results frame: per replay (its note) the policies' Outcomes, in the order stored."""
    rows = frame[frame["backend"].isin(BACKENDS.values())]
    out: dict[str, list[Outcome]] = {}
    for note, replay in rows.groupby("note", sort=False):
        made = []
        for name, policy in replay.groupby("runtime", sort=False):
            per = policy[policy["scope"].str.startswith(TARGET)]
            wide = per.pivot_table(index=["iteration", "workload", "size", "invocation", "scope"], columns="name",
                                   values="value", aggfunc="first").reset_index().sort_values("iteration")
            served = [Served(int(r.iteration), r.workload, r.size, r.scope[len(TARGET):], r.invocation == "cold",
                             0.0, float(r.wait), float(r.latency - r.wait)) for r in wide.itertuples()]
            summary = policy[policy["scope"] == POLICY].set_index("name")["value"]
            made.append(Outcome(name, str(policy["runtime_flags"].iloc[0]), served,
                                decision_ns=float(summary.get("decision_ns", 0.0)),
                                memory_bytes=float(summary.get("memory_bytes", 0.0)),
                                evictions=int(summary.get("evictions", 0)),
                                background_compiles=int(summary.get("background_compiles", 0))))
        out[str(note)] = made
    return out
