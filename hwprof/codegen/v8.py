"""V8's code for a module, as the node targets compile it: read from the jitdump node writes under --perf-prof.

node runs v8_host.mjs in an empty temporary folder with the measured target's own V8 flags
(hwprof.runtimes.node: --single-threaded --random-seed=1 and the tier flags), plus --perf-prof (V8 writes
./jit-PID.dump: a JIT_CODE_LOAD per piece of code it makes, wasm functions named NAME-INDEX-TIER) and
--print-wasm-code (V8's own listing of each wasm function: index, compiler, start address and the size of
its instructions). Neither changes the code (the same bytes with and without them). The jitdump gives
the bytes of V8's whole code object: instructions, then the safepoint table and padding to 64 bytes, with
nothing to say where the instructions end; the listing says so, and each wasm function's code is cut there.

- node-liftoff, node-turbofan: compilation is eager, so WebAssembly.compile alone makes every function's
  code (nothing is run).
- node: V8's default tiering compiles lazily: compile makes no code at all. The module is run once
  (_start, the workload's arguments, no folder, no environment, empty stdin): each function that ran has
  its last code, TurboFan where V8 tiered it up, else Liftoff (with the budget checks that drive tier-up);
  functions that never ran have none. A superseded Liftoff code object is kept apart, as kind "other".

Names come from the module's name section (sources.artefact); V8's own names are not used. Function
addresses are the ones the code ran at in that process (calls are relative, into V8's jump table, so
their targets read right; absolute addresses embedded in TurboFan code belong to that process).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hwprof.codegen import jitdump
from hwprof.codegen.artefacts import Artefact, ArtefactError, Function

HOST = Path(__file__).with_name("v8_host.mjs")
TIME_LIMIT = 300.0                       # seconds node may take to compile (and, for node, run) the module
CODE_FLAGS = ("--perf-prof", "--print-wasm-code")
V8_NAME = re.compile(r"-(\d+)-(liftoff|turbofan)$")     # the tail of V8's name for a wasm function's code
TIERS = {"node": None, "node-liftoff": "liftoff", "node-turbofan": "turbofan"}   # target -> the one tier it uses


@dataclass(frozen=True)
class ListedCode:
    """One wasm function's code as V8's --print-wasm-code listing describes it."""

    index: int
    tier: str                   # "liftoff" or "turbofan"
    address: int
    instructions: int           # bytes of instructions: the jump tables, safepoint table and padding that follow cut
    protected: tuple[tuple[int, int], ...] = ()   # (pc offset, land pad offset): accesses a guard page traps


def node_artefact(subject) -> Artefact:
    """V8's code under node's default tiering: one run of the module, each function's last code."""
    return v8_artefact("node", subject)


def node_liftoff_artefact(subject) -> Artefact:
    """V8's Liftoff code of every function, compiled eagerly."""
    return v8_artefact("node-liftoff", subject)


def node_turbofan_artefact(subject) -> Artefact:
    """V8's TurboFan code of every function, compiled eagerly."""
    return v8_artefact("node-turbofan", subject)


def v8_artefact(target: str, subject) -> Artefact:
    """The code V8 in node made of the subject's module under one node target's flags."""
    from hwprof import runtimes

    if target not in TIERS:
        raise ArtefactError(f"no V8 target {target!r} (choose from: {', '.join(TIERS)})")
    if subject.arch != platform.machine():
        raise ArtefactError(f"node compiles for this machine's ISA only ({platform.machine()}), not {subject.arch}")
    runtime = runtimes.get(target)
    flags = [*runtime.v8_flags(), *_feature_flags(subject, runtime)]
    args = tuple(subject.workload.args) if subject.workload is not None else ()
    mode = "run" if TIERS[target] is None else "compile"
    dump, listing, report = run_node(subject.bytes(), flags, mode, args)
    functions, counts = _functions(dump, listing)
    _check(target, subject.functions(), functions, report, mode)
    if TIERS[target] and set(counts) - {TIERS[target]}:
        raise ArtefactError(f"{target}'s flags should give {TIERS[target]} code only, V8 made: {', '.join(counts)}")
    tiers = " ".join(f"{tier}={n}" for tier, n in sorted(counts.items()))
    what = (f"{'one run of _start' + (' ' + ' '.join(args) if args else '')}: each function's last code"
            if mode == "run" else "WebAssembly.compile, eager") + f"; code per tier: {tiers or 'none'}"
    if report.get("error"):
        what += f"; the run ended early: {report['error']}"
    elif report.get("exit_code"):
        what += f"; the run exited with status {report['exit_code']}"
    return Artefact(target, dump.arch, f"{' '.join(flags)} {' '.join(CODE_FLAGS)}; {what}", tuple(functions),
                    trap_table=True, calls_resolved=False)


