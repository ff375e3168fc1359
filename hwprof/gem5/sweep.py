"""`hwprof gem5-sweep`: run one workload set over a sweep of simulated machines, one tidy run file per point.

A sweep is planned as tasks (plan), one per (workload, target, sweep point), each with its own folder
<outdir>/<simulator>/<workload>-<size>/<target>/<point key>/ holding the point's configuration
(gem5: config.py and m5out/; cachegrind: point.json) and, once the point's rows are in the store,
done.json (records). A point with done.json is finished and never re-run, so an interrupted sweep resumes
(run). The simulators, gem5 and valgrind's cachegrind, are one protocol and one registry (simulators).

This module gathers the names scripts and tests import.
"""

from hwprof.gem5.cachegrind_sweep import CACHEGRIND
from hwprof.gem5.gem5_sim import GEM5, GEM5_TARGETS, RUN_SCRIPT, find_gem5, gem5_argv, gem5_version
from hwprof.gem5.plan import plan, points_for, size_for, validate
from hwprof.gem5.records import (
    DONE,
    GEM5_COUNTS,
    GEM5_METRICS,
    config_digest,
    point_settings,
    done_run_file,
    gem5_records,
    is_done,
    persist,
    point_provenance,
    stored_points,
    sweep_records,
)
from hwprof.gem5.run import SweepProgress, SweepResult, run_sweep, worker
from hwprof.gem5.simulators import SIMULATORS, Simulator
from hwprof.gem5.tasks import KINDS, PointResult, SweepConfig, SweepError, Task

__all__ = ["CACHEGRIND", "DONE", "GEM5", "GEM5_COUNTS", "GEM5_METRICS", "GEM5_TARGETS", "KINDS", "RUN_SCRIPT",
           "SIMULATORS", "PointResult", "SweepProgress", "Simulator", "SweepConfig", "SweepError", "SweepResult", "Task",
           "config_digest", "point_settings", "done_run_file", "find_gem5", "gem5_argv", "gem5_records", "gem5_version",
           "is_done", "persist", "plan", "point_provenance", "points_for", "run_sweep", "size_for",
           "stored_points", "sweep_records", "validate", "worker"]
