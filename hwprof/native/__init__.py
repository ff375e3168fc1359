"""The compiled phase-control helper (phasectl.c): built once per machine into the cache, loaded with ctypes."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

from hwprof.data import buildcache
from hwprof.data.phases import MARKED as PHASES
from hwprof.data.phases import number

SOURCE = Path(__file__).with_name("phasectl.c")
PHASES_HEADER = Path(__file__).with_name("hwprof_phases.h")   # generated from hwprof/data/phases.py
VALGRIND_HEADER = Path("/usr/include/valgrind/callgrind.h")


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


def _compile(what: Path, sources: list[Path], defines: list[str]):
    """Build a shared library from `sources` into the path make() is given."""
    def make(tmp: Path) -> None:
        # The napi_* symbols of the Node addon stay undefined here: the node executable that loads it defines them.
        argv = _compiler() + ["-O2", "-shared", "-fPIC", *defines, "-o", str(tmp), *map(str, sources), "-ldl"]
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            raise HelperError(f"building {what.name} failed: {done.stderr.strip().splitlines()[-1:]}")
    return make


def _helper(stem: str, sources: list[Path], suffix: str) -> Path:
    with_valgrind = VALGRIND_HEADER.exists()
    defines = ["-DHWPROF_HAVE_VALGRIND"] if with_valgrind else []
    key = buildcache.digest([*sources, PHASES_HEADER, bytes([with_valgrind])])
    return buildcache.build("native", f"{stem}-{key}{suffix}", _compile(sources[0], sources, defines))


def build() -> Path:
    """Build (or find in the cache) the helper shared library for this machine."""
    return _helper("phasectl", [SOURCE], ".so")


NODE_ADDON_SOURCE = Path(__file__).with_name("napi_phasectl.c")
CALIBRATION_SOURCE = Path(__file__).with_name("calibrate.c")


def build_calibration() -> Path:
    """Build (or find in the cache) the calibration kernel's shared library (calibrate.c)."""
    key = buildcache.digest([CALIBRATION_SOURCE])
    return buildcache.build("native", f"calibrate-{key}.so", _compile(CALIBRATION_SOURCE, [CALIBRATION_SOURCE], []))


def build_node_addon() -> Path:
    """Build (or find in the cache) the helper as a Node-API addon (.node) for the node runtime targets."""
    return _helper("phasectl-napi", [NODE_ADDON_SOURCE, SOURCE], ".node")


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
        self.lib.hwprof_begin(number(phase))

    def end(self, phase: str) -> None:
        """Mark the end of `phase` and stop counting it."""
        self.lib.hwprof_end(number(phase))

    def marks(self) -> list[tuple[str, str, int]]:
        """Every edge so far as (phase, 'begin'|'end', CLOCK_MONOTONIC ns)."""
        codes = (ctypes.c_int * 4096)()
        ns = (ctypes.c_int64 * 4096)()
        n = self.lib.hwprof_marks(codes, ns, 4096)
        return [(PHASES[codes[i] // 2], "end" if codes[i] % 2 else "begin", ns[i]) for i in range(n)]

    def address(self, symbol: str) -> int:
        """The address of a helper function, to hand to a C API as a callback."""
        return ctypes.cast(getattr(self.lib, symbol), ctypes.c_void_p).value
