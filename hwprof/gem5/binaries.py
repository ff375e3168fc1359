"""Static binaries of a workload for gem5's SE mode: its C built natively, or its wasm2c AOT build.

Both mark the kernel with m5 ops: bench.start / bench.end become m5 work_begin / work_end
(m5markers.c), which hwprof's gem5 configurations turn into a statistics reset and dump. Builds are
static musl executables made by `zig cc` for x86-64 or aarch64 (cross-compiling where the host differs),
for the ISA's baseline CPU (gem5's x86 decodes no AVX), with symbols kept, cached like every workload
build. `markers="none"` builds the same program with no-op markers, which runs outside gem5.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from hwprof.data import buildcache
from hwprof.runtimes import wasm2c as w2c
from hwprof.runtimes import wasm2c_build
from hwprof.workloads import (
    build,
    catalogue,
    compile_flags,
    default_size,
    generate_inputs,
    sizes_of,
    zig_version,
)

HERE = Path(__file__).parent
MARKERS_C = HERE / "m5markers.c"
W2C_MAIN_C = HERE / "w2c_main.c"
KINDS = ("native", "wasm2c")
MARKERS = ("m5", "none")
# gem5 ISA name -> (zig target triple, baseline CPU flags)
ISAS = {"x86": ("x86_64-linux-musl", ["-mcpu=x86_64"]), "arm": ("aarch64-linux-musl", ["-mcpu=generic"])}
ISA_ALIASES = {"x86": "x86", "x86_64": "x86", "x86-64": "x86", "arm": "arm", "arm64": "arm", "aarch64": "arm"}
# wasm2c runtime configuration: explicit bounds checks and stack-depth counting, no signal handler. The
# linear memory is one mmap reserved up front, grown by mprotect (which gem5's SE mode ignores): with
# WASM_RT_USE_MMAP=0 it grows by realloc, musl's realloc calls mremap, and gem5 v24.0's mremap panics
# ("Tried to write unmapped address") once the moved mapping overlaps the old one.
W2C_DEFINES = ["-DWASM_RT_USE_MMAP=1", "-DWASM_RT_MEMCHECK_BOUNDS_CHECK=1", "-DWASM_RT_STACK_DEPTH_COUNT=1",
               "-DWASM_RT_GROW_FAILED_HANDLER=hwprof_w2c_grow_failed"]


class BinaryError(Exception):
    """A gem5 binary that cannot be built, with the one line that says why."""


def gem5_isa(isa: str) -> str:
    """gem5's name of an ISA ('x86' or 'arm') from any usual spelling."""
    try:
        return ISA_ALIASES[isa.lower()]
    except KeyError:
        raise BinaryError(f"unknown ISA {isa!r} (choose from: x86, arm)") from None


def _zig(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ziglang", "cc", *args], check=False, capture_output=True,
                          text=True, env={**os.environ, **(env or {})})


def _check_toolchain(isa: str) -> None:
    """Fail in one line when zig cannot link a static executable for the ISA."""
    triple = ISAS[isa][0]
    with tempfile.TemporaryDirectory(prefix="hwprof-gem5-probe-") as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text("int main(void) { return 0; }\n")
        done = _zig(["-target", triple, "-static", str(src), "-o", str(Path(tmp) / "probe")])
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise BinaryError(f"no {isa} toolchain: zig cc -target {triple} cannot link a static program ({last})")


def _cached(kind: str, name: str, size: str, isa: str, markers: str, inputs: list[Path], flags: list[str],
            make) -> Path:
    key = buildcache.digest([" ".join(flags + [zig_version()]), *inputs])

    def checked_make(tmp: Path) -> None:
        _check_toolchain(isa)
        make(tmp)

    record = {"kind": kind, "isa": isa, "markers": markers, "flags": flags, "zig": zig_version()}
    return buildcache.build("gem5", f"{name}-{size}-{kind}-{isa}-{markers}-{key}", checked_make, record)


def _marker_flags(markers: str) -> list[str]:
    return ["-DHWPROF_M5_NOOP"] if markers == "none" else []


