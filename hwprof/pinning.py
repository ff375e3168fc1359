"""Which CPU the measured process runs on, and keeping the controller off it."""

from __future__ import annotations

import os


class PinningError(Exception):
    """A CPU that cannot be used."""


def choose_cpu(requested: int | None = None) -> int:
    """The CPU to measure on: the one asked for, else the last allowed CPU (the controller keeps the others)."""
    allowed = sorted(os.sched_getaffinity(0))
    if requested is not None:
        if requested not in allowed:
            raise PinningError(f"CPU {requested} is not available to this process (allowed: {allowed})")
        return requested
    return allowed[-1]


def keep_controller_off(cpu: int) -> set[int]:
    """Move this (controller) process off the measured CPU when another is allowed; returns the old affinity."""
    old = set(os.sched_getaffinity(0))
    others = old - {cpu}
    if others:
        os.sched_setaffinity(0, others)
    return old


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (a killed controller leaves no orphans)."""
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def pin_child(cpu: int):
    """A preexec function that pins a child (and all it starts) to one CPU and ties its life to ours."""
    def _pin():
        os.sched_setaffinity(0, {cpu})
        die_with_parent()
    return _pin
