"""Where the execute phase spends its instructions: callgrind's counts per function and per instruction.

One run of a target under the cachegrind backend, counting the execute phase only (the code between
bench.start and bench.end), with costs per instruction address and jumps with their counts. Its costs are
then mapped to the module's functions: by symbol for a program on disk (wasm2c's w2c_workload_NAME, a
native build's C names), by the host's perf map for JIT code (Wasmtime's /tmp/perf-PID.map). Compilers
inline, so the hottest function is found by its counts, never assumed by name.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import shutil
import subprocess
import tempfile
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from hwprof import measure
from hwprof.backends.cachegrind import CachegrindBackend, parse_callgrind_dump
from hwprof.codegen import module as wasm_module
from hwprof.codegen.artefacts import WASM_FUNCTION, ArtefactError, Function, read_elf_functions
from hwprof.codegen.callgrind import Profile, parse
from hwprof.collect import CollectConfig, CollectError, open_plan
from hwprof.data.phases import EXECUTE
from hwprof.session import Session



@dataclass
class ModuleFunction:
    """One of the module's functions as the execute phase ran it: instructions executed, in total and per address."""

    index: int | None           # the module's index (imports first); None where its code does not tell
    name: str                   # from the name section, else what its code is called (an export, a symbol, 0x...)
    count: int                  # instructions executed in it (its self cost)
    by_address: dict[int, int]  # instruction address -> times it ran (an ELF's own addresses; JIT: the run's)
    start: int | None = None    # JIT code: where the perf map says the function began in that run


@dataclass(frozen=True)
class Loop:
    """A loop found by its back edge: the jump to an earlier address taken most often."""

    start: int                  # the back edge's target: the loop's first instruction
    end: int                    # the back edge itself: the loop's last instruction
    iterations: int             # times the back edge was taken
    instructions: int           # instructions executed from start to end


@dataclass
class ExecuteProfile:
    """The execute phase of one run of a target: everything callgrind counted, and the module's part of it."""

    target: str
    profile: Profile
    functions: list[ModuleFunction]     # the module's own code, hottest first
    # the profiled program's function symbols with their code, read while it existed (a wasm2c build's executable
    # lives only as long as its run); () for JIT code and for a stripped program
    program: tuple[Function, ...] = ()

    @property
    def total(self) -> int:
        """Instructions executed in the execute phase, host and libraries included."""
        return self.profile.total()


@dataclass(frozen=True)
class _Code:
    """What tells the module's code apart: its function names, its exports, the program, the JIT's map."""

    functions: wasm_module.ModuleFunctions
    exports: dict[str, int]
    program: str = ""
    ranges: tuple[tuple[int, int, str], ...] = ()      # JIT code: (start, end, name) sorted by start

    @cached_property
    def starts(self) -> list[int]:
        """Where each JIT range begins, for bisection."""
        return [r[0] for r in self.ranges]

    def index(self, name: str) -> int | None:
        """The index of the one function the name section gives this name, else of the export so named."""
        named = [i for i, n in self.functions.names.items() if n == name]
        if named:
            return named[0] if len(named) == 1 else None     # a name two functions share tells neither
        return self.exports.get(name)


W2C_PREFIX = "w2c_workload_"        # wasm2c's symbols for the module (hwprof names the module 'workload')


