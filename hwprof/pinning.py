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


def pin_child(cpu: int):
    """A preexec function that pins a child (and all it starts) to one CPU."""
    def _pin():
        os.sched_setaffinity(0, {cpu})
    return _pin
