"""Compiled code as a compiler left it: one artefact per target, its functions with their bytes and names."""

from __future__ import annotations

import bisect
import io
import platform
import re
from pathlib import Path
from dataclasses import dataclass, replace

from hwprof.codegen import wasmtime_tables

WASM_FUNCTION = re.compile(r"wasm\[\d+\]::function\[(\d+)\](?:::(.*))?$")
# The ISAs a Wasmtime engine can compile for here, whatever the host: the target triple and capstone's name.
ARCHES = {"x86_64": "x86_64-unknown-linux-gnu", "aarch64": "aarch64-unknown-linux-gnu"}


class ArtefactError(Exception):
    """An artefact that cannot be produced or read, said in one line."""


@dataclass(frozen=True)
class Function:
    """One compiled function: the wasm function it came from (index -1: not a wasm function) and its code."""

    index: int
    name: str               # from the name section; "" when the module has none
    kind: str               # "wasm" (the module's own code) or "other" (a trampoline, stub or native symbol: apart)
    address: int            # its symbol's value: the address in an executable, the offset in its section in an object
    code: bytes
    # (code address, wasm file offset or None) where the compiler keeps an address map: each entry covers the code
    # from its address up to the next entry's; () when it keeps none
    wasm_offsets: tuple[tuple[int, int | None], ...] = ()
    traps: tuple[tuple[int, str], ...] = ()     # (address of an instruction that can trap, the trap's name)
    trap_pads: tuple[int, ...] = ()             # out-of-line code a trap lands on (V8's landing pads): not calls

    @property
    def label(self) -> str:
        """Its name, or its index where the module has no name section."""
        return self.name or (f"function[{self.index}]" if self.index >= 0 else "?")

    def wasm_offset_at(self, address: int) -> int | None:
        """The wasm file offset the code at `address` was compiled from (None: no map, or no wasm source)."""
        k = bisect.bisect_right(self.wasm_offsets, address, key=lambda entry: entry[0])
        return self.wasm_offsets[k - 1][1] if k else None


@dataclass(frozen=True)
class Artefact:
    """What one target compiled a module to: the ISA, how it was compiled, and every function found in it."""

    target: str
    arch: str               # a key of ARCHES
    flags: str
    functions: tuple[Function, ...]
    trap_table: bool = False   # the compiler lists every instruction that may trap (Wasmtime's .wasmtime.traps)
    # Direct calls hold their real targets (a linked image); False where relocations are still to be applied (an
    # object file, Wasmer's unlinked bodies) or calls go through a jump table (V8): runtime calls are unknown there.
    calls_resolved: bool = True

    def wasm_functions(self) -> list[Function]:
        """The module's own compiled functions, in index order (trampolines and stubs left out)."""
        return sorted((f for f in self.functions if f.kind == "wasm"), key=lambda f: f.index)

    def function(self, name: str) -> Function:
        """The wasm function called `name` (or `function[N]`), or ArtefactError listing what there is."""
        for f in self.wasm_functions():
            if name in (f.name, f"function[{f.index}]"):
                return f
        known = ", ".join(f.label for f in self.wasm_functions()[:12])
        raise ArtefactError(f"{self.target} has no function {name!r} (it has: {known or 'none'})")


def read_elf_functions(data: bytes) -> list[Function]:
    """Every function symbol of an ELF with its bytes; Wasmtime's wasm[M]::function[N]::NAME symbols as wasm code.

    An executable's symbols hold addresses, an object's (Wasmtime's image, a compiler's .o) offsets in their
    section; each function's address is its symbol's value, so window counts keep the real alignment (in an
    object, the alignment the section will be linked at: sh_addralign). An object's calls and data
    references still hold the zeros its relocations will fill.
    """
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        elf = ELFFile(io.BytesIO(bytes(data)))
        symtab = elf.get_section_by_name(".symtab")
    except ELFError as exc:
        raise ArtefactError(f"not a readable ELF file ({exc})") from None
    if symtab is None:
        raise ArtefactError("the ELF has no symbol table (stripped): function boundaries are unknown")
    relocatable = elf["e_type"] == "ET_REL"
    out = []
    for sym in symtab.iter_symbols():
        if sym["st_info"]["type"] != "STT_FUNC" or not sym["st_size"] or not isinstance(sym["st_shndx"], int):
            continue
        section = elf.get_section(sym["st_shndx"])
        start = sym["st_value"] - (0 if relocatable else section["sh_addr"])
        code = section.data()[start:start + sym["st_size"]]
        found = WASM_FUNCTION.match(sym.name)
        if found:
            out.append(Function(int(found.group(1)), found.group(2) or "", "wasm", sym["st_value"], code))
        else:
            out.append(Function(-1, sym.name, "other", sym["st_value"], code))
    return out


