"""Wasmtime through the wasmtime PyPI package, in one small Python host per measured process.

Four targets: `wasmtime` (Cranelift at opt level none / speed / speed_and_size), `wasmtime-winch`
(the baseline compiler, strategy 2 of the C API), `wasmtime-pulley` (Wasmtime's interpreter: Cranelift
compiles to Pulley bytecode, `Config.target = "pulley64"`, which the interpreter runs) and `wasmtime-aot`
(compiled and serialized ahead of time in a separate process, measured as the phase aot_compile; the run
only deserializes it).

Proposals: every one Cranelift implements can be enabled; Winch cannot compile exceptions, GC,
function references or relaxed SIMD (Wasmtime 50 refuses such a Config), and Pulley has no threads.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

from hwprof.native import build as build_helper
from hwprof.runtimes import INPUTS, Ahead, MODES, PHASES, Job, Outcome, Prepared, RuntimeTargetError, read_outcome
from hwprof.workloads.module import FEATURES, feature_switches

OPT_LEVELS = ("none", "speed", "speed_and_size")
STRATEGIES = {"cranelift": 1, "winch": 2}


def _host(spec: dict, workdir: Path, name: str = "job.json") -> list[str]:
    (workdir / name).write_text(json.dumps(spec))
    return [sys.executable, "-m", "hwprof.runtimes.wasmtime_host", str(workdir / name)]


class WasmtimeRuntime:
    """Wasmtime embedded in a Python host; markers and phase edges go through the C helper."""

    name = "wasmtime"
    phases = PHASES
    modes = MODES
    flavour = "wasm"
    OPTIONS = ("opt_level",)
    ahead: Ahead | None = None
    strategy = "cranelift"
    isa = ""                                  # Config.target; "" is the host's own ISA
    accepts = frozenset(INPUTS)
    limits: dict[str, str] = {}
    features = frozenset(FEATURES)
    stdin_via_process = False
    confines_links = True            # cap-std: a path resolving outside a preopen is EPERM

    def __init__(self, opt_level: str = "speed"):
        if opt_level not in OPT_LEVELS:
            raise RuntimeTargetError(f"unknown Cranelift opt level {opt_level!r} (choose from: {', '.join(OPT_LEVELS)})")
        self.opt_level = opt_level

    def probe(self) -> str:
        """The wasmtime package's version (raises when it is not installed)."""
        try:
            return metadata.version("wasmtime")
        except metadata.PackageNotFoundError:
            raise RuntimeTargetError("wasmtime is not installed: pip install wasmtime") from None

    def flags(self) -> str:
        """Engine settings that change the generated code or its measurement."""
        level = f" opt_level={self.opt_level}" if self.strategy == "cranelift" else ""
        isa = f" target={self.isa}" if self.isa else ""
        return f"strategy={self.strategy}{level}{isa} parallel_compilation=false"

    def prepare(self, workload, workdir: Path) -> Prepared | None:
        """Nothing ahead of time: the run compiles."""
        return None

    def spec(self, job: Job) -> dict:
        """The host's job description."""
        return {
            "wasm": str(job.program), "cpu": job.cpu, "stop_after": job.stop_after, "args": list(job.args),
            "dirs": [list(d) for d in job.dirs], "memory_limit": job.memory_limit, "mode": job.mode,
            "invocations": job.invocations, "strategy": STRATEGIES[self.strategy], "opt_level": self.opt_level,
            "isa": self.isa, "feature_switches": feature_switches(job.features), "env": [list(kv) for kv in job.inputs.env],
            "stdin": str(job.inputs.stdin or ""), "invoke": job.inputs.invoke,
            "invoke_args": [list(a) for a in job.inputs.invoke_args], "unknown_imports": job.inputs.unknown_imports,
            "helper": str(build_helper()), "stdout": str(job.workdir / "stdout.txt"),
            "stderr": str(job.workdir / "stderr.txt"), "result": str(job.workdir / "result.json"),
        }

    def command(self, job: Job) -> list[str]:
        """Write the job file and return the host's argv."""
        return _host(self.spec(job), job.workdir)

    def environment(self, job: Job) -> dict[str, str]:
        """Nothing beyond the measured process's environment (the host reads its job file)."""
        return {}

    def outcome(self, job: Job) -> Outcome:
        """What the host reported."""
        return read_outcome(job)


class WinchRuntime(WasmtimeRuntime):
    """Wasmtime with Winch, its single-pass baseline compiler."""

    name = "wasmtime-winch"
    OPTIONS = ()
    strategy = "winch"
    features = frozenset(FEATURES) - {"exceptions", "gc", "function-references", "relaxed-simd"}

    def __init__(self):
        super().__init__("speed")


class PulleyRuntime(WasmtimeRuntime):
    """Wasmtime's interpreter: Cranelift compiles the module to Pulley bytecode, which Pulley interprets."""

    name = "wasmtime-pulley"
    isa = "pulley64"
    features = frozenset(FEATURES) - {"threads"}


class AotRuntime(WasmtimeRuntime):
    """Wasmtime ahead of time: compile and serialize in one process, deserialize and run in another."""

    name = "wasmtime-aot"
    ahead = Ahead("aot_compile", marks="compile")

    def prepare(self, workload, workdir: Path) -> Prepared | None:
        """A host that compiles the module and writes the serialized artefact; its compile phase is aot_compile."""
        artefact = workdir / "module.cwasm"
        job = Job(Path(workload.program), workdir, None, stop_after="compile")
        spec = {**self.spec(job), "serialize": str(artefact)}
        return Prepared(_host(spec, workdir, "aot-job.json"), artefact)

    def flags(self) -> str:
        """As wasmtime, plus how the module reaches the run."""
        return super().flags() + " aot=serialize/deserialize"

    def spec(self, job: Job) -> dict:
        """The run loads the artefact prepared ahead of time."""
        spec = super().spec(job)
        if job.prepared is not None:
            spec["load"] = str(job.prepared.artefact)
        return spec
