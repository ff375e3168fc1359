"""Code sources whose machine code a C compiler makes: wasm2c's C of the module, and the workload's own C.

wasm2c-llvm and wasm2c-gcc: the module's C is compiled as the measured target compiles it (the same
wasm2c_build driver, toolchain and flags; glue.c including wasm2c's module.c, one translation unit) but to
an object (-c), not linked, and read from its symbol table. wasm2c names every function it defines in
module.c's forward declarations, one per defined function in index order (`w2c_workload_<name>` with
special characters as 0xHH, `_0` added where a name is taken, `w2c_workload_f<N>` without a name
section); those declarations, not a copy of its mangling, give each symbol's index. An export is a
wrapper (`/* export: 'NAME' */`) calling its function: where the compiler inlined the function into its
wrapper and dropped the function's own symbol (clang does so with `_start`), the wrapper is its code.

native: the objects the bundled workload's native build links (the executable is stripped), its
functions matched to wasm functions by name through the module's name section; musl is not read.

Another ISA than the host's is cross-compiled, for that ISA's baseline CPU (the flags say so).
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

from hwprof.codegen.artefacts import ARCHES, Artefact, ArtefactError, Function, read_elf_functions
from hwprof.data import buildcache
from hwprof.runtimes import RuntimeTargetError
from hwprof.runtimes import wasm2c as target
from hwprof.runtimes.wasm2c_build import BuildError, build

TARGETS = {"zig": "wasm2c-llvm", "gcc": "wasm2c-gcc"}       # wasm2c's C compiler -> the target it makes
ZIG_TARGETS = {"x86_64": "x86_64-linux-musl", "aarch64": "aarch64-linux-musl"}
GCC_CROSS = {"x86_64": "x86_64-linux-gnu-gcc", "aarch64": "aarch64-linux-gnu-gcc"}
HOST_TUNING = ("-mcpu=", "-march=")        # flags naming the host's CPU level, dropped when cross-compiling
DECLARATION = re.compile(r"^static [^\n]*?\b(w2c_workload_\w+)\(w2c_workload\*[^\n]*\);$", re.M)
EXPORT = re.compile(r"^/\* export: '[^\n]*' \*/\n[^\n]*?\b(w2c_workload_\w+)\(w2c_workload\* instance[^\n]*\{\n"
                    r"(.*?)^\}", re.M | re.S)
CALL = re.compile(r"\b(w2c_workload_\w+)\(")
# Ranks of the symbols that can hold a wasm function's code, best first (gcc's .constprop/.isra are whole
# clones; .part is the body left after partial inlining; .cold, the unlikely paths split off, is never one).
OWN, CLONE, WRAPPER, PART = range(4)


def _check_arch(arch: str) -> None:
    if arch not in ARCHES:
        raise ArtefactError(f"unknown ISA {arch!r} (choose from: {', '.join(ARCHES)})")


def wasm2c_toolchain(tool: str, arch: str):
    """The measured wasm2c target's toolchain; for another ISA, its cross-compiling counterpart."""
    _check_arch(arch)
    try:
        tc = target.toolchain(tool)
    except RuntimeTargetError as exc:
        raise ArtefactError(str(exc)) from None
    if arch == platform.machine():
        return tc
    portable = tuple(f for f in tc.cflags if not f.startswith(HOST_TUNING))
    if tool == "zig":
        return replace(tc, cflags=(*portable, "-target", ZIG_TARGETS[arch]))
    cross = shutil.which(GCC_CROSS[arch])
    if cross is None:
        raise ArtefactError(f"wasm2c-gcc for {arch} needs a cross gcc ({GCC_CROSS[arch]}), not installed here")
    version = subprocess.run([cross, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return replace(tc, cc=(cross,), version=version, cflags=portable)


def wasm2c_object(wasm: bytes, tool: str, arch: str) -> tuple[Path, Path, str]:
    """The module's C compiled to an object as the wasm2c target compiles it: (object, module.c, flags)."""
    tc = wasm2c_toolchain(tool, arch)
    try:
        pkg = target.wabt()
    except RuntimeTargetError as exc:
        raise ArtefactError(str(exc)) from None
    runtime = pkg.runtime_dir()
    inputs = [target.SOURCE_DIR / "glue.c", target.SOURCE_DIR / "host.h", *sorted(runtime.glob("*.h")),
              *sorted(pkg.include_dir().glob("*.h"))]
    setting = " ".join([*tc.cc[1:], *tc.cflags, tc.version, pkg.wabt_version(), arch])
    key = buildcache.digest([wasm, setting, *inputs])
    folder = buildcache.build("codegen-wasm2c", f"{tc.name}-{arch}-{key}",
                              lambda tmp: _compile_module(wasm, tc, pkg, tmp))
    return folder / "glue.o", folder / "module.c", f"{tc.version}: {' '.join(tc.cflags)} -c (object, not linked)"


def _compile_module(wasm: bytes, tc, pkg, tmp: Path) -> None:
    tmp.mkdir(parents=True)
    (tmp / "module.wasm").write_bytes(wasm)
    # The measured compile phase's spec (wasm2c.prepare), compiling to an object: no host objects, no libraries.
    spec = {"wasm2c": str(pkg.get_executable("wasm2c")), "wasm": str(tmp / "module.wasm"), "build_dir": str(tmp),
            "source_dir": str(target.SOURCE_DIR), "include_dirs": [str(pkg.runtime_dir()), str(pkg.include_dir())],
            "cc": list(tc.cc), "cflags": [*tc.cflags, "-c"], "objects": [], "libs": [],
            "out": str(tmp / "glue.o"), "env": tc.env_for(tmp)}
    try:
        build(spec)
    except BuildError as exc:
        raise ArtefactError(f"{TARGETS[tc.name]} cannot build the module: {exc}") from None
    finally:
        shutil.rmtree(tmp / "zig-cache", ignore_errors=True)


def wasm2c_names(module_c: str, imported: int, defined: int) -> tuple[dict[str, int], dict[str, str]]:
    """wasm2c's C name of each defined function -> its index, and each export wrapper -> the function it calls."""
    declared = DECLARATION.findall(module_c)
    if len(declared) != defined:
        raise ArtefactError(f"wasm2c's C declares {len(declared)} functions where the module defines {defined}")
    internal = {name: imported + i for i, name in enumerate(declared)}
    exports = {}
    for wrapper, body in EXPORT.findall(module_c):
        called = [c for c in CALL.findall(body) if c in internal]
        if called:
            exports[wrapper] = called[0]
    return internal, exports


def wasm2c_functions(found: list[Function], internal: dict[str, int], exports: dict[str, str]) -> list[Function]:
    """The object's functions with wasm2c's symbols turned into wasm functions, one symbol per index.

    A function's own symbol comes first, then a clone of it (gcc's .constprop/.isra), then the export
    wrapper it was inlined into, then the body gcc's partial inlining left (.part); the rest (.cold parts,
    second clones, wasm2c's runtime, glue.c) is kind "other".
    """
    best: dict[int, tuple[int, int]] = {}          # index -> (rank, position in found)
    for at, f in enumerate(found):
        candidate = _candidate(f.name, internal, exports)
        if candidate is not None:
            index, rank = candidate
            if index not in best or (rank, at) < best[index]:
                best[index] = (rank, at)
    chosen = {at: index for index, (_, at) in best.items()}
    return [replace(f, index=chosen[at], name="", kind="wasm") if at in chosen else replace(f, index=-1, kind="other")
            for at, f in enumerate(found)]


def _candidate(symbol: str, internal: dict[str, int], exports: dict[str, str]) -> tuple[int, int] | None:
    base, _, suffix = symbol.partition(".")
    pieces = suffix.split(".")
    if base in internal and "cold" not in pieces:
        return internal[base], OWN if not suffix else PART if "part" in pieces else CLONE
    if symbol in exports:
        return internal[exports[symbol]], WRAPPER
    return None


def _wasm2c(subject, tool: str) -> Artefact:
    obj, module_c, flags = wasm2c_object(subject.bytes(), tool, subject.arch)
    functions = subject.functions()
    internal, exports = wasm2c_names(module_c.read_text(), functions.imported, functions.defined)
    found = wasm2c_functions(read_elf_functions(obj.read_bytes()), internal, exports)
    return Artefact(TARGETS[tool], subject.arch, flags, tuple(found), calls_resolved=False)


def wasm2c_llvm(subject) -> Artefact:
    """wasm2c-llvm's code of the module: wasm2c's C compiled by clang (zig cc)."""
    return _wasm2c(subject, "zig")


def wasm2c_gcc(subject) -> Artefact:
    """wasm2c-gcc's code of the module: wasm2c's C compiled by gcc."""
    return _wasm2c(subject, "gcc")


def native_objects(workload, arch: str) -> tuple[list[Path], str]:
    """The objects the bundled workload's native build links, compiled for an ISA, with its flags.

    The measured executable is stripped and must stay so (sections.py in hwprof.workloads: zig's runtime
    changes without -s), so its code is read from the objects it is linked from: workloads.build's recipe
    with -c, one object per C source (phasectl.c's included), the ISA in the zig target the only change.
    """
    from hwprof import workloads

    _check_arch(arch)
    spec = workloads.catalogue()["workload"].get(workload.name)
    if spec is None or not workload.bundled:
        raise ArtefactError("native: only a bundled workload has a native build (its C source); "
                            "an arbitrary module has none")
    opt = next((f for f in workload.flags.split() if f in workloads.OPT_LEVELS), "-O2")
    size = "any" if spec.get("size_arg") else workload.size
    flags = workloads.compile_flags(spec, size, opt, "native") + ["-DHWPROF_NATIVE_MARKERS"]
    flags[flags.index("-target") + 1] = ZIG_TARGETS[arch]
    base = Path(spec["_dir"])
    sources = [base / s for s in spec.get("sources", [spec.get("source")])] + [workloads.PHASECTL]
    with tempfile.TemporaryDirectory(prefix="hwprof-gen-") as gen:
        gen_dir = Path(gen)
        workloads.generate_inputs(spec, gen_dir)
        if (workloads.VALGRIND_INCLUDE / "callgrind.h").exists():
            (gen_dir / "valgrind").symlink_to(workloads.VALGRIND_INCLUDE)
            flags.append("-DHWPROF_HAVE_VALGRIND")
        inputs = sorted(workloads.HERE.rglob("*.h")) + sources + sorted(p for p in gen_dir.rglob("*") if p.is_file())
        key = buildcache.digest([*inputs, " ".join(flags + [workloads.zig_version(), "-c"])])
        folder = buildcache.build("codegen-native", f"{workload.name}-{size}-{opt[1:]}-{arch}-objects-{key}",
                                  lambda tmp: _compile_objects(flags, gen_dir, sources, tmp, workload.name))
    return [folder / f"{i}-{src.stem}.o" for i, src in enumerate(sources)], \
        f"zig {workloads.zig_version()} cc {' '.join(flags)} -c (objects, not linked)"


def _compile_objects(flags: list[str], gen_dir: Path, sources: list[Path], tmp: Path, name: str) -> None:
    tmp.mkdir(parents=True)
    for i, src in enumerate(sources):
        _zig([sys.executable, "-m", "ziglang", "cc", *flags, f"-I{gen_dir}", "-c", "-o", str(tmp / f"{i}-{src.stem}.o"),
              str(src)], name)


def _zig(argv: list[str], name: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise ArtefactError(f"native: building {name} failed: {_last_line(done.stderr)}")


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "(no message)"


def native_functions(found: list[Function], names: dict[int, str]) -> list[Function]:
    """Native symbols named as a wasm function is (each name once on either side) as that function; the rest apart."""
    wasm_count = Counter(names.values())
    index_of = {name: i for i, name in names.items() if name and wasm_count[name] == 1}
    native_count = Counter(f.name for f in found)
    out = []
    for f in found:
        index = index_of.get(f.name) if native_count[f.name] == 1 else None
        out.append(replace(f, index=index, name="", kind="wasm") if index is not None else f)
    return out


def native(subject) -> Artefact:
    """The native build's code of the bundled workload, its functions matched to the module's by name."""
    if subject.workload is None:
        raise ArtefactError("native: a user's .wasm has no native build (only a bundled workload's C can be "
                            "built natively)")
    functions = subject.functions()
    if not functions.has_names:
        raise ArtefactError("native: the module has no name section, so no native function can be matched to it")
    objects, flags = native_objects(subject.workload, subject.arch)
    defined = {i: functions.name(i) for i in functions.indices()}
    found = native_functions([f for obj in objects for f in read_elf_functions(obj.read_bytes())], defined)
    return Artefact("native", subject.arch, flags, tuple(found), calls_resolved=False)