def _feature_flags(subject, runtime) -> list[str]:
    from hwprof.runtimes.node import V8_FEATURES
    from hwprof.workloads.module import required_features

    needed, _ = required_features(subject.wasm)
    missing = [f for f in needed if f not in runtime.features]
    if missing:
        raise ArtefactError(f"{runtime.name} cannot compile modules using {', '.join(missing)} "
                            f"(it supports: {', '.join(sorted(runtime.features))})")
    return [flag for f in needed for flag in V8_FEATURES[f]]


def run_node(wasm: bytes, v8_flags: list[str], mode: str, args: tuple[str, ...] = ()) \
        -> tuple[jitdump.Jitdump, list[ListedCode], dict]:
    """Run v8_host.mjs under node in a fresh folder; its jitdump, V8's wasm code listing and the host's report."""
    from hwprof.runtimes.node import NODE_FLAGS, find_node
    from hwprof.runtimes import RuntimeTargetError

    try:
        node = find_node()[0]
    except RuntimeTargetError as exc:
        raise ArtefactError(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="hwprof-v8-") as folder:
        work = Path(folder)
        (work / "module.wasm").write_bytes(wasm)
        shutil.copy(HOST, work / HOST.name)
        argv = [node, *NODE_FLAGS, *v8_flags, *CODE_FLAGS, HOST.name, mode, "module.wasm", *args]
        env = {"PATH": os.environ.get("PATH", ""), "HOME": folder, "UV_THREADPOOL_SIZE": "1", "NODE_OPTIONS": ""}
        with open(work / "listing.txt", "wb") as out:
            try:
                done = subprocess.run(argv, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                      stderr=subprocess.PIPE, timeout=TIME_LIMIT)
            except subprocess.TimeoutExpired:
                raise ArtefactError(f"node did not finish within {TIME_LIMIT:.0f} s") from None
        report_file, dumps = work / "host.json", sorted(work.glob("jit-*.dump"))
        if not report_file.exists() or len(dumps) != 1:
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"status {done.returncode}"]
            wrote = "no host report" if not report_file.exists() else f"{len(dumps)} jitdumps"
            raise ArtefactError(f"node wrote {wrote}: {tail[0]}")
        report = json.loads(report_file.read_text())
        if report.get("error") and report.get("stage") == "compile":
            raise ArtefactError(f"node cannot compile it: {report['error']}")
        with open(work / "listing.txt", encoding="utf-8", errors="replace") as listing:
            return jitdump.read_file(dumps[0]), read_listing(listing), report


