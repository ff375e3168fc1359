"""What a wasm module says about its functions: how many are imported, and their names (the name section).

Function indices here are the module's own: imports first, then the functions it defines, as every
artefact reader numbers them (Wasmtime's `function[N]` symbols, wasm2c's names, V8's `wasm-function[N]`).
"""

from __future__ import annotations

from dataclasses import dataclass

from hwprof.codegen.artefacts import ArtefactError

_IMPORT, _FUNCTION, _CUSTOM = 2, 3, 0


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


class _Reader:
    def __init__(self, data: bytes, at: int = 0, end: int | None = None):
        self.data, self.at, self.end = data, at, len(data) if end is None else end

    def byte(self) -> int:
        if self.at >= self.end:
            raise ArtefactError("truncated WebAssembly module")
        self.at += 1
        return self.data[self.at - 1]

    def uleb(self) -> int:
        value, shift = 0, 0
        while True:
            b = self.byte()
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value

    def name(self) -> str:
        n = self.uleb()
        if self.at + n > self.end:
            raise ArtefactError("truncated WebAssembly module (a name runs past its section)")
        self.at += n
        return self.data[self.at - n:self.at].decode("utf-8", "replace")


def _skip_import_desc(r: _Reader, kind: int) -> None:
    if kind == 0:
        r.uleb()                                   # type index
    elif kind == 1:
        r.byte(), _skip_limits(r)                  # table: reftype, limits
    elif kind == 2:
        _skip_limits(r)                            # memory
    elif kind == 3:
        r.byte(), r.byte()                         # global: valtype, mutability
    elif kind == 4:
        r.byte(), r.uleb()                         # tag: attribute, type index
    else:
        raise ArtefactError(f"unknown import kind {kind} in the module")


def _skip_limits(r: _Reader) -> None:
    flags = r.byte()
    r.uleb()
    if flags & 1:
        r.uleb()


def read(wasm: bytes) -> ModuleFunctions:
    """The module's imported and defined function counts and its function names (ArtefactError if unreadable)."""
    if wasm[:4] != b"\0asm":
        raise ArtefactError("not a WebAssembly module (no \\0asm magic)")
    r = _Reader(wasm, 8)
    imported = defined = 0
    names: dict[int, str] = {}
    while r.at < r.end:
        section, size = r.byte(), r.uleb()
        body = _Reader(wasm, r.at, r.at + size)
        if body.end > len(wasm):
            raise ArtefactError("truncated WebAssembly module (a section runs past the end)")
        if section == _IMPORT:
            for _ in range(body.uleb()):
                body.name(), body.name()
                kind = body.byte()
                imported += kind == 0
                _skip_import_desc(body, kind)
        elif section == _FUNCTION:
            defined = body.uleb()
        elif section == _CUSTOM and body.name() == "name":
            names = _function_names(body)
        r.at = body.end
    return ModuleFunctions(imported, defined, names)


def _function_names(r: _Reader) -> dict[int, str]:
    names: dict[int, str] = {}
    while r.at < r.end:
        kind, size = r.byte(), r.uleb()
        sub_end = r.at + size
        if kind == 1:                               # function names: a vector of (index, name)
            for _ in range(r.uleb()):
                index = r.uleb()
                names[index] = r.name()
        r.at = sub_end
    return names
