"""`hwprof campaign --executor dask`: simulated cells on a LocalCluster give the rows a local campaign gives,
resume from the store, and timed cells refuse to leave this machine."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hwprof.cli import app
from hwprof.data.store import read_run

SPEC = """
[campaign]
name = "dask-sim"
seed = 7
backend = "cachegrind"
warmup = 0
[repetitions]
min = 1
max = 1
[[matrix]]
workloads = ["2mm", "atax"]
sizes = ["mini"]
targets = ["native"]
count_phases = ["execute"]
"""

# Timing rows (wall/host seconds of this run) differ by nature between any two runs; every simulated count does not.
TIMED_UNITS = {"s", "ns"}


def campaign(*args: str):
    return CliRunner().invoke(app, ["campaign", *args])


def simulated_rows(folder) -> dict:
    """Every non-timing row by its identity (cell, phase, event, repetition), with its value and status."""
    rows = {}
    for f in (folder / "runs").glob("*.json"):
        doc = read_run(f)
        for r in doc["records"]:
            if r.unit in TIMED_UNITS:
                continue
            key = (doc["provenance"]["campaign_cell"], r.runtime, r.workload, r.size, r.backend, r.phase, r.name,
                   r.repetition)
            assert key not in rows
            rows[key] = (r.value, r.unit, r.status, r.kind)
    return rows


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dask")
    spec = tmp / "spec.toml"
    spec.write_text(SPEC)
    local = campaign(str(spec), "--results", str(tmp / "local"), "--quiet")
    remote = campaign(str(spec), "--results", str(tmp / "dask"), "--executor", "dask")
    return spec, tmp, local, remote


def test_dask_campaign_gives_the_local_rows(stores):
    spec, tmp, local, remote = stores
    assert local.exit_code == 0, local.output
    assert remote.exit_code == 0, remote.output
    here, there = simulated_rows(tmp / "local"), simulated_rows(tmp / "dask")
    assert any(k[6] == "Ir" and v[0] and v[0] > 0 for k, v in there.items())
    assert {k[0] for k in there} == {k[0] for k in here} and len({k[0] for k in there}) == 2
    assert {k: v for k, v in here.items() if k[6] == "Ir"} == {k: v for k, v in there.items() if k[6] == "Ir"}
    assert here.keys() == there.keys()


# What is known (2026-12-03): under hwprof, 333 bytes more of inherited environment deterministically give 2mm
# mini's execute phase one D1 write miss more, in musl's clock_gettime vDSO set-up (a stack push). valgrind run by
# hand with 0..5000 bytes more does not, and padding argv + environment to a fixed size modulo 64 KiB did not
# remove it. A Dask worker's environment differs from the driver's, hence this xfail.
@pytest.mark.xfail(reason="D1mw (and l1d_miss_rate) can differ by 1 miss under a Dask worker: it follows the "
                          "inherited environment (see the comment above)", strict=False)
def test_dask_campaign_gives_identical_values_in_every_row(stores):
    _, tmp, _, _ = stores
    assert simulated_rows(tmp / "local") == simulated_rows(tmp / "dask")


def test_dask_campaign_resumes_with_nothing_new(stores):
    spec, tmp, _, _ = stores
    before = sorted(p.name for p in (tmp / "dask" / "runs").glob("*.json"))
    again = campaign(str(spec), "--results", str(tmp / "dask"), "--executor", "dask", "--resume", "--json", "-q")
    assert again.exit_code == 0, again.output
    assert '"runs_this_time": 0' in again.output
    assert sorted(p.name for p in (tmp / "dask" / "runs").glob("*.json")) == before


def test_a_timed_cell_refuses_to_leave_the_machine(tmp_path):
    spec = tmp_path / "timed.toml"
    spec.write_text(SPEC.replace('backend = "cachegrind"', 'backend = "perf"'))
    out = tmp_path / "r"
    result = campaign(str(spec), "--results", str(out), "--executor", "dask")
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "timed cells measure this machine" in lines[0] and "--executor local" in lines[0]
    assert not out.exists()
