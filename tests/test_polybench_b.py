"""PolyBench solvers, medley and stencils: wasm, native, the catalogue, NumPy and PolyBench's dump format agree."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import run_module

from hwprof import workloads

KERNELS = ("cholesky", "durbin", "gramschmidt", "lu", "ludcmp", "trisolv", "deriche", "floyd-warshall", "nussinov",
           "adi", "fdtd-2d", "heat-3d", "jacobi-1d", "jacobi-2d", "seidel-2d")


def run_wasm(path, tmp_path, *args: str) -> tuple[str, str]:
    """Run a workload under the wasmtime package with no-op markers; return its stdout and stderr."""
    status, out, err = run_module(path, tmp_path, args)
    assert status == 0, f"{path.name} exited with {status}"
    return out, err.decode()


def run_native(name: str, size: str, *args: str) -> tuple[str, str]:
    """Build natively (zig cc, musl) and run; return stdout and stderr."""
    done = workloads.run_native(workloads.build(name, size, flavour="native"), args)
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


def native_checksum(name: str, size: str = "mini") -> float:
    """The checksum a native build prints."""
    return float(workloads.checksum_of(run_native(name, size)[0]))


def polybench_dump(array: str, tokens: list[str]) -> str:
    """One array in PolyBench's dump layout: a line break before every 20th value, each value followed by a space."""
    body = "".join(("\n" if i % 20 == 0 else "") + f"{t} " for i, t in enumerate(tokens))
    return f"begin dump: {array}{body}\nend   dump: {array}\n"


def spd_matrix(n: int) -> np.ndarray:
    """PolyBench's positive-definite input L0 @ L0.T, L0 unit lower-triangular with L0[i][j] = (-j % n)/n + 1 in C."""
    i, j = np.ogrid[:n, :n]
    low = np.where(j < i, -j / n + 1, 0.0) + np.eye(n)
    return low @ low.T


def ref_cholesky(n=40) -> float:
    """Sum of the lower triangle of the Cholesky factor, as the C kernel leaves it."""
    return float(np.tril(np.linalg.cholesky(spd_matrix(n))).sum())


def ref_lu(n=40) -> float:
    """Sum of the in-place LU factors without pivoting (Doolittle, unit L below the diagonal)."""
    a = spd_matrix(n)
    for k in range(n):
        a[k + 1:, k] /= a[k, k]
        a[k + 1:, k + 1:] -= np.outer(a[k + 1:, k], a[k, k + 1:])
    return float(a.sum())


def ref_floyd_warshall_paths(n=60) -> np.ndarray:
    """All-pairs shortest path lengths of PolyBench's graph, relaxing through one vertex k at a time."""
    i, j = np.ogrid[:n, :n]
    path = np.where(((i + j) % 13 == 0) | ((i + j) % 7 == 0) | ((i + j) % 11 == 0), 999, i * j % 7 + 1)
    for k in range(n):
        path = np.minimum(path, path[:, k:k + 1] + path[k:k + 1, :])
    return path


def ref_floyd_warshall(n=60) -> int:
    """Sum of all shortest path lengths."""
    return int(ref_floyd_warshall_paths(n).sum())


def ref_jacobi_2d(tsteps=20, n=30) -> float:
    """Sum of A after the five-point Jacobi sweeps A -> B -> A, in the kernel's order of additions."""
    i, j = np.ogrid[:n, :n]
    a = (i * (j + 2) + 2) / n
    b = (i * (j + 3) + 3) / n
    for _ in range(tsteps):
        b[1:-1, 1:-1] = 0.2 * (a[1:-1, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:] + a[2:, 1:-1] + a[:-2, 1:-1])
        a[1:-1, 1:-1] = 0.2 * (b[1:-1, 1:-1] + b[1:-1, :-2] + b[1:-1, 2:] + b[2:, 1:-1] + b[:-2, 1:-1])
    return float(a.sum())


@pytest.mark.parametrize("size", ["mini", "small"])
@pytest.mark.parametrize("name", KERNELS)
def test_wasm_native_and_catalogue_agree(name, size, tmp_path):
    built = workloads.build(name, size)
    assert built.expected, f"{name} has no expected checksum for {size}"
    wasm = workloads.checksum_of(run_wasm(built.program, tmp_path)[0])
    native = workloads.checksum_of(run_native(name, size)[0])
    assert wasm == native == built.expected


@pytest.mark.parametrize("name, reference", [("cholesky", ref_cholesky), ("lu", ref_lu), ("jacobi-2d", ref_jacobi_2d)])
def test_close_to_numpy_at_mini(name, reference):
    assert native_checksum(name) == pytest.approx(reference(), rel=1e-9)


def test_floyd_warshall_equals_numpy_exactly():
    assert int(workloads.checksum_of(run_native("floyd-warshall", "mini")[0])) == ref_floyd_warshall()


def test_floyd_warshall_dump_is_polybench_int_format(tmp_path):
    _, err = run_native("floyd-warshall", "mini", "dump")
    expected = [str(v) for v in ref_floyd_warshall_paths().ravel()]
    assert err == "==BEGIN DUMP_ARRAYS==\n" + polybench_dump("path", expected) + "==END   DUMP_ARRAYS==\n"
    assert run_wasm(workloads.build("floyd-warshall", "mini").program, tmp_path, "dump")[1] == err


def test_deriche_dump_is_polybench_float_format(tmp_path):
    out, err = run_native("deriche", "mini", "dump")
    match = re.fullmatch(r"==BEGIN DUMP_ARRAYS==\nbegin dump: imgOut(.*)\nend   dump: imgOut\n==END   DUMP_ARRAYS==\n",
                         err, re.S)
    assert match
    tokens = match.group(1).split()
    assert len(tokens) == 64 * 64
    assert all(re.fullmatch(r"-?\d+\.\d\d", t) for t in tokens)
    assert err == "==BEGIN DUMP_ARRAYS==\n" + polybench_dump("imgOut", tokens) + "==END   DUMP_ARRAYS==\n"
    # each printed value is rounded to 0.01, so their sum is within 0.005 per value of the exact checksum
    assert abs(sum(map(float, tokens)) - float(workloads.checksum_of(out))) <= 0.005 * len(tokens)
    assert run_wasm(workloads.build("deriche", "mini").program, tmp_path, "dump")[1] == err