def _native(name: str, spec: dict, size: str, isa: str, markers: str, opt: str) -> Path:
    triple, cpu = ISAS[isa]
    artefact_size = "any" if spec.get("size_arg") else size
    base = Path(spec["_dir"])
    sources = [base / s for s in spec.get("sources", [spec.get("source")])] + [MARKERS_C]
    # The workload's own flags for a native build, retargeted; symbols kept (-s dropped) for gem5 and tests.
    flags = [f for f in compile_flags(spec, artefact_size, opt, "native") if f != "-s"]
    flags[flags.index("-target") + 1] = triple
    flags += cpu + ["-DHWPROF_NATIVE_MARKERS", *_marker_flags(markers)]
    with tempfile.TemporaryDirectory(prefix="hwprof-gem5-gen-") as gen:
        gen_dir = Path(gen)
        generate_inputs(spec, gen_dir)
        generated = sorted(p for p in gen_dir.rglob("*") if p.is_file())
        headers = sorted(Path(__file__).parents[1].joinpath("workloads").rglob("*.h"))

        def make(tmp: Path) -> None:
            done = _zig([*flags, f"-I{gen_dir}", "-o", str(tmp), *map(str, sources), *spec.get("libs", [])])
            if done.returncode != 0:
                raise BinaryError(f"building {name} natively for {isa} failed: {done.stderr.strip()[-600:]}")

        return _cached("native", name, artefact_size, isa, markers, headers + sources + generated,
                       flags + list(spec.get("libs", [])), make)


def _wasm2c(name: str, size: str, isa: str, markers: str, opt: str) -> Path:
    triple, cpu = ISAS[isa]
    wabt = w2c.wabt()
    module = build(name, size, opt, "wasm").program
    runtime = wabt.runtime_dir()
    host = [runtime / s for s in w2c.RUNTIME_SOURCES] + [w2c.SOURCE_DIR / "wasi_host.c", W2C_MAIN_C, MARKERS_C]
    headers = sorted(runtime.glob("*.h")) + sorted(runtime.glob("*.inc")) + [w2c.SOURCE_DIR / "host.h",
                                                                             w2c.SOURCE_DIR / "run.h",
                                                                             w2c.SOURCE_DIR / "glue.c"]
    flags = ["-target", triple, "-static", *cpu, "-O2", "-g0", "-ffp-contract=off", *W2C_DEFINES,
             *_marker_flags(markers)]

    def make(tmp: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="hwprof-gem5-w2c-") as work:
            spec = {"wasm2c": str(wabt.get_executable("wasm2c")), "wasm": str(module), "build_dir": work,
                    "source_dir": str(w2c.SOURCE_DIR), "include_dirs": [str(runtime), str(wabt.include_dir())],
                    "cc": [sys.executable, "-m", "ziglang", "cc"], "cflags": flags,
                    "objects": [str(p) for p in host], "libs": ["-lm"], "out": str(tmp),
                    "env": {"ZIG_LOCAL_CACHE_DIR": str(Path(work) / "zig-cache")}}
            try:
                wasm2c_build.build(spec)
            except wasm2c_build.BuildError as exc:
                raise BinaryError(f"building {name} with wasm2c for {isa} failed: {exc}") from None

    return _cached("wasm2c", name, size, isa, markers, [module] + host + headers, flags, make)


def se_binary(workload: str, size: str | None, kind: str = "native", isa: str = "x86", markers: str = "m5",
              opt: str = "-O2") -> Path:
    """A static binary of a bundled workload for gem5 SE mode, its kernel bracketed by m5 work_begin/work_end."""
    if kind not in KINDS:
        raise BinaryError(f"unknown binary kind {kind!r} (choose from: {', '.join(KINDS)})")
    if markers not in MARKERS:
        raise BinaryError(f"unknown markers {markers!r} (choose from: {', '.join(MARKERS)})")
    isa = gem5_isa(isa)
    spec = catalogue()["workload"].get(workload)
    if spec is None:
        raise BinaryError(f"unknown workload {workload!r} (bundled: {', '.join(sorted(catalogue()['workload']))})")
    size = str(size or default_size(spec)).lower()
    if size not in sizes_of(spec):
        raise BinaryError(f"unknown size {size!r} for {workload} (choose from: {', '.join(sizes_of(spec))})")
    if kind == "native":
        return _native(workload, spec, size, isa, markers, opt)
    return _wasm2c(workload, size, isa, markers, opt)


def se_arguments(workload: str, size: str | None) -> list[str]:
    """The program arguments a workload's binary takes at a size (both kinds take the same)."""
    spec = catalogue()["workload"].get(workload)
    if spec is None:
        raise BinaryError(f"unknown workload {workload!r}")
    size = str(size or default_size(spec)).lower()
    return [*spec.get("args", []), *([size] if spec.get("size_arg") else [])]
