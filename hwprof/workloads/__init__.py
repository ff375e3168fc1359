"""Workloads: bundled C sources built to wasm32-wasi (and natively) with `zig cc`, cached; or any .wasm by path.

The catalogue is every `*.toml` below this folder: `[workload.NAME]` tables (see workloads.toml for the
fields). A build is keyed by the hash of its sources, every header, generated inputs, flags and the
zig version, so a rebuild with the same inputs is skipped and gives the same bytes.
"""

from __future__ import annotations

import importlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hwprof.data import buildcache
from hwprof.data.paths import cache_dir
from hwprof.workloads.sections import with_name_section

HERE = Path(__file__).parent
PHASECTL = HERE.parent / "native" / "phasectl.c"
VALGRIND_INCLUDE = Path("/usr/include/valgrind")
WASM_MAGIC = b"\0asm"
OPT_LEVELS = ("-O2", "-O3", "-Os")
PRESETS = ("mini", "small", "medium", "large", "extralarge")
FLAVOURS = {
    "wasm": ["--target=wasm32-wasi"],
    # For runtimes that cannot define the bench imports: markers through a FIFO in /hwprof (see hwprof_bench.h).
    "wasm-wasi-markers": ["--target=wasm32-wasi", "-DHWPROF_WASI_MARKERS"],
    # musl natively: the same libm as wasi-libc, so transcendental results agree bit for bit with wasm.
    "native": ["-target", f"{platform.machine()}-linux-musl", "-static"],
}


class WorkloadError(Exception):
    """A workload that does not exist, does not build or is not a wasm module."""


@dataclass(frozen=True)
class Workload:
    """A runnable artefact and what it is."""

    name: str
    size: str
    program: Path                   # the built module (.wasm), or the executable of a native build
    suite: str = ""
    flags: str = ""
    bundled: bool = True
    args: tuple[str, ...] = ()
    flavour: str = "wasm"           # which build: one of FLAVOURS
    expected: str = ""


@lru_cache(maxsize=1)
def _catalogue_cached(stamp: tuple) -> dict:
    merged: dict = {"defaults": {}, "workload": {}}
    for path in sorted(HERE.rglob("*.toml")):
        doc = tomllib.loads(path.read_text())
        merged["defaults"].update(doc.get("defaults", {}))
        for name, spec in doc.get("workload", {}).items():
            if name in merged["workload"]:
                raise WorkloadError(f"workload {name!r} is defined twice (second time in {path.name})")
            merged["workload"][name] = {**spec, "_dir": str(path.parent)}
    return merged


def catalogue() -> dict:
    """Every bundled workload's metadata, merged from the *.toml files below hwprof/workloads."""
    stamp = tuple((str(p), p.stat().st_mtime_ns) for p in sorted(HERE.rglob("*.toml")))
    return _catalogue_cached(stamp)


def sizes_of(spec: dict) -> list[str]:
    """The sizes a workload accepts."""
    return [str(s) for s in spec.get("sizes", PRESETS)]


def default_size(spec: dict) -> str:
    """The size used when none is asked for."""
    return str(spec.get("default_size", "medium" if "medium" in sizes_of(spec) else sizes_of(spec)[0]))


@lru_cache(maxsize=1)
def zig_version() -> str:
    """The version of the pip-installed zig toolchain."""
    done = subprocess.run([sys.executable, "-m", "ziglang", "version"], capture_output=True, text=True)
    if done.returncode != 0:
        raise WorkloadError("zig (pip package ziglang) is not usable: pip install ziglang")
    return done.stdout.strip()


def generate_inputs(spec: dict, outdir: Path) -> None:
    """Run the workload's build-time generator (e.g. convert a packaged image to a C header)."""
    if spec.get("generate"):
        module, func = spec["generate"].split(":")
        getattr(importlib.import_module(module), func)(outdir)


def compile_flags(spec: dict, size: str, opt: str, flavour: str) -> list[str]:
    """The zig cc flags of one artefact: target, optimisation, strict FP contraction, size macros."""
    flags = FLAVOURS[flavour] + [opt, "-s", "-ffp-contract=off", "-std=c11"]
    if spec.get("size_macro", "sizes" not in spec):
        flags.append(f"-D{size.upper()}_DATASET")
    flags += list(spec.get("cflags", []))
    return flags


