"""A worker process of the serving host: `python -m hwprof.serve.worker SCRATCH ARTEFACTS`.

It reads one JSON job per line on stdin and answers one JSON line on stdout, one job at a time. It keeps
what its targets compiled (a wasmtime.Module per function in memory; WebAssembly.Modules in its node helper,
node.py; files under ARTEFACTS for the disk targets, wasmer's in the SDK's cache, wasmer.py), runs every
request in a fresh store and instance (a fresh process for wasm2c), with WASI that has argv and stdio only
(no folders, no environment, no sockets), a linear-memory limit (Wasmtime's store limiter; wasm2c's
--memory-limit; the module's memory maximum lowered for node and wasmer) and a time limit (Wasmtime: this
process answers and ends itself, or epoch interruption with `--stop epoch`; a killed process for wasm2c, a
terminated runner thread for node, a killed helper for wasmer).

Job: {"op": "run" | "compile", "target", "key" (the wasm's digest), "wasm", "name", "args", "timeout_s",
"memory_limit", "stop" (config.STOPS), "evict": [[key, target], ...]}. Answer: {"cold", "bytes", "path",
"phases", "stdout_tail", "exit_code", "error", "lost", "restart"}; "lost": a helper died, and what this worker
held for the target went with it; "restart": this worker ended itself at a time limit (it held nothing more).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from hwprof.serve.child import ChildLost
from hwprof.serve.node import Node
from hwprof.serve.targets import TARGETS
from hwprof.serve.wasmer import Wasmer

TAIL = 4096


def _tail(path: Path) -> str:
    if not path.exists():
        return ""
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - TAIL))
        return f.read().decode(errors="replace")


class Wasmtime:
    """A Wasmtime engine and the modules it compiled, in this process's memory."""

    def __init__(self, target, artefacts: Path, stop: str = "kill"):
        import wasmtime

        from hwprof.runtimes.wasmtime_host import make_engine

        self.wt, self.target, self.modules = wasmtime, target, {}
        # The time limit (config.STOPS). epoch: a timer bumps the epoch and the running code traps (a check in
        # every loop); kill: the engine is the one hwprof measures, and a timer ends this worker (give_up).
        self.epoch = stop == "epoch"
        switches = ["epoch_interruption"] if self.epoch else []
        self.engine = make_engine(wasmtime, {**target.engine, "feature_switches": switches})
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()
        for marker in ("start", "end"):      # the bundled workloads' phase markers: nothing to mark here
            self.linker.define_func("bench", marker, wasmtime.FuncType([], []), lambda: None)
        self.dir = artefacts / target.name

    def obtain(self, job: dict):
        """The compiled module, whether it had to be compiled, its size in bytes and where it is kept."""
        module = self.modules.get(job["key"])
        if module is not None:
            return module, False, None, ""
        module = self.wt.Module.from_file(self.engine, job["wasm"])
        self.modules[job["key"]] = module
        return module, True, len(module.serialize()), ""

    def drop(self, key: str) -> None:
        """Forget a module (the host evicted it)."""
        self.modules.pop(key, None)

    def run(self, module, job: dict, scratch: Path) -> dict:
        """One request: a fresh store and instance, _start under the time and memory limits."""
        wt = self.wt
        store = wt.Store(self.engine)
        store.set_limits(memory_size=int(job["memory_limit"]))
        if self.epoch:
            store.set_epoch_deadline(1)
        wasi = wt.WasiConfig()
        wasi.argv = [job["name"], *job.get("args", [])]
        wasi.stdout_file, wasi.stderr_file = str(scratch / "stdout.txt"), str(scratch / "stderr.txt")
        store.set_wasi(wasi)
        out = {"exit_code": None, "error": None, "phases": {}}
        timer = threading.Timer(float(job["timeout_s"]), self.engine.increment_epoch if self.epoch else give_up,
                                args=() if self.epoch else (job,))
        instance = None
        try:
            t0 = time.perf_counter()
            instance = self.linker.instantiate(store, module)
            t1 = time.perf_counter()
            out["phases"]["instantiate_s"] = t1 - t0
            start = instance.exports(store).get("_start")
            if start is None:
                raise wt.WasmtimeError("the module exports no _start function (not a WASI command)")
            timer.start()
            try:
                start(store)
                out["exit_code"] = 0
            except wt.ExitTrap as exc:
                out["exit_code"] = exc.code
                if exc.code:
                    out["error"] = f"the function exited with status {exc.code}"
            finally:
                out["phases"]["execute_s"] = time.perf_counter() - t1
        except wt.Trap as exc:
            out["error"] = self._trap_line(exc, store, instance, job)
        except wt.WasmtimeError as exc:
            out["error"] = _one_line(exc)
        finally:
            timer.cancel()
        return out

    def _trap_line(self, exc, store, instance, job: dict) -> str:
        if exc.trap_code == self.wt.TrapCode.INTERRUPT:
            return f"time limit: the function ran past {job['timeout_s']:g} s and was stopped"
        line = f"wasm trap: {_one_line(exc)}"
        memory = instance.exports(store).get("memory") if instance is not None else None
        if isinstance(memory, self.wt.Memory):
            size, limit = memory.data_len(store), int(job["memory_limit"])
            if limit - (1 << 20) < size <= limit:     # within a megabyte of the limit: a grow was refused
                line += f" (memory limit: linear memory at {size} of its {limit} bytes)"
        return line


