"""Disturbances a test makes on purpose: a real-time hog pinned to a CPU, and a mover that breaks pinning."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

# Spins 0.5 ms, sleeps 0.5 ms: as SCHED_FIFO it preempts the loop whenever it wakes, yet never starves the CPU.
HOG = ("import time\nwhile True:\n t = time.perf_counter()\n while time.perf_counter() - t < 0.0005: pass\n"
       " time.sleep(0.0005)\n")


def realtime_hog(cpu: int) -> subprocess.Popen:
    """Start the duty-cycled SCHED_FIFO hog on `cpu` (skips the test where real-time scheduling is refused)."""
    def start():
        os.sched_setaffinity(0, {cpu})
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    try:
        return subprocess.Popen([sys.executable, "-c", HOG], preexec_fn=start)
    except (subprocess.SubprocessError, PermissionError) as e:
        pytest.skip(f"cannot start a real-time hog here: {e}")


@contextlib.contextmanager
def hogging(cpu: int):
    """The real-time hog on `cpu` for the body's whole length."""
    hog = realtime_hog(cpu)
    try:
        yield hog
    finally:
        hog.kill()
        hog.wait()


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                kids = {int(k) for k in (task / "children").read_text().split()}
            except (OSError, ValueError):
                continue
            todo += sorted(kids - found)
            found |= kids
    return found


@contextlib.contextmanager
def moving_descendants(cpus: tuple[int, int], every_s: float = 0.002):
    """Move every descendant of this process back and forth between two CPUs for the body's length."""
    if not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists():
        pytest.skip("this kernel has no /proc/PID/task/TID/children to find the measured tree")
    stop = threading.Event()
    moved = []

    def mover():
        turn = 0
        while not stop.wait(every_s):
            turn += 1
            for pid in _descendants(os.getpid()):
                try:
                    os.sched_setaffinity(pid, {cpus[turn % 2]})
                    moved.append(pid)
                except OSError:
                    pass            # it ended meanwhile
    thread = threading.Thread(target=mover, daemon=True)
    thread.start()
    try:
        yield moved
    finally:
        stop.set()
        thread.join()
