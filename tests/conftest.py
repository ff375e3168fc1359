"""Shared fixtures: built workloads, hand-written bad modules, a scratch results store."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def wasm_2mm_mini() -> Path:
    """2mm at MINI, built by the real zig toolchain (cached between runs)."""
    from hwprof import workloads

    return workloads.build("2mm", "mini").wasm


def _wat(tmp: Path, name: str, text: str) -> Path:
    path = tmp / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(text))
    return path


@pytest.fixture(scope="session")
def bad_modules(tmp_path_factory, wasm_2mm_mini) -> dict[str, Path]:
    """Modules that fail in each way a user's module can: trap, never end, truncated, not wasm."""
    tmp = tmp_path_factory.mktemp("bad")
    mods = {
        "trap": _wat(tmp, "trap", '(module (func (export "_start") unreachable) (memory (export "memory") 1))'),
        "forever": _wat(tmp, "forever", '(module (func (export "_start") (loop (br 0))) (memory (export "memory") 1))'),
        "no_start": _wat(tmp, "no_start", '(module (func (export "main")) (memory (export "memory") 1))'),
        "empty_kernel": _wat(tmp, "empty_kernel", """
            (module
              (import "bench" "start" (func $start))
              (import "bench" "end" (func $end))
              (memory (export "memory") 1)
              (func (export "_start") call $start call $end))"""),
    }
    data = wasm_2mm_mini.read_bytes()
    (tmp / "truncated.wasm").write_bytes(data[: len(data) // 2])
    mods["truncated"] = tmp / "truncated.wasm"
    (tmp / "notwasm.wasm").write_text("this is a text file, not a module\n")
    mods["not_wasm"] = tmp / "notwasm.wasm"
    return mods


@pytest.fixture
def store(tmp_path) -> Path:
    """An empty results folder."""
    return tmp_path / "results"
