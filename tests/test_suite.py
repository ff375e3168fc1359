"""The whole workload catalogue: every entry is well formed and, at its smallest size, gives the same
checksum natively and under Wasmtime, equal to the one it declares."""

from __future__ import annotations

import pytest

from hwprof import workloads
from test_workloads import run_wasm_output

CATALOGUE = workloads.catalogue()["workload"]


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_entry_is_well_formed(name):
    spec = CATALOGUE[name]
    for key in ("suite", "category", "data_type"):
        assert spec.get(key), f"{name}: no {key}"
    sizes = workloads.sizes_of(spec)
    assert workloads.default_size(spec) in sizes
    assert sizes[0] in spec.get("expected", {}), f"{name}: no expected checksum for its smallest size"
    assert set(spec.get("expected", {})) <= set(sizes)


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_smallest_size_agrees_natively_and_under_wasmtime(name, tmp_path):
    size = workloads.sizes_of(CATALOGUE[name])[0]
    wasm = workloads.build(name, size)
    native = workloads.build(name, size, flavour="native")
    done = workloads.run_native(native)
    assert done.returncode == 0, done.stderr[-500:]
    expected = CATALOGUE[name]["expected"][size]
    assert workloads.checksum_of(done.stdout) == expected
    assert workloads.checksum_of(run_wasm_output(wasm, tmp_path)) == expected
