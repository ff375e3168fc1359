"""The one repetition runner: `collect`, campaigns and the cachegrind sweep all measure through a Session.

A session owns what must hold around every repetition on a CPU: the CPU claimed against other hwprof
processes, the controller kept off it, and scratch folders that a killed controller's successor removes.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from hwprof import measure, pinning, scratch
from hwprof.data.store import stamp
from hwprof.plan import Plan


class Session:
    """Repetitions measured on one CPU, one at a time, each in a fresh work folder."""

    def __init__(self, cpu: int, claim: pinning.CpuClaim | None = None, kind: str = "", keep: bool = False):
        self.cpu, self.kind, self.keep = cpu, kind, keep
        self.claim = claim
        self.root: Path | None = None
        self._old_affinity: set[int] | None = None

    def __enter__(self) -> "Session":
        self.claim = self.claim or pinning.CpuClaim(self.cpu)
        self._old_affinity = pinning.keep_controller_off(self.cpu)
        self.root = scratch.make(self.kind)
        return self

    def __exit__(self, *exc) -> None:
        self.claim.release()
        if self._old_affinity is not None:
            pinning.restore_controller(self._old_affinity)
        if self.root is not None and not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def warning(self) -> str:
        """What to tell the user when another hwprof measures on this CPU too ('' when none)."""
        return self.claim.warning() if self.claim else ""

    def run(self, plan: Plan, rep: int, base: dict) -> tuple[measure.Repetition, dict, float]:
        """One repetition of the plan (rep < 0: a warm-up): its result, its run file's provenance, its seconds."""
        if plan.cpu != self.cpu:
            raise ValueError(f"a plan for CPU {plan.cpu} cannot run in a session on CPU {self.cpu}")
        t0 = time.monotonic()
        done = measure.repetition(plan, rep, self._fresh())
        seconds = time.monotonic() - t0
        prov = {**base, "pinning": done.pinning, "noise": done.noise, "disturbed": done.noise.get("disturbed", ""),
                "timestamp_end": stamp()}
        return done, prov, seconds

    def _fresh(self) -> Path:
        """An empty work folder for one repetition (the previous ones are removed unless kept)."""
        if not self.keep:
            for old in self.root.iterdir():
                shutil.rmtree(old, ignore_errors=True)
        return Path(tempfile.mkdtemp(prefix="rep-", dir=self.root))