def build(name: str, size: str | None = None, opt: str = "-O2", flavour: str = "wasm") -> Workload:
    """Build a bundled workload at a size, to wasm32-wasi or natively, reusing the cache when inputs match."""
    spec = catalogue()["workload"].get(name)
    if spec is None:
        known = ", ".join(sorted(catalogue()["workload"]))
        raise WorkloadError(f"unknown workload {name!r} (bundled: {known}; or give a path to a .wasm)")
    size = str(size or default_size(spec)).lower()
    if size not in sizes_of(spec):
        raise WorkloadError(f"unknown size {size!r} for {name} (choose from: {', '.join(sizes_of(spec))})")
    if opt not in OPT_LEVELS:
        raise WorkloadError(f"unknown optimisation level {opt!r} (choose from: {', '.join(OPT_LEVELS)})")
    if flavour not in FLAVOURS:
        raise WorkloadError(f"unknown build flavour {flavour!r} (choose from: {', '.join(FLAVOURS)})")
    base = Path(spec["_dir"])
    sources = [base / s for s in spec.get("sources", [spec.get("source")])]
    if flavour == "native":
        sources.append(PHASECTL)   # bench_start/bench_end natively: the phase-control helper, linked in
    artefact_size = "any" if spec.get("size_arg") else size
    with tempfile.TemporaryDirectory(prefix="hwprof-gen-") as gen:
        gen_dir = Path(gen)
        generate_inputs(spec, gen_dir)
        flags = compile_flags(spec, artefact_size, opt, flavour)
        if flavour == "native":
            flags.append("-DHWPROF_NATIVE_MARKERS")
            if (VALGRIND_INCLUDE / "callgrind.h").exists():
                # Only valgrind's own headers, not the host's libc ones, beside the musl target's.
                (gen_dir / "valgrind").symlink_to(VALGRIND_INCLUDE)
                flags.append("-DHWPROF_HAVE_VALGRIND")
        flags.append(f"-I{gen_dir}")
        version = zig_version()
        inputs = sorted(HERE.rglob("*.h")) + sources + sorted(p for p in gen_dir.rglob("*") if p.is_file())
        suffix = ".wasm" if flavour.startswith("wasm") else ""
        named = ["+ name section of a link without -s"] if suffix else []
        key = buildcache.digest([*inputs, " ".join(flags[:-1] + [version] + list(spec.get("libs", [])) + named)])
        argv_of = lambda tmp, strip=True: [sys.executable, "-m", "ziglang", "cc",
                                           *[f for f in flags if strip or f != "-s"], "-o", str(tmp),
                                           *map(str, sources), *spec.get("libs", [])]

        def make(tmp: Path) -> None:
            done = subprocess.run(argv_of(tmp), capture_output=True, text=True)
            if done.returncode != 0:
                raise WorkloadError(f"building {name} ({flavour}) failed: {done.stderr.strip()[-800:]}")
            if suffix:
                # The function names, from a second link without -s (sections.py: why not simply drop -s).
                unstripped = tmp.with_name(tmp.name + ".names")
                try:
                    if subprocess.run(argv_of(unstripped, strip=False), capture_output=True).returncode == 0:
                        tmp.write_bytes(with_name_section(tmp.read_bytes(), unstripped.read_bytes()))
                finally:
                    unstripped.unlink(missing_ok=True)

        record = {"argv": [*flags, "-o", "OUT"], "sources": [str(s) for s in sources], "zig": version, "flavour": flavour,
                  **({"name_section": "from the same link without -s"} if suffix else {})}
        out = buildcache.build(flavour, f"{name}-{artefact_size}-{opt[1:]}-{key}{suffix}", make, record)
    shown = [f for f in flags[:-1]]
    args = (size,) if spec.get("size_arg") else ()
    return Workload(name, size, out, spec.get("suite", ""), f"zig {version} cc {' '.join(shown)}", True,
                    tuple(spec.get("args", [])) + args, flavour, str(spec.get("expected", {}).get(size, "")))


