"""Runtime targets: how a workload is run, and which phases the measured process can mark.

A runtime is a small protocol: `probe` (installed? which version?), `flags`, `command` (the measured
process for one job) and `outcome` (what the process reported). Embedded engines are Python classes
here; CLI runtimes will be data files in targets/. Add one with a module and one line in RUNTIMES.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

PHASES = ("bootstrap", "compile", "instantiate", "execute")


class RuntimeError_(Exception):
    """A runtime that is unknown or not installed."""


@dataclass(frozen=True)
class Job:
    """One run of one workload in one measured process."""

    wasm: Path
    workdir: Path
    cpu: int | None
    stop_after: str = "execute"
    args: tuple[str, ...] = ()
    dirs: tuple[tuple[str, str], ...] = ()     # (host, guest) preopens; none unless asked
    memory_limit: int = 4 << 30


@dataclass
class Outcome:
    """What the measured process said about its run."""

    ok: bool
    stage: str = ""
    error: str = ""
    exit_code: int | None = None
    boundary: str = ""
    marks: list = field(default_factory=list)      # (phase, begin|end, monotonic ns)
    affinity: list = field(default_factory=list)
    threads: dict = field(default_factory=dict)
    stdout: str = ""


class Runtime(Protocol):
    """The runtime-target protocol."""

    name: str
    phases: tuple[str, ...]

    def probe(self) -> str: ...

    def flags(self) -> str: ...

    def command(self, job: Job) -> list[str]: ...

    def outcome(self, job: Job) -> Outcome: ...


RUNTIMES = {
    "wasmtime": "hwprof.runtimes.wasmtime:WasmtimeRuntime",
}


def get(name: str, **options) -> Runtime:
    """Instantiate a runtime target by name."""
    if name not in RUNTIMES:
        raise RuntimeError_(f"unknown runtime {name!r} (choose from: {', '.join(RUNTIMES)})")
    module, cls = RUNTIMES[name].split(":")
    return getattr(importlib.import_module(module), cls)(**options)


def read_outcome(job: Job) -> Outcome:
    """Read the result file a host process wrote (hosts share this format)."""
    path = job.workdir / "result.json"
    stdout = (job.workdir / "stdout.txt").read_text(errors="replace") if (job.workdir / "stdout.txt").exists() else ""
    if not path.exists():
        return Outcome(ok=False, error="the measured process ended without reporting", stdout=stdout)
    d = json.loads(path.read_text())
    failed = bool(d.get("error")) or (d.get("stage") != "done" and job.stop_after == "execute") \
        or d.get("exit_code") not in (None, 0)
    return Outcome(ok=not failed, stage=d.get("stage", ""), error=d.get("error") or "", exit_code=d.get("exit_code"),
                   boundary=d.get("boundary", ""), marks=[tuple(m) for m in d.get("marks", [])],
                   affinity=d.get("affinity", []), threads=d.get("threads", {}), stdout=stdout)
