"""What a wasm module says about its functions: how many are imported, and their names (the name section),
as hwprof.workloads.module (the one reader of a module's sections) decodes them.

Function indices here are the module's own: imports first, then the functions it defines, as every
artefact reader numbers them (Wasmtime's `function[N]` symbols, wasm2c's names, V8's `wasm-function[N]`).
"""

from __future__ import annotations

from dataclasses import dataclass

from hwprof.codegen.artefacts import ArtefactError


@dataclass(frozen=True)
class ModuleFunctions:
    """The module's function index space: imports, defined functions and names where the module keeps them."""

    imported: int
    defined: int
    names: dict[int, str]        # index -> name from the name section; empty when it has none

    @property
    def has_names(self) -> bool:
        """The module carries a name section with function names."""
        return bool(self.names)

    def indices(self) -> range:
        """The indices of the functions the module defines (the ones compiled to machine code)."""
        return range(self.imported, self.imported + self.defined)

    def name(self, index: int) -> str:
        """The function's name, '' where the module gives none."""
        return self.names.get(index, "")


def read(wasm: bytes) -> ModuleFunctions:
    """The module's imported and defined function counts and its function names (ArtefactError if unreadable)."""
    from hwprof.workloads.module import ModuleError, read_bytes

    try:
        info = read_bytes(wasm)
    except ModuleError as exc:
        raise ArtefactError(str(exc).removeprefix("<module>: ")) from None
    return ModuleFunctions(info.imported_functions, info.defined_functions, dict(info.function_names))
