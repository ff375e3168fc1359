"""Wasmer through the wasmer-sdk PyPI package (native Wasmer, Cranelift), in one small Python host per process.

The SDK is a sandbox API, not an engine API: it has no host functions, no preopened host folders, no
memory limit and no compiler choice. So this target runs a workload's wasm-wasi-markers build (the plain
build imports bench.start, which the SDK refuses); its markers find no /hwprof in the sandbox and do
nothing, and the execute phase is bounded by the SDK's run call instead.
"""

from __future__ import annotations

import importlib.util
import json
import mmap
import re
import sys
from importlib import metadata
from pathlib import Path

from hwprof.native import build as build_helper
from hwprof.runtimes import MODES, Job, Outcome, Prepared, RuntimeTargetError, read_outcome


def _engine_facts() -> str:
    """Wasmer's commit and Cranelift's version, as built into the SDK's native library ('' if not found)."""
    spec = importlib.util.find_spec("wasmer_sdk")
    if spec is None or spec.origin is None:
        return ""
    library = Path(spec.origin).with_name("libwasmer_sdk_uniffi.so")
    if not library.exists():
        return ""
    with open(library, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        wasmer = re.search(rb"checkouts/wasmer-[0-9a-f]+/([0-9a-f]{7,40})/lib/compiler-cranelift", m)
        cranelift = re.search(rb"/cranelift-codegen-(\d+\.\d+\.\d+)/", m)
        parts = [f"wasmer {wasmer.group(1).decode()}" if wasmer else "",
                 f"cranelift-codegen {cranelift.group(1).decode()}" if cranelift else ""]
    return ", ".join(p for p in parts if p)


class WasmerRuntime:
    """Wasmer (Cranelift) embedded through wasmer-sdk; phase edges go through the C helper.

    Phases: bootstrap (Python, the SDK, its client and an empty sandbox); compile (packaging the module and
    the SDK's compile into its module cache, done by a run the SDK refuses at its WASI set-up, before any
    instantiation); execute, which includes instantiation: the SDK instantiates and calls _start in one
    call, so the two cannot be separated and there is no instantiate phase. Warm mode: one compile, then
    each invocation is a new WASI process and instance in the same sandbox, from the in-memory module cache.
    Linear memory is limited by RLIMIT_DATA during each run (the SDK has no memory limit), so a module may
    grow up to 64 MiB past the limit. Folders (`dirs`) are copied into the package at their guest paths:
    the module reads them, its writes stay in the sandbox. The SDK is used offline: modules come as bytes,
    the network is disabled, and its caches live in the job's folder.
    """

    name = "wasmer"
    phases = ("bootstrap", "compile", "execute")
    modes = MODES
    flavour = "wasm-wasi-markers"
    OPTIONS = ()
    ahead = None
    accepts = frozenset({"args", "env", "stdin", "dirs"})
    limits = {"invoke": "the SDK runs a module's _start only (a package command)",
              "unknown-imports": "the SDK defines WASI imports only and cannot add trapping ones"}
    features = frozenset({"simd"})   # Wasmer's defaults; the SDK has no switch for any other proposal
    stdin_via_process = False
    confines_links = False           # the host copies folders in: the controller checks them first

    def probe(self) -> str:
        """The wasmer-sdk package's version and the engine inside it (raises when it is not installed)."""
        try:
            version = metadata.version("wasmer-sdk")
        except metadata.PackageNotFoundError:
            raise RuntimeTargetError("wasmer-sdk is not installed: pip install wasmer-sdk") from None
        facts = _engine_facts()
        return f"{version} ({facts})" if facts else version

    def flags(self) -> str:
        """Engine settings that change the generated code or its measurement."""
        return ("compiler=cranelift opt_level=speed compile_threads=CPUs allowed (Wasmer's defaults, the SDK sets "
                "none) module_cache=empty per process execute=instantiate+_start (one SDK call) "
                "memory_limit=RLIMIT_DATA (data at run start + limit + 64 MiB) dirs=copied in")

    def prepare(self, workload, workdir: Path) -> Prepared | None:
        """Nothing ahead of time: the run compiles."""
        return None

    def spec(self, job: Job) -> dict:
        """The host's job description."""
        return {
            "wasm": str(job.program), "cpu": job.cpu, "stop_after": job.stop_after, "args": list(job.args),
            "dirs": [list(d) for d in job.dirs], "memory_limit": job.memory_limit, "mode": job.mode,
            "invocations": job.invocations, "helper": str(build_helper()), "cache": str(job.workdir / "wasmer-cache"),
            "env": [list(kv) for kv in job.inputs.env], "stdin": str(job.inputs.stdin or ""),
            "stdout": str(job.workdir / "stdout.txt"), "stderr": str(job.workdir / "stderr.txt"),
            "result": str(job.workdir / "result.json"),
        }

    def command(self, job: Job) -> list[str]:
        """Write the job file and return the host's argv."""
        (job.workdir / "job.json").write_text(json.dumps(self.spec(job)))
        return [sys.executable, "-m", "hwprof.runtimes.wasmer_host", str(job.workdir / "job.json")]

    def environment(self, job: Job) -> dict[str, str]:
        """Nothing beyond the measured process's environment (the host reads its job file)."""
        return {}

    def outcome(self, job: Job) -> Outcome:
        """What the host reported."""
        return read_outcome(job)
