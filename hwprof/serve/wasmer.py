"""The serving host's wasmer target: wasmer-sdk (native Wasmer, Cranelift) in one helper process per worker.

What Wasmer keeps is its compiled-module cache on disk: the SDK writes each compiled module to a file named
by the module's hash, under a folder every worker shares (held "disk": any worker is warm for it; evicting
it deletes the file). Each request gets a fresh SDK client and sandbox in the helper (wasmer_host.py), so
nothing stays in the helper's memory between requests: compile_s is compiling and writing the file (cold)
or loading it (warm), execute_s is instantiation and _start (one SDK call: there is no instantiate phase).
The SDK cannot define host functions, so a bundled workload runs its wasm-wasi-markers build (its markers
find stdin empty and go on). Limits: linear memory capped in the module (its memory maximum lowered: the SDK
has no memory limit); time by the SDK's timeout, which ends the run but leaves its thread running the wasm,
so a timed-out helper is killed and the next request starts another (nothing held is lost: it is on disk).
"""

from __future__ import annotations

import sys
from pathlib import Path

from hwprof.serve.child import Child, ChildLost
from hwprof.serve.node import GRACE_S, START_S, CompileFailed, capped_copy


class Wasmer:
    """wasmer-sdk through a helper process: compiled modules in the SDK's on-disk cache, a fresh client per request."""

    def __init__(self, target, artefacts: Path):
        self.target, self.dir = target, artefacts / target.name
        self.child = Child([sys.executable, "-m", "hwprof.serve.wasmer_host", str(self.dir / "sdk-cache")])
        self.child.call({"op": "ping"}, START_S)     # started before the first compile, not on its clock

    def obtain(self, job: dict):
        """The module compiled into the SDK's cache (cold), or loaded from its file there (warm)."""
        path = capped_copy(job, self.dir)
        try:
            answer = self._call({"op": "compile", "wasm": str(path), "keep": job.get("op") != "compile"}, job)
        finally:
            path.unlink(missing_ok=True)
        if answer.get("error"):
            raise CompileFailed(answer["error"])
        return job["key"], bool(answer["cold"]), int(answer["bytes"]) if answer["cold"] else None, answer["path"]

    def drop(self, key: str) -> None:
        """Nothing in memory (the host deletes the file)."""

    def run(self, key: str, job: dict, scratch: Path) -> dict:
        """One request: _start in the helper's fresh client, under the SDK's timeout; a timed-out helper is killed."""
        answer = self._call({"op": "run", "argv": [job["name"], *job.get("args", [])],
                             "stdout": str(scratch / "stdout.txt"), "stderr": str(scratch / "stderr.txt"),
                             "timeout_s": float(job["timeout_s"])}, job)
        if answer.pop("restart", False):
            self.child.kill()             # its wasm thread is still running: only ending the process stops it
            self._call({"op": "ping"}, job)           # its successor starts now, not on the next request's clock
        return answer

    def _call(self, message: dict, job: dict) -> dict:
        try:
            return self.child.call(message, float(job["timeout_s"]) + GRACE_S)
        except ChildLost as exc:
            # Nothing it held is lost (the SDK's cache is on disk): an error for this request, not a lost holder.
            return {"exit_code": None, "error": f"the wasmer helper {exc}", "phases": {}}

