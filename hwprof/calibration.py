"""The calibration loop: a fixed integer kernel of known cost, timed natively on the measured CPU.

Run just before and just after each measured process; how much slower it ran than the session's quietest
run measures the host's interference at that moment (noise.summarize turns it into a slowdown and a flag).
Each calibration also pairs the time-stamp counter with CLOCK_MONOTONIC at its start and end, giving the
counter's rate over it; the rates before and after a process say how far the clocks drifted apart across it.
When the kernel cannot be built (no C compiler, no zig), there is no calibration: None, never a guess.
"""

from __future__ import annotations

import ctypes
import functools
import os
import time
from dataclasses import dataclass

# About 1.5 ms on the project's VMs (three dependent xor-shifts a step, ~2 ns a step).
ITERATIONS = 700_000
RUNS = 3   # back to back, the best kept: one preemption inside a run does not make the sample
STAMP_TRIES = 16   # counter/clock brackets per stamp, the narrowest kept


@dataclass(frozen=True)
class Calibration:
    """One calibration: the kernel's best time, and the counter's ticks per monotonic ns over it (None: no TSC)."""

    ns: int
    tsc_per_ns: float | None


@functools.lru_cache(maxsize=1)
def _lib():
    from hwprof import native

    try:
        lib = ctypes.CDLL(str(native.build_calibration()))
    except (native.HelperError, OSError):
        return None
    lib.hwprof_calibrate.argtypes, lib.hwprof_calibrate.restype = [ctypes.c_uint64], ctypes.c_uint64
    lib.hwprof_has_tsc.argtypes, lib.hwprof_has_tsc.restype = [], ctypes.c_int
    lib.hwprof_stamp.argtypes = [ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint64), ctypes.c_int]
    lib.hwprof_stamp.restype = ctypes.c_int64
    return lib


def kernel():
    """The compiled kernel as a ctypes function (iterations -> final state), or None when it cannot be built."""
    lib = _lib()
    return None if lib is None else lib.hwprof_calibrate


def run(iterations: int = ITERATIONS) -> int | None:
    """The kernel's result for `iterations` steps (the same every call), or None without a kernel."""
    fn = kernel()
    return None if fn is None else fn(iterations)


def stamp() -> tuple[int, int, int] | None:
    """(CLOCK_MONOTONIC ns, counter ticks, bracket width in ticks) read together, or None without a counter."""
    lib = _lib()
    if lib is None or not lib.hwprof_has_tsc():
        return None
    ticks, width = ctypes.c_uint64(), ctypes.c_uint64()
    ns = lib.hwprof_stamp(ctypes.byref(ticks), ctypes.byref(width), STAMP_TRIES)
    return None if ns < 0 else (ns, ticks.value, width.value)


def measure(cpu: int | None, iterations: int = ITERATIONS, runs: int = RUNS) -> Calibration | None:
    """The best of `runs` timings of the kernel on `cpu` (this thread moved there meanwhile), or None."""
    fn = kernel()
    if fn is None:
        return None
    old = os.sched_getaffinity(0)
    try:
        if cpu is not None and old != {cpu}:
            os.sched_setaffinity(0, {cpu})
    except OSError:
        return None                          # the CPU is not ours to run on: no calibration there
    try:
        first = stamp()
        best = None
        for _ in range(runs):
            t0 = time.perf_counter_ns()
            fn(iterations)
            took = time.perf_counter_ns() - t0
            best = took if best is None else min(best, took)
        last = stamp()
        rate = None
        if first and last and last[0] > first[0] and last[1] > first[1]:
            rate = (last[1] - first[1]) / (last[0] - first[0])
        return Calibration(best, rate)
    finally:
        if os.sched_getaffinity(0) != old:
            os.sched_setaffinity(0, old)


def time_ns(cpu: int | None, iterations: int = ITERATIONS, runs: int = RUNS) -> int | None:
    """The best of `runs` timings of the kernel on `cpu` (this thread moved there meanwhile), or None."""
    got = measure(cpu, iterations, runs)
    return None if got is None else got.ns
