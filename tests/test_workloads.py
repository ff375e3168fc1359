"""Bundled workloads: reproducible builds, and results that agree natively, under Wasmtime and with NumPy."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from conftest import run_module

from hwprof import workloads
from hwprof.workloads import HERE, WorkloadError


def run_wasm_output(workload, tmp_path, args=()) -> str:
    """Run a built workload under the wasmtime package with no-op markers; return its stdout."""
    status, out, _ = run_module(workload.program, tmp_path, (*workload.args, *args), workload.name)
    assert status == 0, f"{workload.name} exited with {status}"
    return out


def run_wasm(path, tmp_path) -> float:
    """Run a workload under the wasmtime package with no-op markers; return its checksum."""
    status, out, _ = run_module(path, tmp_path)
    assert status == 0, f"{path.name} exited with {status}"
    return checksum(out)


def checksum(text: str) -> float:
    return float(next(ln for ln in text.splitlines() if ln.startswith("checksum:")).split(":")[1])


def run_native(name, tmp_path) -> float:
    cc = shutil.which("cc") or pytest.skip("no native C compiler")
    exe = tmp_path / name
    src = HERE / "polybench" / f"{name}.c"
    subprocess.run([cc, "-O2", "-ffp-contract=off", "-DMINI_DATASET", "-o", str(exe), str(src)], check=True)
    return checksum(subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout)


def ref_2mm(ni=16, nj=18, nk=22, nl=24):
    i, j = np.ogrid[:ni, :nk]
    A = ((i * j + 1) % ni) / ni
    i, j = np.ogrid[:nk, :nj]
    B = (i * (j + 1) % nj) / nj
    i, j = np.ogrid[:nj, :nl]
    C = ((i * (j + 3) + 1) % nl) / nl
    i, j = np.ogrid[:ni, :nl]
    D = (i * (j + 2) % nk) / nk
    return (1.2 * D + (1.5 * A @ B) @ C).sum()


def ref_gemm(ni=20, nj=25, nk=30):
    i, j = np.ogrid[:ni, :nj]
    C = ((i * j + 1) % ni) / ni
    i, j = np.ogrid[:ni, :nk]
    A = (i * (j + 1) % nk) / nk
    i, j = np.ogrid[:nk, :nj]
    B = (i * (j + 2) % nj) / nj
    return (1.2 * C + 1.5 * A @ B).sum()


def ref_atax(m=38, n=42):
    x = 1 + np.arange(n) / n
    i, j = np.ogrid[:m, :n]
    A = ((i + j) % n) / (5 * m)
    return (A.T @ (A @ x)).sum()


@pytest.mark.parametrize("name, reference", [("2mm", ref_2mm), ("gemm", ref_gemm), ("atax", ref_atax)])
def test_same_checksum_natively_and_under_wasmtime_and_close_to_numpy(name, reference, tmp_path):
    wasm = run_wasm(workloads.build(name, "mini").program, tmp_path)
    assert wasm == run_native(name, tmp_path)
    assert wasm == pytest.approx(reference(), rel=1e-12)


def test_builds_are_reproducible(tmp_path, monkeypatch):
    first = workloads.build("atax", "mini").program.read_bytes()
    monkeypatch.setenv("HWPROF_CACHE", str(tmp_path))
    again = workloads.build("atax", "mini")
    assert str(again.program).startswith(str(tmp_path))
    assert again.program.read_bytes() == first
    assert "-DMINI_DATASET" in again.flags and "-O2" in again.flags


def test_sizes_change_the_problem():
    mini, small = (workloads.build("gemm", s).program.read_bytes() for s in ("mini", "small"))
    assert mini != small


def test_bad_workload_arguments():
    with pytest.raises(WorkloadError, match="unknown workload"):
        workloads.resolve("nosuch", "mini")
    with pytest.raises(WorkloadError, match="unknown optimisation level"):
        workloads.build("2mm", "mini", "-O9")
