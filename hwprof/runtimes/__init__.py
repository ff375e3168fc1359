"""Runtime targets: how a workload is run, and which phases the measured process can mark.

A runtime target is a small protocol:
- `probe()` -> its version, or RuntimeError_ saying it is not installed and how to get it;
- `flags()` -> the settings that change its code, recorded on every row;
- `prepare(workload, workdir)` -> None, or a Prepared: ahead-of-time work (an AOT compile, wasm2c + a C
  compiler) whose command the counter backend measures whole, as the phase it names;
- `command(job)` -> the argv of the measured process for one job;
- `outcome(job)` -> what that process reported (hosts write result.json in one shared format).
Its `phases` say which phases a run separates, `modes` whether it has a warm mode. Embedded engines are
classes here; command-line runtimes are data files in targets/ (see cli.py). A new one: a module and
one line in RUNTIMES, or one file in targets/.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

PHASES = ("bootstrap", "compile", "instantiate", "execute")
MODES = ("cold", "warm")


class RuntimeError_(Exception):
    """A runtime that is unknown or not installed."""


@dataclass(frozen=True)
class Prepared:
    """Ahead-of-time work done before a run: `argv` is measured as a whole process, as `phase`."""

    phase: str                 # "compile" (wasm2c: the run has no compile of its own) or "aot_compile"
    argv: list[str]
    artefact: Path             # what the run loads (a serialized module, a native binary)
    marks: str | None = None   # the host phase that bounds the work (a host of ours); None: the whole process


@dataclass(frozen=True)
class Job:
    """One measured process of one workload: cold (one invocation) or warm (several, one compile)."""

    wasm: Path
    workdir: Path
    cpu: int | None
    stop_after: str = "execute"
    args: tuple[str, ...] = ()
    dirs: tuple[tuple[str, str], ...] = ()     # (host, guest) preopens; none unless asked
    memory_limit: int = 4 << 30
    mode: str = "cold"
    invocations: int = 1                        # warm: instantiate + execute this many times
    prepared: Prepared | None = None


@dataclass
class Outcome:
    """What the measured process said about its run."""

    ok: bool
    stage: str = ""
    error: str = ""
    exit_code: int | None = None
    boundary: str = ""
    marks: list = field(default_factory=list)      # (phase, begin|end, monotonic ns), in order
    affinity: list = field(default_factory=list)
    threads: dict = field(default_factory=dict)
    stdout: str = ""


class Runtime(Protocol):
    """The runtime-target protocol."""

    name: str
    phases: tuple[str, ...]
    modes: tuple[str, ...]

    def probe(self) -> str: ...

    def flags(self) -> str: ...

    def prepare(self, workload, workdir: Path) -> Prepared | None: ...

    def command(self, job: Job) -> list[str]: ...

    def outcome(self, job: Job) -> Outcome: ...


RUNTIMES = {
    "wasmtime": "hwprof.runtimes.wasmtime:WasmtimeRuntime",
    "wasmtime-winch": "hwprof.runtimes.wasmtime:WinchRuntime",
    "wasmtime-aot": "hwprof.runtimes.wasmtime:AotRuntime",
    "native": "hwprof.runtimes.native:NativeRuntime",
    "wasmer": "hwprof.runtimes.wasmer:WasmerRuntime",
    "wasm2c-llvm": "hwprof.runtimes.wasm2c:Wasm2cRuntime",
    "wasm2c-gcc": "hwprof.runtimes.wasm2c:Wasm2cGccRuntime",
    "node": "hwprof.runtimes.node:NodeRuntime",
    "node-liftoff": "hwprof.runtimes.node:NodeLiftoffRuntime",
    "node-turbofan": "hwprof.runtimes.node:NodeTurbofanRuntime",
}


def names() -> list[str]:
    """Every target: the registered classes and the CLI runtimes described in targets/."""
    from hwprof.runtimes import cli

    return list(RUNTIMES) + [n for n in cli.available() if n not in RUNTIMES]


def get(name: str, **options) -> Runtime:
    """Instantiate a runtime target by name (options a target does not take are ignored)."""
    if name in RUNTIMES:
        module, cls = RUNTIMES[name].split(":")
        target = getattr(importlib.import_module(module), cls)
        accepted = getattr(target, "OPTIONS", ())
        return target(**{k: v for k, v in options.items() if k in accepted})
    from hwprof.runtimes import cli

    if name in cli.available():
        return cli.load(name)
    raise RuntimeError_(f"unknown runtime {name!r} (choose from: {', '.join(names())})")


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
