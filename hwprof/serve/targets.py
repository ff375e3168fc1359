"""The targets the serving host keeps, and what each keeps: one frozen record per target, one registry.

`held` says where a target's cached artefact lives. "memory": a compiled wasmtime.Module in the worker
process that compiled it (only that worker is warm for it). "disk": a file every worker can use (a
serialized Wasmtime module, the Lucet/AOT role; a wasm2c-built executable, the WAVM/LLVM role).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ServeTarget:
    """One target of the serving host: how it compiles, and where what it compiled is kept."""

    name: str
    kind: str                       # the worker's implementation: wasmtime | wasmtime-aot | wasm2c
    held: str                       # memory | disk
    engine: dict = field(default_factory=dict)   # make_engine's job keys: strategy (1 Cranelift, 2 Winch), isa
    fast_tier: bool = False         # cheap to compile: may serve while an optimizing compile runs
    note: str = ""


TARGETS: dict[str, ServeTarget] = {t.name: t for t in (
    ServeTarget("wasmtime", "wasmtime", "memory", {"strategy": 1}, note="Cranelift; the module in memory"),
    ServeTarget("wasmtime-winch", "wasmtime", "memory", {"strategy": 2}, fast_tier=True,
                note="Winch, the single-pass baseline; the module in memory"),
    ServeTarget("wasmtime-pulley", "wasmtime", "memory", {"strategy": 1, "isa": "pulley64"}, fast_tier=True,
                note="Pulley bytecode, interpreted; the module in memory"),
    ServeTarget("wasmtime-aot", "wasmtime-aot", "disk", {"strategy": 1},
                note="Cranelift ahead of time: Module.serialize to disk once, deserialize_file per request"),
    ServeTarget("wasm2c-llvm", "wasm2c", "disk", {"toolchain": "zig"},
                note="wasm2c + clang (zig cc): an executable on disk, run per request"),
)}
DEFAULT_TARGETS = ("wasmtime", "wasmtime-winch", "wasmtime-pulley", "wasmtime-aot", "wasm2c-llvm")
OPTIMIZING = "wasmtime"             # the tier the tiered policy switches to when its compile is ready
