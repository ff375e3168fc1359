"""The frozen plan of a measurement and the one repetition runner (hwprof.plan, hwprof.session)."""

from __future__ import annotations

import dataclasses
import os

import pytest

from hwprof import plan as planning
from hwprof.collect import CollectConfig, CollectError, open_plan
from hwprof.data import phases
from hwprof.session import Session

pytestmark = pytest.mark.quick


def test_a_plan_is_frozen_and_declares_the_ahead_of_time_work_without_doing_it(tmp_path):
    plan = planning.make(CollectConfig("2mm", runtime="wasmtime-aot", size="mini", backend="perf",
                                       count_phases=("execute",), results=tmp_path))
    assert plan.ahead.phase == phases.AOT_COMPILE and plan.ahead.marks == phases.COMPILE
    assert plan.ahead_passes and all(p.phases == (phases.COMPILE,) for p in plan.ahead_passes)
    assert plan.counted == ("execute",) and plan.phases == phases.HOSTED
    assert not list(tmp_path.iterdir())          # planning wrote nothing: no store, no artefact
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.cpu = 0
    assert plan.provenance()["runtime"] == "wasmtime-aot"


def test_the_passes_a_plan_states_are_the_processes_a_repetition_runs(tmp_path):
    plan = planning.make(CollectConfig("2mm", runtime="wasmtime-aot", size="mini", events=("task_clock",),
                                       count_phases=("execute",), results=tmp_path))
    with Session(plan.cpu) as session:
        done, prov, seconds = session.run(plan, 0, plan.provenance())
    assert done.failure is None and seconds > 0
    assert len(done.timeline) == prov["passes"] >= 2         # the ahead-of-time compile, then the run
    assert done.timeline[0]["phases"] == [phases.COMPILE] and phases.EXECUTE in done.timeline[-1]["phases"]
    assert {r.phase for r in done.records} == {phases.AOT_COMPILE, *phases.HOSTED}


def test_a_plan_without_ahead_of_time_work_has_no_such_passes(tmp_path):
    plan = planning.make(CollectConfig("2mm", runtime="wasmtime", size="mini", results=tmp_path))
    assert plan.ahead is None and plan.ahead_passes == ()


def test_a_refused_plan_is_one_line():
    with pytest.raises(CollectError, match="has no phase link") as exc:
        open_plan(CollectConfig("2mm", runtime="wasmtime", size="mini", count_phases=("link",)))
    assert "\n" not in str(exc.value)


def test_a_session_runs_plans_of_its_own_cpu_only_and_restores_the_controller(tmp_path):
    plan = planning.make(CollectConfig("2mm", runtime="wasmtime", size="mini", results=tmp_path))
    before = os.sched_getaffinity(0)
    other = next((c for c in sorted(before) if c != plan.cpu), None)
    with Session(plan.cpu) as session:
        root = session.root
        assert root.is_dir()
        if other is not None:
            assert plan.cpu not in os.sched_getaffinity(0)     # the controller is kept off the measured CPU
        with pytest.raises(ValueError, match="cannot run in a session on CPU"):
            session.run(dataclasses.replace(plan, cpu=plan.cpu + 1), 0, {})
    assert os.sched_getaffinity(0) == before and not root.exists()
