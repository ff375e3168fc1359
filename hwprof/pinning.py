"""Which CPU the measured process runs on, keeping the controller off it, and one measurement per CPU."""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from pathlib import Path


class PinningError(Exception):
    """A CPU that cannot be used."""


AUTO = "auto"
# CPUs this controller has moved itself off to measure on them (keep_controller_off): still this process's to use.
_STEPPED_OFF: set[int] = set()


def allowed_cpus() -> list[int]:
    """The CPUs this process may measure on: its affinity, and the ones it keeps itself off while measuring."""
    return sorted(os.sched_getaffinity(0) | _STEPPED_OFF)


def choose_cpu(requested: int | str | None = None) -> int:
    """The CPU to measure on: the one asked for; "auto": the last allowed CPU no other hwprof is measuring on;
    else the last allowed CPU (the controller keeps the others)."""
    allowed = allowed_cpus()
    if requested == AUTO:
        free = [c for c in allowed if owner(c) is None]
        if not free:
            raise PinningError(f"--cpu auto: every allowed CPU ({allowed}) is being measured on by another hwprof")
        return free[-1]      # a plan's guess; collect() claims with claim_free_cpu(), which cannot race
    if requested is not None:
        if requested not in allowed:
            raise PinningError(f"CPU {requested} is not available to this process (allowed: {allowed})")
        return requested
    return allowed[-1]


def _lock_path(cpu: int) -> Path:
    return Path(tempfile.gettempdir()) / f"hwprof-cpu{cpu}.lock"


def owner(cpu: int) -> int | None:
    """The pid of the hwprof measuring on `cpu` now, or None."""
    try:
        fd = os.open(_lock_path(cpu), os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return None                   # nobody holds it
    except BlockingIOError:
        text = os.read(fd, 32).decode(errors="replace").strip()
        return int(text) if text.isdigit() else -1
    finally:
        os.close(fd)


class SharedCpuWarning(UserWarning):
    """Another hwprof measures on the same CPU: both measurements are disturbed."""


class CpuClaim:
    """This process measures on `cpu` until release(); `other` is the pid already measuring there, if any.

    The lock file is shared by every user of the machine: opened without O_CREAT when it exists (a sticky
    /tmp refuses O_CREAT on another user's file), read-only when it is not ours; flock works on either.
    """

    def __init__(self, cpu: int, wait_s: float = 0.5):
        self.cpu, self.other, self._fd = cpu, None, None
        path = _lock_path(cpu)
        fd = _open_lock(path)
        if fd is None:
            return                            # no lock can be had here: measure without one (nothing to warn)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:    # not a passing probe (owner() holds it for microseconds)
                    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
                    self.other = int(text) if text.isdigit() else -1
                    os.close(fd)
                    return
                time.sleep(0.02)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        except OSError:
            pass                              # a read-only lock (another user's file): held, pid not written
        self._fd = fd

    def warning(self) -> str:
        """What to tell the user when another hwprof measures on the same CPU ('' when none)."""
        if self.other is None:
            return ""
        who = f"pid {self.other}" if self.other > 0 else "pid unknown"
        return (f"another hwprof ({who}) is measuring on CPU {self.cpu} too: both measurements are "
                "disturbed; use --cpu auto (or another --cpu) to measure on a free CPU")

    def release(self) -> None:
        """Let others measure on this CPU."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _open_lock(path: Path) -> int | None:
    for flags in (os.O_RDWR, os.O_RDWR | os.O_CREAT, os.O_RDONLY):
        try:
            fd = os.open(path, flags, 0o666)
        except FileNotFoundError:
            continue
        except PermissionError:
            continue
        if flags & os.O_CREAT:
            try:
                os.fchmod(fd, 0o666)          # others may measure here too
            except OSError:
                pass
        return fd
    return None


def claim_free_cpu() -> CpuClaim:
    """Claim the last allowed CPU no other hwprof measures on (choosing and claiming at once: no race)."""
    allowed = sorted(os.sched_getaffinity(0))
    for cpu in reversed(allowed):
        claim = CpuClaim(cpu, wait_s=0)
        if claim.other is None:
            return claim
    raise PinningError(f"--cpu auto: every allowed CPU ({allowed}) is being measured on by another hwprof")


def keep_controller_off(cpu: int) -> set[int]:
    """Move this (controller) process off the measured CPU when another is allowed; returns the old affinity."""
    old = set(os.sched_getaffinity(0))
    others = old - {cpu}
    if others:
        os.sched_setaffinity(0, others)
        if cpu in old:
            _STEPPED_OFF.add(cpu)
    return old


def restore_controller(old: set[int]) -> None:
    """Undo keep_controller_off: the controller may run on `old` again."""
    os.sched_setaffinity(0, old)
    _STEPPED_OFF.difference_update(old)


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
