"""The targets the serving host keeps, and what each keeps: one frozen record per target, one registry.

`held` says where a target's cached artefact lives. "memory": a compiled module in the worker that
compiled it (a wasmtime.Module in the worker process; a WebAssembly.Module in the worker's node helper):
only that worker is warm for it. "disk": a file every worker can use (a serialized Wasmtime module, the
Lucet/AOT role; a wasm2c-built executable, the WAVM/LLVM role; a module in wasmer-sdk's compiled cache).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


def _node_missing() -> str:
    """Why node cannot be run here ('' when it can)."""
    from hwprof.runtimes import RuntimeTargetError
    from hwprof.runtimes.node import find_node

    try:
        find_node()
    except RuntimeTargetError as exc:
        return str(exc)
    return ""


def _wasmer_sdk_missing() -> str:
    """Why wasmer-sdk cannot be imported here ('' when it can)."""
    try:
        import wasmer_sdk  # noqa: F401
    except ImportError as exc:
        return f"wasmer-sdk cannot be imported ({exc}): pip install 'hwprof[wasmer]' (or wasmer-sdk)"
    return ""


@dataclass(frozen=True)
class ServeTarget:
    """One target of the serving host: how it compiles, and where what it compiled is kept."""

    name: str
    kind: str                       # the worker's implementation: wasmtime | wasmtime-aot | wasm2c | node | wasmer
    held: str                       # memory | disk
    engine: dict = field(default_factory=dict)   # make_engine's job keys: strategy (1 Cranelift, 2 Winch), isa
    fast_tier: bool = False         # cheap to compile: may serve while an optimizing compile runs
    note: str = ""
    flavour: str = "wasm"           # the build of a bundled workload it runs (hwprof.workloads.FLAVOURS)
    missing: Callable[[], str] | None = None     # why it cannot be served on this machine ('' when it can)


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
    ServeTarget("node", "node", "memory", missing=_node_missing,
                note="V8 (the measured node target's flags): WebAssembly.Modules in the worker's node helper; "
                     "each request a fresh instance in its runner thread, terminated at the time limit"),
    ServeTarget("wasmer", "wasmer", "disk", flavour="wasm-wasi-markers", missing=_wasmer_sdk_missing,
                note="wasmer-sdk (Cranelift): the SDK's on-disk compiled-module cache; each request a fresh "
                     "client in the worker's helper process, killed at the time limit"),
)}
# node is on every machine hwprof supports (its measured node targets and their tests need it); wasmer-sdk is
# an optional extra (its licence asks to be accepted), so wasmer is served only when asked for.
DEFAULT_TARGETS = ("wasmtime", "wasmtime-winch", "wasmtime-pulley", "wasmtime-aot", "wasm2c-llvm", "node")
OPTIMIZING = "wasmtime"             # the tier the tiered policy switches to when its compile is ready
