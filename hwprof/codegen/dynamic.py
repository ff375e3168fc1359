"""Dynamic code metrics: the execute phase's per-instruction counts moved onto an artefact's own addresses.

hwprof.codegen.hot counts, under callgrind, how often each instruction of the execute phase ran, at the
addresses of that run; an artefact's addresses are its own (a serialized module's or an object's offsets).
The counts are moved function by function, by offset from where the function begins on each side, and
only where the code is shown to be the same:

- JIT code (wasmtime, wasmtime-winch): from the start the run's perf map gives the function. Every executed
  offset must lie in the artefact's function and be one of its instruction starts, and every jump callgrind
  saw there must be a jump of the artefact's code, to the same offset where its target is direct and inside.
- wasm2c (wasm2c-llvm, wasm2c-gcc): the run's executable links the same translation unit the artefact's
  object holds. Each executed address is taken from the executable's symbol holding it, whose decoding must
  match the artefact's function instruction for instruction (offsets, sizes, mnemonics); code the artefact
  keeps apart (an export's wrapper, a .cold part: a symbol of that name among its other functions) stays apart.
- native: not supported. Its executable is stripped and must stay so (hwprof.codegen.c_builds), so callgrind
  names its code by address only, and where each function begins in it is not known.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

from hwprof.codegen import hot
from hwprof.codegen.artefacts import ARCHES, Artefact, ArtefactError, Function
from hwprof.codegen.disasm import Instruction, disassemble
from hwprof.codegen.hot import ExecuteProfile

NATIVE = ("native: its executable is stripped (it must stay so: zig's runtime changes without -s), so callgrind "
          "names its code by address only and where each function begins in it is not known")


class _Decoded:
    """The artefact's wasm functions by index, each decoded once; the code it keeps apart by name."""

    def __init__(self, artefact: Artefact):
        self.artefact = artefact
        self.by_index = {f.index: f for f in artefact.wasm_functions()}
        self.apart = {f.name for f in artefact.functions if f.kind != "wasm"}
        self._code: dict[int, dict[int, Instruction]] = {}
        spans = sorted((f.address, f.address + len(f.code), f.label) for f in self.by_index.values())
        for (_, end, a), (start, _, b) in zip(spans, spans[1:]):
            if start < end:
                raise ArtefactError(f"{artefact.target}: the code of {a} and {b} share addresses (separate "
                                    "sections of an object), so one address map cannot hold their counts")

    def instructions(self, f: Function) -> dict[int, Instruction]:
        """The function's instructions by address, as the metrics decode them."""
        if f.index not in self._code:
            self._code[f.index] = {i.address: i for i in disassemble(f.code, self.artefact.arch, f.address)}
        return self._code[f.index]


def _jit(profile: ExecuteProfile, code: _Decoded) -> dict[int, int]:
    """JIT code: each run address moved by its offset from the function's start in the run's perf map."""
    out: Counter = Counter()
    moved: dict[int, tuple[int, Function, int]] = {}      # run address -> (artefact address, function, run start)
    for mf in profile.functions:
        if mf.index is None:
            continue                                       # code the perf map names that is no wasm function
        f = code.by_index.get(mf.index)
        if f is None or mf.start is None:
            raise ArtefactError(f"{profile.target} ran {mf.name} (function[{mf.index}]), which "
                                f"{'the artefact has no code of' if f is None else 'the perf map gives no start'}")
        for address, n in mf.by_address.items():
            offset = address - mf.start
            if not 0 <= offset < len(f.code):
                raise ArtefactError(f"{profile.target}: {f.label} ran at offset {offset}, outside its "
                                    f"{len(f.code)} bytes in the artefact: not the same code")
            out[f.address + offset] += n
            moved[address] = (f.address + offset, f, mf.start)
    _check_jumps(profile, code, moved)
    return dict(out)


def _check_jumps(profile: ExecuteProfile, code: _Decoded, moved: dict[int, tuple[int, Function, int]]) -> None:
    """Every jump the run took in the module's code is a jump of the artefact's, to the same place where direct."""
    for j in profile.profile.jumps:
        if j.source not in moved:
            continue
        at, f, start = moved[j.source]
        i = code.instructions(f).get(at)
        if i is None:
            continue                                       # not an instruction start: _check_starts says so
        offset = j.target - start
        inside = 0 <= offset < len(f.code)
        if not i.jump or (inside and i.target is not None and i.target != f.address + offset):
            raise ArtefactError(f"{profile.target}: the run jumps from {f.label}+{at - f.address} to offset "
                                f"{offset}, where the artefact has {i.mnemonic} {i.op_str}: not the same code")


