"""The compiled phase-control helper (phasectl.c): built once per machine into the cache, loaded with ctypes."""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from hwprof.data.paths import cache_dir

SOURCE = Path(__file__).with_name("phasectl.c")
VALGRIND_HEADER = Path("/usr/include/valgrind/callgrind.h")
# Phase numbers shared with phasectl.c (the order is the C enum's).
PHASES = ("bootstrap", "compile", "instantiate", "execute", "startup")


def thread_affinities(pid: int | str = "self") -> dict[str, str]:
    """CPUs each thread of a process may run on ('Cpus_allowed_list' per task), as recorded provenance."""
    found = {}
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("Cpus_allowed_list:"):
                        found[tid] = line.split(":", 1)[1].strip()
        except OSError:
            continue
    return found


def tie_to_controller() -> bool:
    """Die with the process that started this host (PR_SET_PDEATHSIG); False if hwprof's controller is already gone.

    The check closes the race where the parent died before the prctl took hold: then nobody would end us.
    """
    ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
    controller = int(os.environ.get("HWPROF_CONTROLLER_PID", "0"))
    if controller:
        try:
            os.kill(controller, 0)
        except ProcessLookupError:
            return False
    return True


class HelperError(Exception):
    """The helper could not be built or loaded."""


def _compiler() -> list[str]:
    for cc in ("cc", "gcc", "clang"):
        if shutil.which(cc):
            return [cc]
    return [sys.executable, "-m", "ziglang", "cc"]


def build() -> Path:
    """Build (or find in the cache) the helper shared library for this machine."""
    with_valgrind = VALGRIND_HEADER.exists()
    digest = hashlib.sha256(SOURCE.read_bytes() + bytes([with_valgrind])).hexdigest()[:16]
    out = cache_dir() / "native" / f"phasectl-{digest}.so"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    defines = ["-DHWPROF_HAVE_VALGRIND"] if with_valgrind else []
    argv = _compiler() + ["-O2", "-shared", "-fPIC", *defines, "-o", str(tmp), str(SOURCE), "-ldl"]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise HelperError(f"building {SOURCE.name} failed: {done.stderr.strip().splitlines()[-1:]}")
    os.replace(tmp, out)
    return out


NODE_ADDON_SOURCE = Path(__file__).with_name("napi_phasectl.c")


def build_node_addon() -> Path:
    """Build (or find in the cache) the helper as a Node-API addon (.node) for the node runtime targets."""
    with_valgrind = VALGRIND_HEADER.exists()
    digest = hashlib.sha256(NODE_ADDON_SOURCE.read_bytes() + SOURCE.read_bytes() + bytes([with_valgrind]))
    out = cache_dir() / "native" / f"phasectl-napi-{digest.hexdigest()[:16]}.node"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    defines = ["-DHWPROF_HAVE_VALGRIND"] if with_valgrind else []
    # The napi_* symbols stay undefined here: the node executable that loads the addon defines them.
    argv = _compiler() + ["-O2", "-shared", "-fPIC", *defines, "-o", str(tmp), str(NODE_ADDON_SOURCE), str(SOURCE),
                          "-ldl"]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise HelperError(f"building {NODE_ADDON_SOURCE.name} failed: {done.stderr.strip().splitlines()[-1:]}")
    os.replace(tmp, out)
    return out


class PhaseControl:
    """Phase edges in the measured process, through the C helper."""

    def __init__(self, path: Path | None = None):
        self.lib = ctypes.CDLL(str(path or build()))
        self.lib.hwprof_begin.argtypes = [ctypes.c_int]
        self.lib.hwprof_end.argtypes = [ctypes.c_int]
        self.lib.hwprof_marks.argtypes = [ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int64), ctypes.c_int]
        self.lib.hwprof_init()

    def begin(self, phase: str) -> None:
        """Start counting `phase` (if this process counts it) and mark its start."""
        self.lib.hwprof_begin(PHASES.index(phase))

    def end(self, phase: str) -> None:
        """Mark the end of `phase` and stop counting it."""
        self.lib.hwprof_end(PHASES.index(phase))

    def marks(self) -> list[tuple[str, str, int]]:
        """Every edge so far as (phase, 'begin'|'end', CLOCK_MONOTONIC ns)."""
        codes = (ctypes.c_int * 4096)()
        ns = (ctypes.c_int64 * 4096)()
        n = self.lib.hwprof_marks(codes, ns, 4096)
        return [(PHASES[codes[i] // 2], "end" if codes[i] % 2 else "begin", ns[i]) for i in range(n)]

    def address(self, symbol: str) -> int:
        """The address of a helper function, to hand to a C API as a callback."""
        return ctypes.cast(getattr(self.lib, symbol), ctypes.c_void_p).value
