"""Workloads: bundled sources built to wasm32-wasi with `zig cc` (cached), or any .wasm given by path."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from hwprof.data.paths import cache_dir

HERE = Path(__file__).parent
WASM_MAGIC = b"\0asm"
OPT_LEVELS = ("-O2", "-O3", "-Os")


class WorkloadError(Exception):
    """A workload that does not exist, does not build or is not a wasm module."""


@dataclass(frozen=True)
class Workload:
    """A runnable .wasm and what it is."""

    name: str
    size: str
    wasm: Path
    suite: str = ""
    flags: str = ""
    bundled: bool = True


def catalogue() -> dict:
    """The bundled workloads' metadata (workloads.toml)."""
    return tomllib.loads((HERE / "workloads.toml").read_text())


def zig_version() -> str:
    """The version of the pip-installed zig toolchain."""
    done = subprocess.run([sys.executable, "-m", "ziglang", "version"], capture_output=True, text=True)
    if done.returncode != 0:
        raise WorkloadError("zig (pip package ziglang) is not usable: pip install ziglang")
    return done.stdout.strip()


def build(name: str, size: str, opt: str = "-O2") -> Workload:
    """Build a bundled workload at a dataset size to wasm32-wasi, reusing the cached artefact when inputs match."""
    cat = catalogue()
    spec = cat["workload"].get(name)
    if spec is None:
        raise WorkloadError(f"unknown workload {name!r} (bundled: {', '.join(cat['workload'])}; or give a path to a .wasm)")
    size = size.lower()
    if size not in cat["defaults"]["sizes"]:
        raise WorkloadError(f"unknown size {size!r} (choose from: {', '.join(cat['defaults']['sizes'])})")
    if opt not in OPT_LEVELS:
        raise WorkloadError(f"unknown optimisation level {opt!r} (choose from: {', '.join(OPT_LEVELS)})")
    source = HERE / spec["source"]
    flags = ["--target=wasm32-wasi", opt, "-s", "-ffp-contract=off", f"-D{size.upper()}_DATASET", "-lc"]
    inputs = hashlib.sha256()
    for f in sorted(source.parent.glob("*.h")) + [source]:
        inputs.update(f.name.encode() + f.read_bytes())
    version = zig_version()
    inputs.update(" ".join(flags + [version]).encode())
    key = inputs.hexdigest()[:16]
    out = cache_dir() / "wasm" / f"{name}-{size}-{opt[1:]}-{key}.wasm"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        argv = [sys.executable, "-m", "ziglang", "cc", *flags, "-o", str(tmp), str(source)]
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise WorkloadError(f"building {name} failed: {done.stderr.strip()[-500:]}")
        os.replace(tmp, out)
        out.with_suffix(".json").write_text(json.dumps({"argv": argv[3:], "zig": version}, indent=1))
    return Workload(name, size, out, spec["suite"], f"zig {version} cc {' '.join(flags)}")


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


def resolve(name_or_path: str, size: str, opt: str = "-O2") -> Workload:
    """A bundled workload by name, or a .wasm by path."""
    if name_or_path.endswith(".wasm") or os.sep in name_or_path:
        return from_path(name_or_path)
    return build(name_or_path, size, opt)
