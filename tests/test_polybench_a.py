"""PolyBench datamining and BLAS kernels: wasm (wasmtime package) and native agree with each other, the catalogue and NumPy."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import run_module

from hwprof import workloads

KERNELS = ("correlation", "covariance", "3mm", "bicg", "doitgen", "mvt",
           "gemver", "gesummv", "symm", "syr2k", "syrk", "trmm")


def run_wasm(path, tmp_path, args: tuple[str, ...] = ()) -> tuple[str, str]:
    """Run a wasm build under the wasmtime package with no-op markers; return its stdout and stderr."""
    status, out, err = run_module(path, tmp_path, args, path.name)
    assert status == 0, f"{path.name} exited with {status}"
    return out, err.decode()


def native_checksum(name: str, size: str) -> str:
    """The checksum a native (musl) build prints."""
    done = workloads.run_native(workloads.build(name, size, flavour="native"))
    assert done.returncode == 0, done.stderr
    return workloads.checksum_of(done.stdout)


def ref_correlation(m=28, n=32):
    i, j = np.ogrid[:n, :m]
    data = (i * j) / m + i
    mean = data.mean(axis=0)
    stddev = np.sqrt(((data - mean) ** 2).sum(axis=0) / n)
    stddev[stddev <= 0.1] = 1.0
    centred = (data - mean) / (np.sqrt(n) * stddev)
    corr = centred.T @ centred
    np.fill_diagonal(corr, 1.0)
    return corr.sum()


def ref_covariance(m=28, n=32):
    i, j = np.ogrid[:n, :m]
    centred = (i * j) / m - ((i * j) / m).mean(axis=0)
    return (centred.T @ centred / (n - 1.0)).sum()


def ref_3mm(ni=16, nj=18, nk=20, nl=22, nm=24):
    i, j = np.ogrid[:ni, :nk]
    A = ((i * j + 1) % ni) / (5 * ni)
    i, j = np.ogrid[:nk, :nj]
    B = ((i * (j + 1) + 2) % nj) / (5 * nj)
    i, j = np.ogrid[:nj, :nm]
    C = (i * (j + 3) % nl) / (5 * nl)
    i, j = np.ogrid[:nm, :nl]
    D = ((i * (j + 2) + 2) % nk) / (5 * nk)
    return ((A @ B) @ (C @ D)).sum()


def ref_gemver(n=40, alpha=1.5, beta=1.2):
    i, j = np.ogrid[:n, :n]
    step = (np.arange(n) + 1) / n
    A = (i * j % n) / n + np.outer(np.arange(n), step / 4) + np.outer(step / 2, step / 6)
    x = beta * A.T @ (step / 8) + step / 9
    return (alpha * A @ x).sum()


@pytest.mark.parametrize("size", ["mini", "small"])
@pytest.mark.parametrize("name", KERNELS)
def test_wasm_native_and_catalogue_agree(name, size, tmp_path):
    out, _ = run_wasm(workloads.build(name, size).program, tmp_path)
    wasm = workloads.checksum_of(out)
    assert wasm and wasm == native_checksum(name, size)
    assert wasm == workloads.catalogue()["workload"][name]["expected"][size]


@pytest.mark.parametrize("name, reference", [("correlation", ref_correlation), ("covariance", ref_covariance),
                                             ("3mm", ref_3mm), ("gemver", ref_gemver)])
def test_close_to_numpy_at_mini(name, reference):
    assert float(native_checksum(name, "mini")) == pytest.approx(reference(), rel=1e-9)


@pytest.mark.parametrize("name, arrays", [("bicg", {"s": 38, "q": 42}), ("doitgen", {"A": 10 * 8 * 12})])
def test_dump_names_the_live_out_arrays(name, arrays, tmp_path):
    _, err = run_wasm(workloads.build(name, "mini").program, tmp_path, ("dump",))
    assert err.startswith("==BEGIN DUMP_ARRAYS==\n")
    assert err.rstrip("\n").endswith("==END   DUMP_ARRAYS==")
    dumped = re.findall(r"begin dump: (\S+)\n(.*?)\nend   dump: (\S+)", err, re.S)
    assert [begin for begin, _, _ in dumped] == list(arrays)
    assert [end for _, _, end in dumped] == list(arrays)
    assert [len(body.split()) for _, body, _ in dumped] == list(arrays.values())


def test_catalogue_entries_are_complete():
    specs = workloads.catalogue()["workload"]
    for name in KERNELS:
        spec = specs[name]
        assert spec["suite"] == "polybench" and spec["data_type"] == "double"
        assert set(spec["dims"]) == set(workloads.PRESETS)
        assert {"mini", "small", "medium"} <= set(spec["expected"])
