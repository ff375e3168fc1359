"""Where each target's machine code comes from: one small protocol, one registry.

A code source turns a `Subject` (the module, and for a bundled workload how to rebuild it natively) into an
`Artefact`: the ISA, the flags that shaped the code and every function found, wasm functions numbered in
the module's own index space (imports first). Names come from the module's name section, applied here
once for every target, so a target that records only indices (V8's `wasm-function[N]`) shows names too.
A new target: a function `artefact(subject) -> Artefact` somewhere under hwprof/codegen and one line in
SOURCES; a target whose code cannot be read raises ArtefactError with the one line that says why.
"""

from __future__ import annotations

import importlib
import platform
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from hwprof.codegen import module as wasm_module
from hwprof.codegen.artefacts import Artefact, ArtefactError, wasmtime_artefact


@dataclass(frozen=True)
class Subject:
    """The module whose code is read, and what rebuilding it needs."""

    wasm: Path
    workload: object | None = None     # the bundled Workload it was built as (None: a user's .wasm)
    arch: str = platform.machine()     # the ISA asked for (artefacts.ARCHES)
    opt_level: str = "speed"           # Cranelift's opt level, as `collect --opt-level`

    def bytes(self) -> bytes:
        """The module's bytes."""
        return self.wasm.read_bytes()

    def functions(self) -> wasm_module.ModuleFunctions:
        """Its function index space and names."""
        return wasm_module.read(self.bytes())


def _wasmtime(subject: Subject) -> Artefact:
    return wasmtime_artefact(subject.bytes(), "cranelift", subject.opt_level, subject.arch)


def _winch(subject: Subject) -> Artefact:
    return wasmtime_artefact(subject.bytes(), "winch", arch=subject.arch)


def _pulley(subject: Subject) -> Artefact:
    raise ArtefactError("wasmtime-pulley runs Pulley bytecode in an interpreter: it compiles no machine code "
                        "of the module to read")


# target name (as `collect --runtime`) -> "module:function" or a function taking a Subject.
SOURCES: dict[str, str | Callable[[Subject], Artefact]] = {
    "wasmtime": _wasmtime,
    "wasmtime-winch": _winch,
    "wasmtime-pulley": _pulley,
    "wasm2c-llvm": "hwprof.codegen.c_builds:wasm2c_llvm",
    "wasm2c-gcc": "hwprof.codegen.c_builds:wasm2c_gcc",
    "native": "hwprof.codegen.c_builds:native",
    "node": "hwprof.codegen.v8:node_artefact",
    "node-liftoff": "hwprof.codegen.v8:node_liftoff_artefact",
    "node-turbofan": "hwprof.codegen.v8:node_turbofan_artefact",
    "wasmer": "hwprof.codegen.wasmer:wasmer_artefact",
}


def names() -> list[str]:
    """Every target whose code a source can read (or can say why not)."""
    return list(SOURCES)


def artefact(target: str, subject: Subject) -> Artefact:
    """The target's artefact for the subject, its wasm functions named from the module's name section."""
    source = SOURCES.get(target)
    if source is None:
        raise ArtefactError(f"no code source for target {target!r} (choose from: {', '.join(SOURCES)})")
    if isinstance(source, str):
        mod, func = source.split(":")
        source = getattr(importlib.import_module(mod), func)
    found = source(subject)
    return named(found, subject.functions())


def named(art: Artefact, functions: wasm_module.ModuleFunctions) -> Artefact:
    """The artefact with every wasm function given its name-section name where it has none of its own."""
    renamed = tuple(replace(f, name=f.name or functions.name(f.index)) if f.kind == "wasm" else f
                    for f in art.functions)
    return replace(art, functions=renamed)
