"""Shared fixtures: built workloads, hand-written bad modules, a scratch results store."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

DATA = Path(__file__).parent / "data"


def run_module(path, tmp_path: Path, args=(), argv0: str = "workload") -> tuple[int, str, bytes]:
    """Run a .wasm under the wasmtime package, bench.start/bench.end as no-ops: (exit status, stdout, stderr)."""
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = [argv0, *args]
    wasi.stdout_file = str(tmp_path / "out.txt")
    wasi.stderr_file = str(tmp_path / "err.bin")
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    linker.define_func("bench", "start", wasmtime.FuncType([], []), lambda: None)
    linker.define_func("bench", "end", wasmtime.FuncType([], []), lambda: None)
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, str(path)))
    try:
        instance.exports(store)["_start"](store)
        status = 0
    except wasmtime.ExitTrap as exc:
        status = exc.code
    return status, (tmp_path / "out.txt").read_text(), (tmp_path / "err.bin").read_bytes()


@pytest.fixture(scope="session")
def wasm_2mm_mini() -> Path:
    """2mm at MINI, built by the real zig toolchain (cached between runs)."""
    from hwprof import workloads

    return workloads.build("2mm", "mini").program


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