class WasmtimeAot(Wasmtime):
    """Wasmtime ahead of time: serialized once to disk, deserialized from the file for every request."""

    def obtain(self, job: dict):
        """The module loaded from its file; compiled and written first when the file is missing (cold)."""
        path = self.dir / f"{job['key']}.cwasm"
        if path.exists():
            try:
                return self.wt.Module.deserialize_file(self.engine, str(path)), False, None, str(path)
            except (self.wt.WasmtimeError, OSError):
                pass                     # evicted between the check and the load: compile again
        module = self.wt.Module.from_file(self.engine, job["wasm"])
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(module.serialize())
        os.replace(tmp, path)
        return self.wt.Module.deserialize_file(self.engine, str(path)), True, path.stat().st_size, str(path)

    def drop(self, key: str) -> None:
        """Nothing in memory (the host deletes the file)."""


class Wasm2c:
    """wasm2c + a C compiler: an executable on disk per module, one process per request."""

    def __init__(self, target, artefacts: Path):
        self.target, self.dir = target, artefacts / target.name

    def obtain(self, job: dict):
        """The executable's path; built (wasm2c, then the C compiler) when it is missing (cold)."""
        exe = self.dir / f"{job['key']}.exe"
        if exe.exists():
            return exe, False, None, str(exe)
        from hwprof.runtimes.wasm2c import Wasm2cRuntime

        work = self.dir / f"build-{job['key']}-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            prepared = Wasm2cRuntime().prepare(SimpleNamespace(program=Path(job["wasm"])), work)
            done = subprocess.run(prepared.argv, capture_output=True, text=True)
            if done.returncode != 0:
                raise BuildFailed(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "build failed")
            os.replace(prepared.artefact, exe)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return exe, True, exe.stat().st_size, str(exe)

    def drop(self, key: str) -> None:
        """Nothing in memory (the host deletes the file)."""

    def run(self, exe: Path, job: dict, scratch: Path) -> dict:
        """One request: the executable in a fresh process, killed at the time limit."""
        result = scratch / "result.json"
        result.unlink(missing_ok=True)
        argv = [str(exe), "--result", str(result), "--stdout", str(scratch / "stdout.txt"),
                "--stderr", str(scratch / "stderr.txt"), "--memory-limit", str(int(job["memory_limit"])),
                "--name", job["name"], "--", *job.get("args", [])]
        out = {"exit_code": None, "error": None, "phases": {}}
        t0 = time.perf_counter()
        try:
            subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=float(job["timeout_s"]),
                           env={"PATH": os.environ.get("PATH", "")})
        except subprocess.TimeoutExpired:
            out["error"] = f"time limit: the function ran past {job['timeout_s']:g} s and was killed"
            out["phases"]["execute_s"] = time.perf_counter() - t0
            return out
        if not result.exists():
            out["error"] = "the wasm2c executable ended without reporting (killed by a signal?)"
            return out
        report = json.loads(result.read_text())
        out["exit_code"] = report.get("exit_code")
        out["error"] = report.get("error") or (f"the function exited with status {out['exit_code']}"
                                               if out["exit_code"] not in (0, None) else None)
        out["phases"] = _phases(report.get("marks", []))
        return out


