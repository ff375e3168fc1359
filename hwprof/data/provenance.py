"""Facts about the machine and tools that every number is tagged with."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import time
from pathlib import Path

from hwprof.data import __version__
from hwprof.data.cpu import identify


def read_text(path: str) -> str:
    """A sysfs/procfs value, or '' when it cannot be read."""
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def tool_version(argv: list[str], timeout: float = 10) -> str:
    """First line a tool prints for its version, or '' when it is missing or fails."""
    if not shutil.which(argv[0]):
        return ""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return ""
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else ""


def perf_version() -> str:
    """perf's version string, e.g. 'perf version 6.1.187', or ''."""
    return tool_version(["perf", "--version"])


def paranoid_level() -> int | None:
    """kernel.perf_event_paranoid, or None when unreadable."""
    text = read_text("/proc/sys/kernel/perf_event_paranoid")
    return int(text) if text.lstrip("-").isdigit() else None


def governor(cpu: int = 0) -> str:
    """The cpufreq governor of `cpu`, or '' (VMs often expose none)."""
    return read_text(f"/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor")


def machine(cpu: int | None = None, microarch: str = "") -> dict:
    """Provenance of this machine for measurements taken on logical CPU `cpu`."""
    ident = identify(cpu)
    return {
        "machine": socket.gethostname(),
        "cpu": ident.model_name,
        "cpu_id": ident.key,
        "microarch": microarch,
        "arch": platform.machine(),
        "kernel": platform.release(),
        "os": read_text("/etc/os-release").split("PRETTY_NAME=")[-1].split("\n")[0].strip('"'),
        "python": platform.python_version(),
        "perf_version": perf_version(),
        "perf_event_paranoid": paranoid_level(),
        "governor": governor(cpu or 0),
        "nproc": os.cpu_count(),
        "hwprof_version": __version__,
        "collected": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
