"""What `hwprof serve` is told: the host's settings (one frozen config) and the functions of its config file.

The config file is TOML, one table per function, paths relative to the file:

    [function.resize]
    wasm = "resize.wasm"       # a WASI command (its _start runs once per request)
    timeout_s = 5              # optional: this function's time limit (default: the host's)
    memory_limit = "64M"       # optional: this function's memory limit per instance (default: the host's)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from hwprof.serve.targets import DEFAULT_TARGETS, TARGETS

POLICIES = ("single", "tiered")
# How a Wasmtime request past its time limit is stopped. "kill": the worker process ends itself (after
# answering) and is restarted, losing the modules it held; the code runs as hwprof measures it. "epoch":
# epoch interruption traps the request and the worker keeps its modules, but the check it compiles into
# every loop slows the code (Cranelift's matmul 300: 29 ms -> 54 ms here), so profiles no longer fit.
STOPS = ("kill", "epoch")


class ServeConfigError(Exception):
    """A setting or a config file the host cannot use, with the one line that says why."""


def parse_size(text: str | int) -> int:
    """Bytes from '512K', '64M', '1G', '4096' (hwprof.data.units' spellings; binary units), as a config error."""
    from hwprof.data.units import SizeError, parse_size as size_of

    if isinstance(text, int):
        return text
    try:
        value = size_of(text)
    except SizeError as exc:
        raise ServeConfigError(f"not a size: {exc}") from None
    if value < 0:
        raise ServeConfigError(f"not a size: {text!r} is negative")
    return value


@dataclass(frozen=True)
class FunctionSpec:
    """A module named in the config file."""

    name: str
    wasm: Path
    timeout_s: float | None = None
    memory_limit: int | None = None


@dataclass(frozen=True)
class ServeConfig:
    """Everything the serving host needs to start."""

    host: str = "127.0.0.1"
    port: int = 8080                                  # 0: any free port (the listening line says which)
    functions: tuple[FunctionSpec, ...] = ()
    targets: tuple[str, ...] = DEFAULT_TARGETS        # the first is the default target
    memory_budget: int = 256 << 20                    # bytes of cached artefacts kept at once
    keep_alive_s: float | None = None                 # drop an artefact unused this long (None: only by budget)
    memory_limit: int = 256 << 20                     # linear memory per instance
    timeout_s: float = 30.0                           # per request
    workers: int = 2
    max_body: int = 64 << 10
    policy: str = "single"                            # tiered: serve by a fast tier while Cranelift compiles
    stop: str = "kill"                                # STOPS: how a Wasmtime request past its limit is stopped
    log: Path | None = None
    artefacts: Path | None = None                     # where on-disk artefacts go (default: a fresh temp folder)

    def __post_init__(self):
        unknown = [t for t in self.targets if t not in TARGETS]
        if unknown or not self.targets:
            raise ServeConfigError(f"unknown target {', '.join(unknown) or '(none given)'} "
                                   f"(choose from: {', '.join(TARGETS)})")
        for name in self.targets:
            why = TARGETS[name].missing() if TARGETS[name].missing else ""
            if why:
                raise ServeConfigError(f"target {name} cannot be served on this machine: {why}")
        if self.policy not in POLICIES:
            raise ServeConfigError(f"unknown policy {self.policy!r} (choose from: {', '.join(POLICIES)})")
        if self.stop not in STOPS:
            raise ServeConfigError(f"unknown --stop {self.stop!r} (choose from: {', '.join(STOPS)})")
        if self.workers < 1 or self.timeout_s <= 0:
            raise ServeConfigError("workers must be at least 1 and the time limit positive")


def read_functions(path: Path) -> tuple[FunctionSpec, ...]:
    """The functions a config file names, each checked to be a wasm module."""
    from hwprof.workloads import WorkloadError, catalogue, from_path

    try:
        doc = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ServeConfigError(f"{path}: {exc}") from None
    found = []
    for name, spec in doc.get("function", {}).items():
        if name in catalogue()["workload"]:
            raise ServeConfigError(f"{path}: function {name!r} has a bundled workload's name")
        if not isinstance(spec, dict) or "wasm" not in spec:
            raise ServeConfigError(f"{path}: function {name!r} names no wasm file (wasm = \"...\")")
        wasm = (Path(path).parent / spec["wasm"]).resolve()
        try:
            from_path(wasm)
        except WorkloadError as exc:
            raise ServeConfigError(f"{path}: function {name!r}: {exc}") from None
        limit = spec.get("memory_limit")
        found.append(FunctionSpec(name, wasm, float(spec["timeout_s"]) if "timeout_s" in spec else None,
                                  parse_size(limit) if limit is not None else None))
    return tuple(found)
