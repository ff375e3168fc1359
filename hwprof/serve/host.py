"""The serving host's logic, apart from HTTP: check a request, pick its target, run it on a worker, answer.

A request names a bundled workload (its input is a size) or a module of the config file (its input is
argv strings), and may force a target. Otherwise the policy picks: "single" runs the first target given;
"tiered" runs Cranelift where a worker holds its compiled module, else the fast tier (Winch or Pulley),
and compiles with Cranelift in the background so that later requests switch to it.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from hwprof.serve.cache import ArtefactCache
from hwprof.serve.config import ServeConfig
from hwprof.serve.metrics import Metrics
from hwprof.serve.pool import Pool
from hwprof.serve.targets import OPTIMIZING, TARGETS

PHASES = ("compile_s", "instantiate_s", "execute_s")
MAX_ARGS = 64


class RequestError(Exception):
    """A request the host refuses before running it: an HTTP status and one line."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Planned:
    """A checked request: what to run, with which limits."""

    function: str
    size: str | None
    wasm: str
    key: str
    args: tuple[str, ...]
    target: str | None
    timeout_s: float
    memory_limit: int
    expected: str = ""
    flavour: str = "wasm"            # the build of a bundled workload that wasm is (its targets' flavour)


class Host:
    """Functions, policy, workers, cache, metrics and log of one serving host."""

    def __init__(self, config: ServeConfig):
        from hwprof.workloads import catalogue

        self.config = config
        self.bundled = catalogue()["workload"]       # read once: re-reading it costs a folder walk per request
        self.functions = {f.name: f for f in config.functions}
        self.cache = ArtefactCache(config.memory_budget, config.keep_alive_s)
        self.pool = Pool(config.workers, self.cache, config.artefacts)
        self.metrics = Metrics()
        self._log = open(config.log, "a") if config.log else None
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._built: dict[tuple, object] = {}
        self._digests: dict[str, str] = {}
        self._compiling: set[tuple[str, str]] = set()     # (wasm digest, target)

    def known(self, function: str) -> bool:
        """Whether the host serves this function (a configured module or a bundled workload)."""
        return function in self.functions or function in self.bundled

    def plan(self, function: str, body: dict) -> Planned:
        """The request checked against what the function takes; RequestError when it does not."""
        if not isinstance(body, dict):
            raise RequestError(400, "the body must be a JSON object")
        unknown = sorted(set(body) - {"size", "args", "target"})
        if unknown:
            raise RequestError(400, f"unknown field {unknown[0]!r} (fields: size, args, target)")
        target = body.get("target")
        if target is not None and target not in self.config.targets:
            raise RequestError(400, f"target {target!r} is not served here (served: {', '.join(self.config.targets)})")
        if function in self.functions:
            return self._plan_module(function, body, target)
        return self._plan_bundled(function, body, target)

    def _plan_module(self, function: str, body: dict, target: str | None) -> Planned:
        spec = self.functions[function]
        if "size" in body:
            raise RequestError(400, f"{function} is a configured module: its input is args, not a size")
        args = body.get("args", [])
        if not isinstance(args, list) or len(args) > MAX_ARGS or not all(isinstance(a, (str, int, float))
                                                                         and not isinstance(a, bool) for a in args):
            raise RequestError(400, f"args must be a list of at most {MAX_ARGS} strings or numbers")
        return Planned(function, None, str(spec.wasm), self._digest(str(spec.wasm)), tuple(str(a) for a in args),
                       target, spec.timeout_s or self.config.timeout_s, spec.memory_limit or self.config.memory_limit)

    def _plan_bundled(self, function: str, body: dict, target: str | None) -> Planned:
        from hwprof.workloads import default_size, sizes_of

        spec = self.bundled[function]
        if "args" in body:
            raise RequestError(400, f"{function} is a bundled workload: its input is a size, not args")
        size = body.get("size", default_size(spec))
        if not isinstance(size, str) or size not in sizes_of(spec):
            raise RequestError(400, f"unknown size {size!r} for {function} (sizes: {', '.join(sizes_of(spec))})")
        # The targets a request may run on share one build (the tiered pair are both Wasmtime's).
        flavour = TARGETS[self._targets(target)[0]].flavour
        built = self._build(function, size, flavour)
        wasm = str(built.program)
        return Planned(function, size, wasm, self._digest(wasm), tuple(built.args), target,
                       self.config.timeout_s, self.config.memory_limit, built.expected, flavour)

    def _build(self, function: str, size: str, flavour: str):
        """A bundled workload's build of this flavour (built once per host)."""
        from hwprof.workloads import WorkloadError, build

        with self._build_lock:            # one build at a time: the build cache is not for racing writers
            built = self._built.get((function, size, flavour))
            if built is None:
                try:
                    built = self._built[(function, size, flavour)] = build(function, size, flavour=flavour)
                except WorkloadError as exc:
                    raise RequestError(500, f"building {function} failed: {exc}") from None
        return built

    def _key_for(self, planned: Planned, target: str) -> str:
        """The digest of the module a target runs for a checked request (its own build of a bundled workload)."""
        flavour = TARGETS[target].flavour
        if planned.size is None or flavour == planned.flavour:
            return planned.key
        return self._digest(str(self._build(planned.function, planned.size, flavour).program))

    def _digest(self, wasm: str) -> str:
        with self._lock:
            if wasm not in self._digests:
                self._digests[wasm] = hashlib.sha256(Path(wasm).read_bytes()).hexdigest()[:20]
            return self._digests[wasm]

    def _targets(self, target: str | None) -> list[str]:
        """The targets to try in order for a request that forces this target or none (the last one runs when
        none is warm)."""
        if target:
            return [target]
        fast = [t for t in self.config.targets if TARGETS[t].fast_tier]
        if self.config.policy == "tiered" and OPTIMIZING in self.config.targets and fast:
            return [OPTIMIZING, fast[0]]
        return [self.config.targets[0]]

    def _job(self, planned: Planned, target: str, op: str = "run") -> dict:
        return {"op": op, "target": target, "key": planned.key, "wasm": planned.wasm,
                "name": Path(planned.wasm).name, "args": list(planned.args), "timeout_s": planned.timeout_s,
                "memory_limit": planned.memory_limit, "stop": self.config.stop}

    def run(self, planned: Planned) -> tuple[int, dict]:
        """Run a checked request on a worker; the HTTP status and the answer. Blocks (call it in a thread)."""
        t0 = time.perf_counter()
        with self._lock:
            self.metrics.in_flight += 1
        try:
            worker, target = self.pool.acquire(planned.key, self._targets(planned.target))
            try:
                answer = self.pool.run(worker, self._job(planned, target))
            finally:
                self.pool.release(worker)
            if self.config.policy == "tiered" and planned.target is None and target != OPTIMIZING:
                self._background(planned)
            reply = self._reply(planned, target, answer, worker.index, time.perf_counter() - t0)
            self.metrics.finished(planned.function, target, reply["cold"], bool(reply["error"]), reply["latency_s"])
            self._write_log(reply)
            return (500 if reply["error"] else 200), reply
        finally:
            with self._lock:
                self.metrics.in_flight -= 1

    def _reply(self, planned: Planned, target: str, answer: dict, worker: int, latency_s: float) -> dict:
        from hwprof.workloads import checksum_of

        tail = answer.get("stdout_tail", "")
        phases = answer.get("phases", {})
        reply = {"function": planned.function, "target": target, "cold": bool(answer.get("cold")),
                 "result": {"stdout_tail": tail, "checksum": checksum_of(tail), "exit_code": answer.get("exit_code")},
                 "phases": {p: phases.get(p) for p in PHASES}, "error": answer.get("error"),
                 "latency_s": latency_s, "worker": worker}
        if planned.size is not None:
            reply.update(size=planned.size, expected=planned.expected)
        return reply

    def held(self, planned: Planned) -> dict:
        """What the host keeps for a checked request: per target, who holds its artefact (worker indices,
        "disk"); the targets compiling it in the background; host-wide bytes held, evictions, compiles."""
        now = time.monotonic()
        with self._lock:
            compiling = sorted(t for k, t in self._compiling if k == planned.key)
            background = self.metrics.background_compiles
        return {"function": planned.function, "size": planned.size, "key": planned.key, "compiling": compiling,
                "held": {t: sorted(map(str, self.cache.holders(self._key_for(planned, t), t, now)))
                         for t in self.config.targets},
                "held_bytes": self.cache.held_bytes, "evictions": self.cache.evictions,
                "background_compiles": background}

    def reset(self, wait_s: float = 60.0) -> int:
        """Start clean: wait (up to wait_s) for background compiles, then drop every cached artefact."""
        end = time.monotonic() + wait_s
        while self._compiling and time.monotonic() < end:
            time.sleep(0.01)
        return self.cache.clear()

    def compile_in_background(self, planned: Planned, target: str) -> bool:
        """Compile a checked request's module with a target on a worker in the background; False when it is
        held or already compiling."""
        return self._background(planned, target)

    def _background(self, planned: Planned, target: str = OPTIMIZING) -> bool:
        """Compile with a target (the optimizing tier) on a worker in the background, unless held or under way."""
        with self._lock:
            if (planned.key, target) in self._compiling or self.cache.holders(planned.key, target, time.monotonic()):
                return False
            self._compiling.add((planned.key, target))

        def compile_it() -> None:
            try:
                worker, target_ = self.pool.acquire(planned.key, [target])
                try:
                    self.pool.run(worker, self._job(planned, target_, op="compile"))
                finally:
                    self.pool.release(worker)
                with self._lock:
                    self.metrics.background_compiles += 1
            finally:
                with self._lock:
                    self._compiling.discard((planned.key, target))

        threading.Thread(target=compile_it, name=f"compile-{planned.function}", daemon=True).start()
        return True

    def _write_log(self, reply: dict) -> None:
        """One JSON line per finished request, flushed at once (a stop loses no finished result)."""
        if self._log is None:
            return
        line = {"finished_at": time.time(), **{k: v for k, v in reply.items() if k != "result"},
                "checksum": reply["result"]["checksum"], "exit_code": reply["result"]["exit_code"]}
        with self._lock:
            self._log.write(json.dumps(line) + "\n")
            self._log.flush()

    def close(self) -> None:
        """Stop the workers and close the log."""
        self.pool.close()
        if self._log is not None:
            self._log.close()
