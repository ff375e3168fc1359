"""Sweep points on Dask: a real LocalCluster on this machine runs a small cachegrind sweep and gives the same
rows as the local executor; the executor starts and stops its own LocalCluster; a bad scheduler is one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

distributed = pytest.importorskip("distributed", reason="the cluster extra (dask[distributed]) is not installed")
Client, LocalCluster = distributed.Client, distributed.LocalCluster

from hwprof import executors
from hwprof.gem5.cli import gem5_sweep
from hwprof.gem5.sweep import SweepConfig, run_sweep

SIZES = ("1KiB", "2KiB", "4KiB")


def comparable(records):
    """The rows without run identity (run ids, timestamps, which worker): what both executors must agree on."""
    return sorted((r.workload, r.runtime, r.runtime_flags, r.sweep, r.phase, r.name, r.kind, r.value, r.unit,
                   r.status, r.backend) for r in records)


def l1d_config(folder: Path, **kw) -> SweepConfig:
    return SweepConfig(kind="l1d", simulator="cachegrind", sizes=SIZES, workloads=("2mm",), size="mini",
                       targets=("native",), outdir=folder / "sweep", results=folder / "results", timeout=300, **kw)


def workers_of(result) -> set[str]:
    return {json.loads(p.read_text())["provenance"]["worker"] for p in result.run_files}


def test_dask_local_cluster_gives_the_same_rows_as_the_local_executor(tmp_path):
    local = run_sweep(l1d_config(tmp_path / "local", executor="local", workers=2))
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        with Client(cluster) as client:
            worker_pids = set(client.run(os.getpid).values())
        on_dask = run_sweep(l1d_config(tmp_path / "dask", executor="dask", scheduler=cluster.scheduler_address))
    finally:
        cluster.close()
    assert local.failed == [] and on_dask.failed == [] and local.ran == on_dask.ran == 3
    assert comparable(on_dask.records) == comparable(local.records)
    assert len(comparable(local.records)) > 3 * 10
    # The points really ran in the cluster's worker processes, not in this one.
    ran_in = {int(w.split()[0].split(":")[1]) for w in workers_of(on_dask)}
    assert ran_in <= worker_pids and os.getpid() not in ran_in
    assert all(" dask tcp://" in w for w in workers_of(on_dask))
    assert not any(" dask " in w for w in workers_of(local))
    rates = [r.value for s in SIZES for r in on_dask.records if r.name == "l1d_miss_rate" and r.sweep == f"l1d_size={s}"]
    assert len(rates) == 3 and rates == sorted(rates, reverse=True) and rates[0] > rates[-1]


def test_executor_dask_without_a_scheduler_starts_and_stops_its_own_local_cluster(tmp_path):
    app = typer.Typer()
    app.command("gem5-sweep")(gem5_sweep)
    app.command("noop", hidden=True)(lambda: None)
    res = CliRunner().invoke(app, ["gem5-sweep", "--cache", "l1i", "--simulator", "cachegrind", "8KiB", "-w", "2mm",
                                   "-s", "mini", "-t", "native", "--executor", "dask", "-j", "1", "--json",
                                   "--out", str(tmp_path / "sweep"), "--results", str(tmp_path / "results")])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["ran"] == 1 and [r["sweep"] for r in doc["rows"]] == ["l1i_size=8KiB"]
    run = next((tmp_path / "results" / "runs").glob("*.json"))
    assert " dask tcp://127.0.0.1:" in json.loads(run.read_text())["provenance"]["worker"]


@pytest.mark.parametrize("address, words", [("tcp://127.0.0.1:9", "Timed out trying to connect"),
                                            ("no-port-here", "missing port number")])
def test_an_unreachable_or_malformed_scheduler_is_one_line(address, words):
    with pytest.raises(executors.ExecutorError, match=f"cannot reach the Dask scheduler {address}: .*{words}"):
        executors.DaskExecutor(address, connect_timeout=2)
