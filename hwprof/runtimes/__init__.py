"""Runtime targets: how a workload is run, and which phases the measured process can mark.

A runtime target is a small protocol:
- `probe()` -> its version, or RuntimeTargetError saying it is not installed and how to get it;
- `flags()` -> the settings that change its code, recorded on every row;
- `prepare(workload, workdir)` -> None, or a Prepared: ahead-of-time work (an AOT compile, wasm2c + a C
  compiler) whose command the counter backend measures as the phase its `ahead` declares;
- `command(job)` -> the argv of the measured process for one job;
- `outcome(job)` -> what that process reported (hosts write result.json in one shared format).
Its `phases` say which phases a run separates, `modes` whether it has a warm mode, `accepts` which of a
user's inputs (INPUTS) it can hand the module, `features` which wasm proposals it can enable, and
`stdin_via_process` whether the module reads the measured process's own standard input (else the host
opens the file itself). Embedded engines are classes here; command-line runtimes are data files in
targets/ (see command_line.py). A new one: a module and one line in RUNTIMES, or one file in targets/.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from hwprof.data import phases

PHASES = phases.HOSTED     # what an embedding host separates (hwprof/data/phases.py owns the names)
MODES = ("cold", "warm")
# What a user can give a module beyond its file (`collect -- ARGS`, --env, --stdin, --invoke, --dir,
# --unknown-imports trap); each target declares which it can pass on.
INPUTS = ("args", "env", "stdin", "invoke", "dirs", "unknown-imports", "args-with-invoke")
OPTION_OF = {"args": "program arguments (after --)", "env": "--env", "stdin": "--stdin", "invoke": "--invoke",
             "dirs": "--dir", "unknown-imports": "--unknown-imports trap",
             "args-with-invoke": "--arg with --invoke (argv beside the export's arguments)"}


class RuntimeTargetError(Exception):
    """A runtime target that is unknown, not installed, or cannot run what it was asked (an input, a mode, a phase)."""


@dataclass(frozen=True)
class Ahead:
    """A target's ahead-of-time work as it declares it: the phase it is measured as, and what bounds it."""

    phase: str                 # "compile" (wasm2c: the run has no compile of its own) or "aot_compile"
    marks: str | None = None   # the host phase that bounds the work (a host of ours); None: the whole process


@dataclass(frozen=True)
class Prepared:
    """Ahead-of-time work set up for one run: `argv` is measured as the target's Ahead phase."""

    argv: list[str]
    artefact: Path             # what the run loads (a serialized module, a native binary)