def read_listing(lines) -> list[ListedCode]:
    """Every wasm function in V8's --print-wasm-code output (its stub code and other text left out)."""
    found, block = [], None
    for line in lines:
        if line.startswith("--- WebAssembly code ---"):
            block = {"tables": []}
        elif block is None:
            continue
        elif line.startswith("--- End code ---"):
            if block.get("kind") == "wasm function" and "address" in block:
                found.append(_listed(block))
            block = None
        elif line.startswith("Protected instructions:"):
            block["protected"] = []
        elif "protected" in block and not block.get("protected_done") and line.strip():
            cells = line.split()
            if len(cells) == 2 and all(c.strip("0123456789abcdef") == "" for c in cells):
                block["protected"].append((int(cells[0], 16), int(cells[1], 16)))
            elif cells[:2] != ["pc", "offset"]:
                block["protected_done"] = True
        elif line.startswith("Instructions (size = "):
            block["instructions"] = int(line.split("=")[1].strip(" )\n"))
        elif line.startswith("0x") and "instructions" in block and not block.get("done"):
            block.setdefault("address", int(line.split()[0], 16))
            if "jump table entry" in line:
                block["tables"].append(int(line.split()[1], 16))
        elif not line.strip() and "address" in block:
            block["done"] = True                     # the instructions end at the first blank line
        elif ": " in line and line.split(": ", 1)[0] in ("index", "kind", "compiler"):
            key, value = line.rstrip("\n").split(": ", 1)
            block[key] = value
    return found


def _listed(block: dict) -> ListedCode:
    """The function's code ends where its jump tables (8-byte addresses TurboFan puts after the code) begin."""
    index, size, tables = int(block["index"]), block["instructions"], block["tables"]
    end = min(tables, default=size)
    if tables and end + 8 * len(tables) != size:
        raise ArtefactError(f"V8's code of function {index} has jump tables that are not all at its end "
                            f"(offsets {tables[0]:#x}..{tables[-1]:#x} of {size:#x}): its instructions have holes")
    return ListedCode(index, block["compiler"].lower(), block["address"], end, tuple(block.get("protected", ())))


def _functions(dump: jitdump.Jitdump, listing: list[ListedCode]) -> tuple[list[Function], dict[str, int]]:
    """Each wasm function's last code from the jitdump, cut at its instructions' end; every other load as other."""
    listed = {(c.address, c.index, c.tier): c for c in listing}
    last: dict[int, tuple[jitdump.CodeLoad, ListedCode]] = {}
    others: list[jitdump.CodeLoad] = []
    for load in dump.loads:
        tail = V8_NAME.search(load.name)
        code = tail and listed.pop((load.vma, int(tail.group(1)), tail.group(2)), None)
        if not code:
            others.append(load)
            continue
        if len(load.code) < code.instructions:
            raise ArtefactError(f"V8's jitdump holds {len(load.code)} bytes of function {code.index}'s code, "
                                f"its listing says {code.instructions}")
        if code.index in last:
            others.append(last[code.index][0])        # superseded (Liftoff code after tier-up)
        last[code.index] = (load, code)
    if listed:
        missing = sorted({c.index for c in listed.values()})
        raise ArtefactError(f"V8 listed code for {len(missing)} wasm functions its jitdump lacks "
                            f"(first: function[{missing[0]}])")
    # V8's "Protected instructions": each memory access a guard page traps, and the landing pad it goes to.
    wasm = [Function(code.index, "", "wasm", load.vma, load.code[:code.instructions],
                     traps=tuple((load.vma + pc, "MemoryOutOfBounds") for pc, _ in code.protected),
                     trap_pads=tuple(sorted({load.vma + pad for _, pad in code.protected})))
            for load, code in sorted(last.values(), key=lambda pair: pair[1].index)]
    counts: dict[str, int] = {}
    for _, code in last.values():
        counts[code.tier] = counts.get(code.tier, 0) + 1
    return wasm + [Function(-1, load.name, "other", load.vma, load.code) for load in others], counts


def _check(target: str, module, functions: list[Function], report: dict, mode: str) -> None:
    """An eager target must have compiled every function, and a run must at least have instantiated."""
    found = {f.index for f in functions if f.kind == "wasm"}
    if mode == "compile" and found != set(module.indices()):
        raise ArtefactError(f"{target}: V8 compiled {len(found)} of the module's {module.defined} functions eagerly")
    if mode == "run" and not found:
        raise ArtefactError(f"{target} compiles lazily and the run compiled nothing: "
                            f"{report.get('error') or 'no call'}")