class BuildFailed(Exception):
    """A target could not compile the module."""


def _phases(marks: list) -> dict:
    """instantiate_s and execute_s from a host's marks (phase, begin|end, ns)."""
    begun, spans = {}, {}
    for phase, edge, ns in marks:
        if edge == "begin":
            begun[phase] = ns
        elif phase in begun:
            spans[f"{phase}_s"] = spans.get(f"{phase}_s", 0.0) + (ns - begun.pop(phase)) / 1e9
    return {k: v for k, v in spans.items() if k in ("instantiate_s", "execute_s")}


def _one_line(exc: Exception) -> str:
    from hwprof.runtimes.wasmtime_host import _one_line as first_cause

    return first_cause(exc)


KINDS = {"wasmtime": Wasmtime, "wasmtime-aot": WasmtimeAot, "wasm2c": Wasm2c, "node": Node, "wasmer": Wasmer}
STOPPABLE = (Wasmtime, WasmtimeAot)     # the kinds whose time limit config.STOPS chooses
REPLIES = None                          # this worker's answer stream (main sets it)
PENDING: dict = {}                      # what the job under way has answered so far (cold, compile time)


def give_up(job: dict) -> None:
    """The time limit of a request this process cannot interrupt: answer it, then end the worker (the pool
    starts another; the modules it held are gone, and the answer says so)."""
    answer = {**PENDING, "error": f"time limit: the function ran past {job['timeout_s']:g} s; its worker was "
                                  "stopped and restarted", "restart": True}
    answer["phases"] = {**answer.get("phases", {}), "execute_s": float(job["timeout_s"])}
    REPLIES.write(json.dumps(answer) + "\n")
    REPLIES.flush()
    os._exit(0)


def handle(job: dict, keepers: dict, scratch: Path, artefacts: Path) -> dict:
    """One job: evict what the host dropped, obtain the artefact (timed as compile), run unless compile-only."""
    try:
        return _handle(job, keepers, scratch, artefacts)
    except ChildLost as exc:          # a helper died (node's): the modules it held are gone, and the host is told
        return {"cold": False, "error": str(exc), "phases": {}, "lost": True}


def _handle(job: dict, keepers: dict, scratch: Path, artefacts: Path) -> dict:
    for key, target in job.get("evict", []):
        if target in keepers:
            keepers[target].drop(key)
    name = job["target"]
    if name not in keepers:
        kind = KINDS[TARGETS[name].kind]
        stop = {"stop": job.get("stop", "kill")} if kind in STOPPABLE else {}
        keepers[name] = kind(TARGETS[name], artefacts, **stop)
    keeper = keepers[name]
    for stale in ("stdout.txt", "stderr.txt"):
        (scratch / stale).unlink(missing_ok=True)
    t0 = time.perf_counter()
    try:
        artefact, cold, nbytes, path = keeper.obtain(job)
    except ChildLost:
        raise
    except Exception as exc:          # a module this target cannot compile: the request's error
        return {"cold": True, "error": f"{name} could not compile the module: {_one_line(exc)}",
                "phases": {"compile_s": time.perf_counter() - t0}}
    answer = {"cold": cold, "bytes": nbytes, "path": path, "phases": {"compile_s": time.perf_counter() - t0}}
    if job.get("op") == "compile":
        return answer
    PENDING.clear()
    PENDING.update(answer)
    ran = keeper.run(artefact, job, scratch)
    answer["phases"].update(ran.pop("phases"))
    answer.update(ran, stdout_tail=_tail(scratch / "stdout.txt"))
    return answer


def main(scratch: str, artefacts: str) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # the host stops its workers itself (stdin closes)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    global REPLIES
    replies = REPLIES = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)                                     # nothing but answers on the answer pipe
    keepers: dict = {}
    scratch_dir = Path(scratch)
    scratch_dir.mkdir(parents=True, exist_ok=True)
    for line in sys.stdin:
        job = json.loads(line)
        try:
            answer = handle(job, keepers, scratch_dir, Path(artefacts))
        except Exception as exc:                      # the worker answers, whatever went wrong
            answer = {"cold": False, "error": f"the worker failed: {type(exc).__name__}: {exc}", "phases": {}}
        replies.write(json.dumps(answer) + "\n")
        replies.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