@dataclass(frozen=True)
class Inputs:
    """What the user gives the module: argv, environment, standard input, the export to call, import policy."""

    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    stdin: Path | None = None
    invoke: str = ""                                # an export to call instead of _start
    invoke_args: tuple[tuple[str, str], ...] = ()   # its arguments as (wasm type, text)
    invoke_returns: tuple[str, ...] = ()            # the wasm types it returns
    unknown_imports: str = ""                       # "trap": imports nobody defines trap when called
    dirs: tuple[tuple[str, str], ...] = ()          # (host, guest) folders; none unless asked

    def given(self) -> list[str]:
        """The kinds of input (INPUTS) this carries."""
        present = {"args": self.args, "env": self.env, "stdin": self.stdin, "invoke": self.invoke,
                   "dirs": self.dirs, "unknown-imports": self.unknown_imports,
                   "args-with-invoke": self.args and self.invoke}
        return [k for k in INPUTS if present[k]]

    def stdin_digest(self) -> str:
        """sha256 of the standard-input file (first 16 hex digits), '' without one."""
        if self.stdin is None:
            return ""
        digest = hashlib.sha256()
        with open(self.stdin, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()[:16]

    def label(self) -> str:
        """A short, stable description for every row: runs with different inputs never pool.

        Environment values and stdin bytes stay out (they may be secrets or large): names and a digest.
        """
        parts = []
        if self.args:
            parts.append("argv: " + shlex.join(self.args))
        if self.env:
            parts.append("env: " + ",".join(sorted(k for k, _ in self.env)) + f" #{_digest(repr(sorted(self.env)))}")
        if self.stdin is not None:
            parts.append(f"stdin: sha256:{self.stdin_digest()}")
        if self.invoke:
            parts.append(f"invoke: {self.invoke}({', '.join(v for _, v in self.invoke_args)})")
        if self.dirs:
            parts.append("dirs: " + ",".join(f"{h}::{g}" for h, g in self.dirs))
        if self.unknown_imports:
            parts.append(f"unknown-imports: {self.unknown_imports}")
        return "; ".join(parts)

    def to_dict(self) -> dict:
        """What provenance keeps: everything but environment values (names and a digest of the whole)."""
        return {"args": list(self.args), "env_names": sorted(k for k, _ in self.env),
                "env_digest": _digest(repr(sorted(self.env))) if self.env else "", "stdin": str(self.stdin or ""),
                "stdin_sha256": self.stdin_digest(), "invoke": self.invoke,
                "invoke_args": [list(a) for a in self.invoke_args], "unknown_imports": self.unknown_imports,
                "dirs": [list(d) for d in self.dirs]}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def check_inputs(runtime, inputs: Inputs, features: tuple[str, ...]) -> None:
    """Refuse, in one line, an input or a wasm proposal this target cannot pass on or enable."""
    for kind in inputs.given():
        if kind not in runtime.accepts:
            raise RuntimeTargetError(f"the {runtime.name} target cannot take {OPTION_OF[kind]}: "
                                f"{runtime.limits.get(kind, 'its host has no way to pass it on')}")
    lacking = [f for f in features if f not in runtime.features]
    if lacking:
        have = ", ".join(sorted(runtime.features)) or "none beyond Wasm 2.0"
        what = f"proposal {lacking[0]} is" if len(lacking) == 1 else f"proposals {', '.join(lacking)} are"
        raise RuntimeTargetError(f"the wasm {what} not supported by the {runtime.name} target (it can enable: {have})")


@dataclass(frozen=True)
class Job:
    """One measured process of one workload: cold (one invocation) or warm (several, one compile)."""

    program: Path                               # the module (.wasm), or the native target's executable
    workdir: Path
    cpu: int | None
    stop_after: str = "execute"
    args: tuple[str, ...] = ()
    dirs: tuple[tuple[str, str], ...] = ()     # (host, guest) preopens; none unless asked
    memory_limit: int = 4 << 30
    mode: str = "cold"
    invocations: int = 1                        # warm: instantiate + execute this many times
    prepared: Prepared | None = None
    inputs: Inputs = Inputs()                   # env, stdin, invoke, unknown imports (args and dirs above)
    features: tuple[str, ...] = ()              # wasm proposals to enable


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
    results: list = field(default_factory=list)    # what an --invoke'd export returned


class Runtime(Protocol):
    """The runtime-target protocol."""

    name: str
    phases: tuple[str, ...]
    modes: tuple[str, ...]
    accepts: frozenset[str]          # INPUTS it can pass on
    limits: dict[str, str]           # for the inputs it cannot take: why (one phrase)
    features: frozenset[str]         # wasm proposals it can enable
    stdin_via_process: bool          # the module reads the measured process's stdin (else a host opens it)
    confines_links: bool             # the runtime itself keeps a preopened folder's links inside it
    flavour: str                     # the build it runs: wasm, wasm-wasi-markers or native (workloads.FLAVOURS)
    ahead: Ahead | None              # its ahead-of-time work (what prepare() sets up), or None
    OPTIONS: tuple[str, ...]         # the keyword options its constructor takes (opt_level)

    def probe(self) -> str: ...

    def flags(self) -> str: ...

    def prepare(self, workload, workdir: Path) -> Prepared | None: ...

    def command(self, job: Job) -> list[str]: ...

    def outcome(self, job: Job) -> Outcome: ...

    def environment(self, job: Job) -> dict[str, str]: ...


RUNTIMES = {
    "wasmtime": "hwprof.runtimes.wasmtime:WasmtimeRuntime",
    "wasmtime-winch": "hwprof.runtimes.wasmtime:WinchRuntime",
    "wasmtime-aot": "hwprof.runtimes.wasmtime:AotRuntime",
    "wasmtime-pulley": "hwprof.runtimes.wasmtime:PulleyRuntime",
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
    from hwprof.runtimes import command_line

    return list(RUNTIMES) + [n for n in command_line.available() if n not in RUNTIMES]


def get(name: str, **options) -> Runtime:
    """Instantiate a runtime target by name (options a target does not take are ignored)."""
    if name in RUNTIMES:
        module, cls = RUNTIMES[name].split(":")
        target = getattr(importlib.import_module(module), cls)
        return target(**{k: v for k, v in options.items() if k in target.OPTIONS})
    from hwprof.runtimes import command_line

    if name in command_line.available():
        return command_line.load(name)
    raise RuntimeTargetError(f"unknown runtime {name!r} (choose from: {', '.join(names())})")


NO_REPORT = "the measured process ended without reporting"   # no result file: it crashed or was killed


def read_outcome(job: Job) -> Outcome:
    """Read the result file a host process wrote (hosts share this format)."""
    path = job.workdir / "result.json"
    stdout = (job.workdir / "stdout.txt").read_text(errors="replace") if (job.workdir / "stdout.txt").exists() else ""
    if not path.exists():
        return Outcome(ok=False, error=NO_REPORT, stdout=stdout)
    d = json.loads(path.read_text())
    failed = bool(d.get("error")) or (d.get("stage") != "done" and job.stop_after == "execute") \
        or d.get("exit_code") not in (None, 0)
    return Outcome(ok=not failed, stage=d.get("stage", ""), error=d.get("error") or "", exit_code=d.get("exit_code"),
                   boundary=d.get("boundary", ""), marks=[tuple(m) for m in d.get("marks", [])],
                   affinity=d.get("affinity", []), threads=d.get("threads", {}), stdout=stdout,
                   results=d.get("invoke_results", []))