def _wasm2c(code: _Code, obj: str, symbol: str, address: int):
    """wasm2c's C name of a wasm function: the name section's, else an export's (inner copy '_0'), else fN."""
    if not symbol.startswith(W2C_PREFIX):
        return None
    name = re.sub(r"0x([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), symbol[len(W2C_PREFIX):])
    index = code.index(name)
    inner = re.fullmatch(r"(.+)_\d+", name)
    if index is None and inner and code.index(inner.group(1)) is not None:
        name = inner.group(1)
        index = code.index(name)
    numbered = re.fullmatch(r"f(\d+)", name)
    if index is None and numbered:
        index = int(numbered.group(1))
    if index is None:
        return None          # wasm2c's glue for the module (an exported memory's getter), not a wasm function
    return index, code.functions.name(index) or name, None


def _native(code: _Code, obj: str, symbol: str, address: int):
    """A native build's own code: the C names are the wasm build's name-section names."""
    if obj != code.program:
        return None
    return code.index(symbol), symbol, None


def _jit(code: _Code, obj: str, symbol: str, address: int):
    """JIT code by the host's perf map: wasm[M]::function[N] where the module has no names, else the name."""
    at = bisect_right(code.starts, address) - 1
    if at < 0 or address >= code.ranges[at][1]:
        return None
    start, _, name = code.ranges[at]
    numbered = WASM_FUNCTION.match(name)
    index = int(numbered.group(1)) if numbered else code.index(name)
    if index is None and "trampoline" in name:
        return None          # Wasmtime's entry and exit trampolines, not the module's code
    return index, (code.functions.name(index) if index is not None else "") or name, start


# target -> how its module code is told apart, and whether its host writes a perf map for it.
LOCATORS = {"wasm2c-llvm": (_wasm2c, False), "wasm2c-gcc": (_wasm2c, False), "native": (_native, False),
            "wasmtime": (_jit, True), "wasmtime-winch": (_jit, True)}


def module_functions(profile: Profile, code: _Code, locate) -> list[ModuleFunction]:
    """The profile's per-address costs gathered into the module's functions, hottest first."""
    col = profile.column()
    found: dict[int | str, ModuleFunction] = {}
    for cost in profile.functions.values():
        for address, counts in cost.by_address.items():
            hit = locate(code, cost.object, cost.symbol, address)
            if hit is None:
                continue
            index, name, start = hit
            f = found.setdefault(name if index is None else index, ModuleFunction(index, name, 0, {}, start))
            f.count += counts[col]
            f.by_address[address] = f.by_address.get(address, 0) + counts[col]
    return sorted(found.values(), key=lambda f: -f.count)


def hottest(profile: ExecuteProfile,
            functions: wasm_module.ModuleFunctions | None = None) -> tuple[int | None, str, float]:
    """The module function that ran most of the execute phase's instructions: (index, name, share of the phase)."""
    if not profile.functions or not profile.total:
        raise ArtefactError(f"no instruction of the execute phase under {profile.target} ran in the module's code")
    top = profile.functions[0]
    name = (functions.name(top.index) if functions is not None and top.index is not None else "") or top.name
    return top.index, name, top.count / profile.total


def hottest_loop(profile: ExecuteProfile, function: ModuleFunction) -> Loop | None:
    """The function's loop whose back edge (a jump to an earlier address in it) was taken most; None if none was."""
    taken: dict[tuple[int, int], int] = {}
    for j in profile.profile.jumps:       # valgrind keeps one record per superblock a jump was translated in: summed
        if j.target <= j.source and j.taken and j.source in function.by_address and j.target in function.by_address:
            taken[j.source, j.target] = taken.get((j.source, j.target), 0) + j.taken
    if not taken:
        return None
    (source, target), times = max(taken.items(), key=lambda e: (e[1], -(e[0][0] - e[0][1])))
    body = sum(n for a, n in function.by_address.items() if target <= a <= source)
    return Loop(target, source, times, body)


def exports(wasm: bytes) -> dict[str, int]:
    """The module's exported functions: export name -> function index."""
    from hwprof.workloads.module import read_bytes

    return dict(read_bytes(wasm).export_functions)


def perf_map(text: str) -> tuple[tuple[int, int, str], ...]:
    """A perf map (one 'START SIZE NAME' line per JIT function, hexadecimal) as sorted (start, end, name) ranges."""
    ranges = []
    for line in text.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3:
            start, size = int(parts[0], 16), int(parts[1], 16)
            ranges.append((start, start + size, parts[2].strip()))
    return tuple(sorted(ranges))


def execute_profile(subject, target: str, cpu: int | None = None, timeout: float = 300.0,
                    isa: str = "") -> ExecuteProfile:
    """Run the target once under callgrind, counting its execute phase per instruction, mapped to the module's code.

    isa: a JIT target's Config.target for the run; "" (as measured) lets it detect the CPU's features (under
    valgrind: those valgrind's CPU offers), a triple compiles for that ISA's baseline, as codegen's artefacts do."""
    if target not in LOCATORS:
        raise ArtefactError(f"no execute profile for target {target!r} (choose from: {', '.join(LOCATORS)})")
    if not shutil.which("valgrind"):
        raise ArtefactError("valgrind is not installed: apt-get install valgrind")
    locate, jit = LOCATORS[target]
    plan = _plan(subject, target, cpu, timeout)
    if isa and jit:
        runtime = copy.copy(plan.runtime)
        runtime.isa = isa          # the runtime's own Config.target setting (WasmtimeRuntime.isa), for this run only
        plan = dataclasses.replace(plan, runtime=runtime)
    ranges: tuple[tuple[int, int, str], ...] = ()
    with Session(plan.cpu, kind="hot") as session:
        try:
            profile, program = _run(plan, session.root)
            symbols = () if jit else _symbols(Path(program))
        finally:
            ranges = _take_perf_map(session.root) if jit else ()
    if jit and not ranges:
        raise ArtefactError(f"{target}'s host wrote no perf map of its JIT code (/tmp/perf-{profile.pid}.map)")
    wasm = subject.bytes()
    code = _Code(wasm_module.read(wasm), exports(wasm), program, ranges)
    return ExecuteProfile(target, profile, module_functions(profile, code, locate), symbols)


def _symbols(program: Path) -> tuple[Function, ...]:
    """The program's function symbols with their code; () where it is stripped."""
    try:
        return tuple(read_elf_functions(program.read_bytes()))
    except ArtefactError:
        return ()


def _plan(subject, target: str, cpu: int | None, timeout: float):
    """The collect plan of one cold run counting the execute phase, its backend asked for per-instruction costs."""
    w = subject.workload
    config = CollectConfig(workload=w.name if w is not None else str(subject.wasm), size=w.size if w else None,
                           runtime=target, backend="cachegrind", count_phases=("execute",), repetitions=1, warmup=0,
                           cpu=cpu, timeout=timeout, opt_level=subject.opt_level)
    try:
        plan = open_plan(config)
    except CollectError as exc:
        raise ArtefactError(str(exc)) from None
    return dataclasses.replace(plan, backend=CachegrindBackend(geometry=dict(config.sim_geometry),
                                                               per_instruction=True))


def ahead_unmeasured(plan, root: Path):
    """The target's ahead-of-time step (wasm2c's build) run plainly, what the run loads; None if it has none."""
    if not plan.runtime.ahead:
        return None
    workdir = Path(tempfile.mkdtemp(prefix="ahead-", dir=root))
    prepared = plan.runtime.prepare(plan.workload, workdir)
    try:
        done = subprocess.run(prepared.argv, cwd=workdir, capture_output=True, text=True,
                              timeout=plan.config.timeout)
    except subprocess.TimeoutExpired:
        raise ArtefactError(f"{plan.runtime.name}'s ahead-of-time step took over {plan.config.timeout:g} s") from None
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise ArtefactError(f"{plan.runtime.name}'s ahead-of-time step failed: {why}")
    return prepared


def _run(plan, root: Path) -> tuple[Profile, str]:
    """The execute pass under callgrind (ahead-of-time work done first, unmeasured): its dump and the program."""
    prepared = ahead_unmeasured(plan, root)
    got = measure.run_pass(plan, plan.passes[-1], root, measure._Trace(), prepared)
    if got.failure:
        raise ArtefactError(f"{plan.workload.name} under {plan.runtime.name} (callgrind): {got.failure}")
    texts = [p.read_text() for p in sorted(root.glob("execute-*/callgrind.out*"))]
    dumps = [t for t in texts if parse_callgrind_dump(t)[0] == EXECUTE]
    if len(dumps) != 1:
        raise ArtefactError(f"expected one callgrind dump of the execute phase, found {len(dumps)}")
    program = prepared.artefact if prepared else plan.workload.program
    return parse(dumps[0]), str(Path(program).resolve())


def _take_perf_map(root: Path) -> tuple[tuple[int, int, str], ...]:
    """The perf map the measured host wrote (/tmp/perf-PID.map, PID as valgrind's log names it), read and removed."""
    log = "".join(p.read_text(errors="replace") for p in root.glob("execute-*/launcher.log"))
    found = re.search(r"^==(\d+)==", log, re.MULTILINE)
    path = Path(f"/tmp/perf-{found.group(1)}.map") if found else None
    if path is None or not path.exists():
        return ()
    try:
        return perf_map(path.read_text(errors="replace"))
    finally:
        path.unlink(missing_ok=True)