def wasmtime_artefact(wasm: bytes, strategy: str = "cranelift", opt_level: str = "speed",
                      arch: str = "x86_64", baseline: bool = False) -> Artefact:
    """Compile with the wasmtime package (Cranelift at an opt level, or Winch) for an ISA; read its ELF.

    For this machine's ISA the engine detects the CPU's features as the measured host does, so the code read is
    the code `collect` runs; `baseline` asks for the ISA's baseline features instead (a valgrind run sees another
    CPU, so a profile under it is of the baseline code)."""
    import wasmtime

    from hwprof.runtimes.wasmtime import STRATEGIES
    from hwprof.runtimes.wasmtime_host import make_engine

    if arch not in ARCHES:
        raise ArtefactError(f"unknown ISA {arch!r} (choose from: {', '.join(ARCHES)})")
    if strategy not in STRATEGIES:
        raise ArtefactError(f"unknown Wasmtime strategy {strategy!r} (choose from: {', '.join(STRATEGIES)})")
    if arch != platform.machine():
        # The PyPI wheel is built with its host's code generator only: asking it for another ISA aborts the
        # process (a Rust panic in Engine's constructor). The wasmtime CLI has every backend: it compiles there.
        return cli_artefact(wasm, strategy, opt_level, arch)
    # The engine the measured host builds for the same settings (one place knows how to ask for Winch).
    isa = ARCHES[arch] if baseline else ""
    engine = make_engine(wasmtime, {"strategy": STRATEGIES[strategy], "opt_level": opt_level, "isa": isa})
    try:
        module = wasmtime.Module(engine, wasm)
    except wasmtime.WasmtimeError as exc:
        raise ArtefactError(f"wasmtime ({strategy}, {arch}) cannot compile it: "
                            f"{str(exc).strip().splitlines()[0]}") from None
    flags = (f"strategy={strategy}" + (f" opt_level={opt_level}" if strategy == "cranelift" else "") + f" isa={arch}"
             + (" (baseline features)" if baseline else " (this CPU's features, as the measured host)"))
    return Artefact("wasmtime" if strategy == "cranelift" else "wasmtime-winch", arch, flags,
                    tuple(read_wasmtime_functions(module.serialize())), trap_table=True)


CLI_OPT_LEVELS = {"none": "0", "speed": "2", "speed_and_size": "s"}


def cli_artefact(wasm: bytes, strategy: str, opt_level: str, arch: str) -> Artefact:
    """Compile with the wasmtime CLI (`wasmtime compile --target`, any ISA it has a backend for) and read its .cwasm."""
    import subprocess
    import tempfile

    from hwprof.runtimes import RuntimeTargetError, command_line

    try:
        exe = command_line.load("wasmtime-cli").executable()
    except RuntimeTargetError as exc:
        raise ArtefactError(f"the wasmtime package compiles for this machine's ISA only ({platform.machine()}), "
                            f"and the wasmtime CLI that compiles for {arch} is not usable: {exc}") from None
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    argv = [exe, "compile", "--target", ARCHES[arch], "-C", f"compiler={strategy}"]
    argv += ["-O", f"opt-level={CLI_OPT_LEVELS[opt_level]}"] if strategy == "cranelift" else []
    with tempfile.TemporaryDirectory(prefix="hwprof-cwasm-") as tmp:
        (Path(tmp) / "m.wasm").write_bytes(wasm)
        done = subprocess.run(argv + [str(Path(tmp) / "m.wasm"), "-o", str(Path(tmp) / "m.cwasm")],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            why = next((ln.strip() for ln in done.stderr.splitlines() if ln.strip()), "no message")
            raise ArtefactError(f"{version} ({strategy}, {arch}) cannot compile it: {why}")
        functions = read_wasmtime_functions((Path(tmp) / "m.cwasm").read_bytes())
    flags = (f"strategy={strategy}" + (f" opt_level={opt_level}" if strategy == "cranelift" else "") +
             f" isa={arch}; {version} compile (the CLI, not the package: its Cranelift may differ)")
    return Artefact("wasmtime" if strategy == "cranelift" else "wasmtime-winch", arch, flags, tuple(functions),
                    trap_table=True)


def read_wasmtime_functions(data: bytes) -> list[Function]:
    """A Wasmtime serialized module's (.cwasm's) functions, each with its address-map entries and traps."""
    functions = read_elf_functions(data)
    try:
        addrmap, traps = wasmtime_tables.read_tables(data)
    except wasmtime_tables.TableError as exc:
        raise ArtefactError(str(exc)) from None
    return with_tables(functions, addrmap, traps)


def with_tables(functions: list[Function], addrmap: list[tuple[int, int | None]],
                traps: list[tuple[int, str]]) -> list[Function]:
    """Each function with the address-map entries and traps (both sorted by address) that fall inside its code."""
    map_at, trap_at = [a for a, _ in addrmap], [a for a, _ in traps]

    def inside(at: list[int], rows: list, f: Function) -> tuple:
        return tuple(rows[bisect.bisect_left(at, f.address):bisect.bisect_left(at, f.address + len(f.code))])

    return [replace(f, wasm_offsets=inside(map_at, addrmap, f), traps=inside(trap_at, traps, f)) for f in functions]
