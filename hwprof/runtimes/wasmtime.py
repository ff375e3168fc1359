"""The in-process Wasmtime target (the wasmtime PyPI package), compiled by Cranelift."""

from __future__ import annotations

import json
import sys
from importlib import metadata

from hwprof.native import build as build_helper
from hwprof.runtimes import PHASES, Job, Outcome, RuntimeError_, read_outcome

OPT_LEVELS = ("none", "speed", "speed_and_size")


class WasmtimeRuntime:
    """Wasmtime embedded in a small Python host; markers and phase edges go through the C helper."""

    name = "wasmtime"
    phases = PHASES

    def __init__(self, opt_level: str = "speed", strategy: str = "cranelift"):
        if opt_level not in OPT_LEVELS:
            raise RuntimeError_(f"unknown Cranelift opt level {opt_level!r} (choose from: {', '.join(OPT_LEVELS)})")
        self.opt_level = opt_level
        self.strategy = strategy

    def probe(self) -> str:
        """The wasmtime package's version (raises when it is not installed)."""
        try:
            return metadata.version("wasmtime")
        except metadata.PackageNotFoundError:
            raise RuntimeError_("wasmtime is not installed: pip install wasmtime") from None

    def flags(self) -> str:
        """Engine settings that change the generated code or its measurement."""
        return f"strategy={self.strategy} opt_level={self.opt_level} parallel_compilation=false"

    def command(self, job: Job) -> list[str]:
        """Write the job file and return the host's argv."""
        spec = {
            "wasm": str(job.wasm), "cpu": job.cpu, "stop_after": job.stop_after, "args": list(job.args),
            "dirs": [list(d) for d in job.dirs], "memory_limit": job.memory_limit,
            "strategy": self.strategy, "opt_level": self.opt_level, "parallel_compilation": False,
            "helper": str(build_helper()), "stdout": str(job.workdir / "stdout.txt"),
            "stderr": str(job.workdir / "stderr.txt"), "result": str(job.workdir / "result.json"),
        }
        (job.workdir / "job.json").write_text(json.dumps(spec))
        return [sys.executable, "-m", "hwprof.runtimes.wasmtime_host", str(job.workdir / "job.json")]

    def outcome(self, job: Job) -> Outcome:
        """What the host reported."""
        return read_outcome(job)