def from_path(path: str | os.PathLike) -> Workload:
    """A user's .wasm file, checked to exist and to start like a wasm module."""
    p = Path(path)
    if not p.exists():
        raise WorkloadError(f"{p}: no such file")
    if not p.is_file():
        raise WorkloadError(f"{p}: not a file")
    with p.open("rb") as f:
        head = f.read(8)
    if head[:4] != WASM_MAGIC:
        raise WorkloadError(f"{p}: not a WebAssembly module (no \\0asm magic)")
    if len(head) < 8:
        raise WorkloadError(f"{p}: truncated WebAssembly module ({len(head)} bytes)")
    return Workload(p.stem, "", p.resolve(), "", "", bundled=False)


def resolve(name_or_path: str, size: str | None, opt: str = "-O2") -> Workload:
    """A bundled workload by name, or a .wasm by path."""
    if name_or_path.endswith(".wasm") or os.sep in name_or_path:
        return from_path(name_or_path)
    return build(name_or_path, size, opt)


def run_native(workload: Workload, args: tuple[str, ...] = (), timeout: float = 600,
               env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a native build and return the finished process (its markers only keep time unless told more)."""
    if workload.flavour != "native":
        raise WorkloadError(f"{workload.name} is a {workload.flavour} build, not native")
    return subprocess.run([str(workload.program), *workload.args, *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def native_execute_seconds(workload: Workload, timeout: float = 600) -> float:
    """Run a native build once and return the time between its bench.start and bench.end."""
    with tempfile.TemporaryDirectory(prefix="hwprof-marks-") as tmp:
        marks = Path(tmp) / "marks.txt"
        done = run_native(workload, timeout=timeout, env={"HWPROF_MARKS_OUT": str(marks)})
        if done.returncode != 0:
            raise WorkloadError(f"{workload.name}: native run failed: {done.stderr.strip()[-300:]}")
        edges = [line.split() for line in marks.read_text().splitlines()] if marks.exists() else []
    begin = [int(ns) for phase, edge, ns in edges if phase == "execute" and edge == "begin"]
    end = [int(ns) for phase, edge, ns in edges if phase == "execute" and edge == "end"]
    if not begin or len(begin) != len(end):
        raise WorkloadError(f"{workload.name}: the native build did not mark its kernel")
    return sum(e - b for b, e in zip(begin, end)) / 1e9


def checksum_of(stdout: str) -> str:
    """The value of a workload's 'checksum:' line ('' when it printed none)."""
    lines = [ln for ln in stdout.splitlines() if ln.startswith("checksum:")]
    return lines[-1].split(":", 1)[1].strip() if lines else ""


def build_all(names: list[str] | None = None, sizes: list[str] | None = None, opts: tuple[str, ...] = ("-O2",),
              flavours: tuple[str, ...] = ("wasm", "native"), progress=None) -> list[Workload]:
    """Build many workloads (default: every one, every size, wasm and native); cached builds are reused."""
    cat = catalogue()["workload"]
    for n in names or []:
        if n not in cat:
            raise WorkloadError(f"unknown workload {n!r} (bundled: {', '.join(sorted(cat))})")
    jobs = []
    for name in names or sorted(cat):
        wanted = sizes or sizes_of(cat[name])
        for size in [sz for sz in sizes_of(cat[name]) if sz in wanted]:
            if cat[name].get("size_arg") and size != sizes_of(cat[name])[0]:
                continue  # one artefact serves every size
            jobs += [(name, size, opt, flavour) for opt in opts for flavour in flavours]
    built = []
    for i, (name, size, opt, flavour) in enumerate(jobs, 1):
        if progress:
            progress(f"[{i}/{len(jobs)}] {name} {size} {opt} {flavour}")
        built.append(build(name, size, opt, flavour))
    return built


def clean_cache() -> None:
    """Remove every built artefact."""
    for flavour in FLAVOURS:
        shutil.rmtree(cache_dir() / flavour, ignore_errors=True)