def _symbols(profile: ExecuteProfile, code: _Decoded) -> dict[int, int]:
    """A linked executable: each address moved by its offset from the start of the executable's symbol holding it."""
    if not profile.program:
        raise ArtefactError(f"{profile.target}: the profiled program has no symbol table (stripped), so where "
                            "its functions begin is not known")
    out: Counter = Counter()
    same: dict[tuple[int, int], bool] = {}
    for mf in profile.functions:
        f = code.by_index.get(mf.index)
        for address, n in mf.by_address.items():
            holding = [e for e in profile.program if e.address <= address < e.address + len(e.code)]
            if not holding:
                raise ArtefactError(f"{profile.target}: {mf.name} ran at {address:#x}, in no symbol of the program")
            if all(e.name in code.apart for e in holding):
                continue                                   # code the artefact keeps apart: not the wasm function's
            if f is None:
                raise ArtefactError(f"{profile.target}: {mf.name} ran in {holding[0].name}, and the artefact has "
                                    "no wasm function of that index")
            matching = [e for e in holding if e.name not in code.apart and _same(e, f, code, same)]
            if not matching:
                raise ArtefactError(f"{profile.target}: the program's {holding[0].name} is not the code the "
                                    f"artefact read as {f.label} (its instructions differ)")
            out[f.address + address - matching[0].address] += n
    return dict(out)


def _same(e: Function, f: Function, code: _Decoded, known: dict[tuple[int, int], bool]) -> bool:
    """The program's symbol decodes as the artefact's function does: the same offsets, sizes and mnemonics."""
    key = (e.address, f.index)
    if key not in known:
        mine = [(i.address - f.address, i.size, i.mnemonic) for i in code.instructions(f).values()]
        theirs = [(i.address - e.address, i.size, i.mnemonic)
                  for i in disassemble(e.code, code.artefact.arch, e.address)] if len(e.code) == len(f.code) else []
        known[key] = mine == theirs
    return known[key]


# target -> how its run's addresses become its artefact's (the targets hwprof.codegen.hot can profile but native).
MAPPINGS: dict[str, Callable[[ExecuteProfile, _Decoded], dict[int, int]]] = {
    "wasmtime": _jit, "wasmtime-winch": _jit, "wasm2c-llvm": _symbols, "wasm2c-gcc": _symbols}
UNSUPPORTED = {"native": NATIVE}


def supported(target: str) -> None:
    """Nothing where the target's runs can weigh its artefact; else ArtefactError saying why not, in one line."""
    if target in UNSUPPORTED:
        raise ArtefactError(UNSUPPORTED[target])
    if target not in MAPPINGS:
        raise ArtefactError(f"no execute profile of {target} to weigh its code by (dynamic metrics are made for: "
                            f"{', '.join(MAPPINGS)})")


def profile(subject, target: str) -> ExecuteProfile:
    """One callgrind run of the target's execute phase whose code is the artefact's: a JIT compiles for the ISA as
    the code source does (Config.target set: its baseline, where the measured host detects the CPU's features)."""
    supported(target)
    jit = MAPPINGS[target] is _jit
    return hot.execute_profile(subject, target, isa=ARCHES[subject.arch] if jit else "")


def weighed_artefact(target: str, subject, art: Artefact) -> Artefact:
    """The artefact a profile's counts land on: for a JIT, the same module compiled for the ISA's baseline (the
    code the valgrind run executes, since valgrind shows the JIT another CPU); for the others, the artefact itself."""
    from hwprof.codegen import artefacts, sources

    supported(target)
    if MAPPINGS[target] is not _jit:
        return art
    strategy = "cranelift" if target == "wasmtime" else "winch"
    base = artefacts.wasmtime_artefact(subject.bytes(), strategy, subject.opt_level, subject.arch, baseline=True)
    return sources.named(base, subject.functions())


def executions(profile: ExecuteProfile, artefact: Artefact) -> dict[int, int]:
    """The execute phase's executions per instruction, at the artefact's addresses, for its wasm functions that ran."""
    if profile.target != artefact.target:
        raise ArtefactError(f"a profile of {profile.target} cannot weigh {artefact.target}'s code")
    supported(profile.target)
    mapping = MAPPINGS[profile.target]
    code = _Decoded(artefact)
    out = mapping(profile, code)
    _check_starts(out, code)
    return out


def _check_starts(out: dict[int, int], code: _Decoded) -> None:
    """Every executed address is an instruction start of the artefact's decoding, or the mapping is refused."""
    for f in code.by_index.values():
        starts = [a for a in out if f.address <= a < f.address + len(f.code)]
        if starts:
            decoded = code.instructions(f)
            wrong = [a for a in starts if a not in decoded]
            if wrong:
                raise ArtefactError(f"{code.artefact.target}: {len(wrong)} executed addresses of {f.label} (first "
                                    f"+{wrong[0] - f.address}) are no instruction starts of its code: not the same "
                                    "code")


def ran(artefact: Artefact, counts: dict[int, int]) -> list[Function]:
    """The artefact's wasm functions with at least one instruction executed, in index order."""
    return [f for f in artefact.wasm_functions() if any(f.address <= a < f.address + len(f.code) for a in counts)]
