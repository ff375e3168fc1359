"""The calibration loop: a fixed integer kernel of known cost, timed natively on the measured CPU.

Run just before and just after each measured process; how much slower it ran than the session's quietest
run measures the host's interference at that moment (noise.summarize turns it into a slowdown and a flag).
When the kernel cannot be built (no C compiler, no zig), there is no calibration: None, never a guess.
"""

from __future__ import annotations

import ctypes
import functools
import os
import time

# About 1.5 ms on the project's VMs (three dependent xor-shifts a step, ~2 ns a step).
ITERATIONS = 700_000
RUNS = 3   # back to back, the best kept: one preemption inside a run does not make the sample


@functools.lru_cache(maxsize=1)
def kernel():
    """The compiled kernel as a ctypes function (iterations -> final state), or None when it cannot be built."""
    from hwprof import native

    try:
        lib = ctypes.CDLL(str(native.build_calibration()))
    except (native.HelperError, OSError):
        return None
    fn = lib.hwprof_calibrate
    fn.argtypes, fn.restype = [ctypes.c_uint64], ctypes.c_uint64
    return fn


def run(iterations: int = ITERATIONS) -> int | None:
    """The kernel's result for `iterations` steps (the same every call), or None without a kernel."""
    fn = kernel()
    return None if fn is None else fn(iterations)


def time_ns(cpu: int | None, iterations: int = ITERATIONS, runs: int = RUNS) -> int | None:
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
        best = None
        for _ in range(runs):
            t0 = time.perf_counter_ns()
            fn(iterations)
            took = time.perf_counter_ns() - t0
            best = took if best is None else min(best, took)
        return best
    finally:
        if os.sched_getaffinity(0) != old:
            os.sched_setaffinity(0, old)
