"""The native target: the same C built natively (static, musl), the floor every ratio is measured against.

Its bench_start/bench_end are the phase-control helper linked into the binary, so the execute phase is
bounded exactly as in the wasm hosts; the binary has no compile or instantiate phase.
"""

from __future__ import annotations

import platform
from pathlib import Path

from hwprof.runtimes import Job, Outcome, Prepared


class NativeRuntime:
    """A workload's native build, run directly."""

    name = "native"
    phases = ("execute",)
    modes = ("cold",)
    flavour = "native"
    OPTIONS = ()
    ahead = None
    accepts = frozenset({"args", "env", "stdin"})
    limits = {"invoke": "a native program has no wasm exports", "dirs": "a native program sees the host's files",
              "unknown-imports": "a native program has no wasm imports"}
    features: frozenset[str] = frozenset()
    stdin_via_process = True
    confines_links = True            # no folders at all

    def probe(self) -> str:
        """The native 'runtime' is the machine itself."""
        return f"{platform.machine()}-linux-musl static"

    def flags(self) -> str:
        """Nothing beyond the build flags recorded with the workload."""
        return "native"

    def prepare(self, workload, workdir: Path) -> Prepared | None:
        """Built by `hwprof build`, not measured."""
        return None

    def command(self, job: Job) -> list[str]:
        """The binary itself; it writes its marks to marks.txt."""
        return [str(job.program), *job.args]

    def environment(self, job: Job) -> dict[str, str]:
        """Where the binary's markers write their times."""
        return {**dict(job.inputs.env), "HWPROF_MARKS_OUT": str(job.workdir / "marks.txt")}

    def outcome(self, job: Job) -> Outcome:
        """Marks from marks.txt, output from the process's stdout."""
        marks_file = job.workdir / "marks.txt"
        lines = marks_file.read_text().splitlines() if marks_file.exists() else []
        marks = [(p, e, int(ns)) for p, e, ns in (line.split() for line in lines)]
        out = job.workdir / "process-stdout.txt"
        stdout = out.read_text(errors="replace") if out.exists() else ""
        done = any(p == "execute" and e == "end" for p, e, _ in marks)
        return Outcome(ok=done, stage="done" if done else "execute", boundary="markers", marks=marks,
                       affinity=[job.cpu] if job.cpu is not None else [], threads={}, stdout=stdout,
                       error="" if done else "the native program did not mark its kernel")
