"""One counted phase of a real hwprof run (any target: native, wasm2c, wasmtime's JIT) traced by frontend.trace.

The run is the one `collect --backend cachegrind --count-phases PHASE` makes (same plan, same host, same phase
helper told to issue its callgrind requests), with valgrind's callgrind swapped for lackey's block trace,
which a thread reads from a FIFO while the process runs.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import threading
from pathlib import Path

from hwprof import measure
from hwprof.backends import Launch, Pass
from hwprof.backends.cachegrind import CachegrindBackend
from hwprof.codegen.artefacts import ArtefactError
from hwprof.data.phases import EXECUTE
from hwprof.frontend import trace
from hwprof.session import Session


class TraceBackend(CachegrindBackend):
    """The cachegrind backend's launch with lackey's block trace in callgrind's place; it counts nothing."""

    def __init__(self, valgrind: str = "valgrind"):
        super().__init__(valgrind=valgrind)
        self.result: trace.PhaseTrace | None = None
        self.error: str | None = None
        self._reader: threading.Thread | None = None

    def prepare(self, argv: list[str], one_pass: Pass, workdir: Path) -> Launch:
        """lackey around the measured process, its log a FIFO read by a thread as the process runs."""
        self.result, self.error = None, None        # one trace per launch: never a previous repetition's
        launch = super().prepare(argv, one_pass, workdir)
        head = launch.argv[:launch.argv.index(self.valgrind)]       # setarch -R, as cachegrind runs it
        inner = launch.argv[launch.argv.index("--") + 1:]
        fifo = Path(tempfile.mkdtemp(prefix="lackey-", dir=workdir)) / "log"
        os.mkfifo(fifo)
        self._reader = threading.Thread(target=self._read, args=(fifo,), daemon=True)
        self._reader.start()
        env = {k: v for k, v in launch.env.items() if k != "HWPROF_PERF_MAP"}
        return Launch(head + trace.command(inner, str(fifo), self.valgrind), env, workdir=workdir)

    def _read(self, fifo: Path) -> None:
        try:
            with open(fifo, "rb", buffering=0) as log:
                trace.shrink_pipe(log.fileno())
                self.result = trace.read_stream(log)
        except trace.TraceError as exc:
            self.error = str(exc)

    def read(self, launch: Launch, one_pass: Pass) -> list:
        """No counts: the trace is in `result` once the reader is done."""
        if self._reader is not None:
            self._reader.join()
        return []


def phase_trace(subject, target: str, phase: str = EXECUTE, cpu: int | None = None,
                timeout: float = 600.0) -> trace.PhaseTrace:
    """Trace one counted phase of the target running the subject's workload (a codegen Subject)."""
    from hwprof.codegen import hot

    if phase != EXECUTE:
        raise ArtefactError(f"only the {EXECUTE} phase can be traced so far, not {phase!r}")
    backend = TraceBackend()
    plan = dataclasses.replace(hot._plan(subject, target, cpu, timeout), backend=backend)
    with Session(plan.cpu, kind="trace") as session:
        prepared = hot.ahead_unmeasured(plan, session.root)
        got = measure.run_pass(plan, plan.passes[-1], session.root, measure._Trace(), prepared)
    if backend.error or backend.result is None:
        raise ArtefactError(f"{target} (lackey trace): {backend.error or got.failure or 'no trace'}")
    return backend.result

