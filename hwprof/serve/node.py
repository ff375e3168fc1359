"""The serving host's node target: V8 in one persistent node helper per worker (node_host.mjs beside this file).

The helper keeps each compiled WebAssembly.Module in its memory (held "memory", only that worker is warm for
it), with the measured `node` target's flags (hwprof.runtimes.node: V8's default lazy tiering on one thread),
so a served request and a profiled one run the same engine set-up. Compile is WebAssembly.compile (lazy: it
decodes and validates; Liftoff compiles each function on its first call, within instantiate or execute).
Every request is a fresh node:wasi and instance in the helper's runner thread, terminated at the time limit.
Node has no per-instance memory limit (--wasm-max-mem-pages is one cap for the whole process), so the module's
memories are capped before compiling (sections.with_memory_maximum): memory.grow past the limit fails.
A helper that dies takes its modules with it: the answer says so ("lost") and the host's cache forgets them.
"""

from __future__ import annotations

import os
from pathlib import Path

from hwprof.serve.child import Child, ChildLost

HOST = Path(__file__).with_name("node_host.mjs")
PAGE = 65536
START_S = 60.0      # for a helper to start and answer
GRACE_S = 5.0       # beyond a request's time limit, before the helper is given up for lost (the pool waits longer)


class CompileFailed(Exception):
    """V8 refused the module."""


def pages_of(memory_limit: int) -> int:
    """A memory limit in bytes as whole 64 KiB pages (the cap written into the module)."""
    return int(memory_limit) // PAGE


def capped_copy(job: dict, folder: Path) -> Path:
    """The job's module with its memories capped at its memory limit, written to a file of this process."""
    from hwprof.workloads.sections import with_memory_maximum

    capped = with_memory_maximum(Path(job["wasm"]).read_bytes(), pages_of(job["memory_limit"]))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{job['key']}.{os.getpid()}.wasm"
    path.write_bytes(capped)
    return path


class Node:
    """V8 through a persistent node helper: compiled modules in its memory, a fresh instance per request."""

    def __init__(self, target, artefacts: Path):
        from hwprof.runtimes.node import NODE_FLAGS, NodeRuntime, find_node

        runtime = NodeRuntime()
        self.target, self.dir = target, artefacts / target.name
        self.child = Child([find_node()[0], *NODE_FLAGS, *runtime.v8_flags(), str(HOST)],
                           {**os.environ, **runtime.environment(None)})
        self.held: dict[str, int] = {}       # key -> the memory cap (pages) its module was compiled with
        self.gone = False                    # the helper died since the last answer (what it held went)
        self.child.call({"op": "ping"}, START_S)     # started before the first compile, not on its clock

    def obtain(self, job: dict):
        """The module's key in the helper; compiled (capped at the job's memory limit) when it is not held."""
        key, pages = job["key"], pages_of(job["memory_limit"])
        if self.held.get(key) == pages and self.child.running:
            return key, False, None, ""
        path = capped_copy(job, self.dir)
        try:
            answer = self._call({"op": "compile", "key": key, "wasm": str(path)}, job)
        finally:
            path.unlink(missing_ok=True)
        if answer.get("error"):
            raise CompileFailed(answer["error"])
        self.held[key] = pages
        return key, True, int(answer["bytes"]), ""

    def drop(self, key: str) -> None:
        """Forget a module (the host evicted it): the helper lets go of it."""
        if self.held.pop(key, None) is not None and self.child.running:
            try:
                self.child.call({"op": "drop", "key": key}, GRACE_S)
            except ChildLost:
                self.held.clear()
                self.gone = True

    def run(self, key: str, job: dict, scratch: Path) -> dict:
        """One request: a fresh WASI and instance in the helper's runner thread, under the time limit."""
        message = {"op": "run", "key": key, "argv": [job["name"], *job.get("args", [])],
                   "stdout": str(scratch / "stdout.txt"), "stderr": str(scratch / "stderr.txt"),
                   "timeout_s": float(job["timeout_s"]), "memory_limit": int(job["memory_limit"])}
        answer = self._call(message, job)
        if self.gone:
            answer["lost"], self.gone = True, False
        return answer

    def _call(self, message: dict, job: dict) -> dict:
        if self.held and not self.child.running:     # it died between requests (the call starts another)
            self.held.clear()
            self.gone = True
        try:
            return self.child.call(message, float(job["timeout_s"]) + GRACE_S)
        except ChildLost as exc:
            self.held.clear()
            raise ChildLost(f"the node helper {exc}; the modules it held are gone") from None
