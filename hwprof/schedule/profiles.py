"""Profiles for the scheduler: per function, size and target, the cold and warm cost parts read from a store.

Cold parts come from cold runs (bootstrap, compile, instantiate, execute, and an AOT target's aot_compile,
each summed per run as the report's cold_runs reads them); warm parts (instantiate, execute) per invocation
from warm runs (the report's warm_runs, divided by its invocations). Each part is a mean with its 95%
interval over runs. A
phase a target does not separate (wasmer's instantiate is inside its execute) is absent, not zero.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from hwprof.data import phases
from hwprof.report.section import mean_interval, phase_sums, timing_rows, warm_runs

# bootstrap, compile, instantiate, execute, and an ahead-of-time target's compile to its artefact (wasmtime-aot's
# run only loads what `wasmtime compile` made: a host that finds no artefact has to make it first)
COLD_PARTS = phases.HOSTED + (phases.AOT_COMPILE,)
WARM_PARTS = phases.PER_INVOCATION         # instantiate, execute
MAKE_PARTS = (phases.BOOTSTRAP, phases.AOT_COMPILE, phases.COMPILE, phases.STARTUP)   # making an artefact to keep
KEY = ("workload", "size", "target")


@lru_cache(maxsize=None)
def module_of(function: str, size: str) -> str:
    """The module a request of this function at this size runs, as a host keys what it compiled: a bundled
    workload that takes its size as an argument (matmul, lenet) has one module for every size."""
    from hwprof.workloads import catalogue

    spec = catalogue()["workload"].get(function)
    return function if spec is not None and spec.get("size_arg") else f"{function}[{size}]"


class ProfileError(ValueError):
    """A store without the profile a trace or policy needs, with the one line that says which."""


@dataclass(frozen=True)
class Part:
    """One cost part: mean seconds and the ends of its 95% interval (None from one run), over n runs."""

    mean: float
    low: float | None = None
    high: float | None = None
    n: int = 1


@dataclass(frozen=True)
class Profile:
    """What one target costs for one function at one size: cold parts, warm parts, its artefact's bytes."""

    function: str
    size: str
    target: str
    cold: dict[str, Part]
    warm: dict[str, Part]
    artefact_bytes: float | None = None    # machine code bytes (hwprof codegen's module rows), where known
    warm_from: str = "warm"                # "cold": no warm run, a cold run's instantiate + execute stand in

    @property
    def cold_s(self) -> float:
        """Seconds of a request that finds no artefact kept: every cold part."""
        return sum(p.mean for p in self.cold.values())

    @property
    def warm_s(self) -> float:
        """Seconds of a request whose artefact is kept: instantiate + execute."""
        return sum(p.mean for p in self.warm.values())

    @property
    def make_s(self) -> float:
        """Seconds of making the artefact alone (bootstrap + compile): what a background compile takes."""
        return sum(p.mean for k, p in self.cold.items() if k in MAKE_PARTS)


@dataclass(frozen=True)
class Profiles:
    """Every profile of a store, by (function, size, target)."""

    entries: dict[tuple[str, str, str], Profile] = field(default_factory=dict)
    source: str = ""

    def targets(self) -> list[str]:
        """Every target with at least one profile, by name."""
        return sorted({t for _, _, t in self.entries})

    def get(self, function: str, size: str, target: str) -> Profile:
        """The profile of one function, size and target, or ProfileError naming what is missing."""
        try:
            return self.entries[(function, size, target)]
        except KeyError:
            raise ProfileError(f"no profile for {function}[{size}] under {target} in {self.source or 'the store'}"
                               ) from None

    def covering(self, needs: set[tuple[str, str]], targets: list[str] | None = None) -> list[str]:
        """The targets (of those given, default all) with a profile for every (function, size) needed.

        ProfileError when a needed function has no profile under any of them, or a named target lacks one.
        """
        pool = self.targets() if targets is None else list(targets)
        have = {(f, s) for f, s, t in self.entries if t in pool}
        for f, s in sorted(needs - have):
            known = ", ".join(sorted({f"{a}[{b}]" for a, b, _ in self.entries})) or "nothing"
            raise ProfileError(f"the trace names {f}[{s}], which {self.source or 'the store'} has no profile of "
                               f"under {', '.join(pool) or 'any target'} (profiled: {known})")
        full = [t for t in pool if all((f, s, t) in self.entries for f, s in needs)]
        if targets is not None and len(full) < len(pool):
            t = next(t for t in pool if t not in full)
            f, s = next((f, s) for f, s in sorted(needs) if (f, s, t) not in self.entries)
            self.get(f, s, t)
        if not full:
            raise ProfileError(f"no target in {self.source or 'the store'} has a profile for every function "
                               "the trace names")
        return full


HOST_MODELS = {
    # A long-lived host (hwprof serve, a FaaS node's worker) has started long before: a request that finds no
    # artefact pays its compile and instantiate, never the process's start-up.
    "persistent": (phases.BOOTSTRAP,),
    # A process per request, as the study ran each runtime's command line: every cold part, start-up included.
    "process": (),
}


def for_host(profiles: Profiles, model: str) -> Profiles:
    """The profiles as a host of that model pays them (HOST_MODELS: the cold parts it never pays left out)."""
    if model not in HOST_MODELS:
        raise ProfileError(f"unknown host model {model!r} (choose from: {', '.join(HOST_MODELS)})")
    unpaid = HOST_MODELS[model]
    entries = {k: dataclasses.replace(p, cold={n: v for n, v in p.cold.items() if n not in unpaid})
               for k, p in profiles.entries.items()}
    return Profiles(entries, profiles.source)


def _part(values) -> Part | None:
    vals = [float(v) for v in values if pd.notna(v)]
    if not vals:
        return None
    m = mean_interval(vals)
    return Part(m["mean"], m["low"], m["high"], m["n"])


def _parts(wide: pd.DataFrame, names) -> dict[str, Part]:
    out = {name: _part(wide[name]) for name in names if name in wide}
    return {k: v for k, v in out.items() if v is not None}


def _cold(times: pd.DataFrame) -> dict[tuple, dict[str, Part]]:
    """Cold parts per (workload, size, target): the hosted phases, else a command line's startup, else total."""
    rows = times[times["invocation"] == "cold"]
    if rows.empty:
        return {}
    out = {}
    for key, g in phase_sums(rows).reset_index().groupby(list(KEY)):
        parts = _parts(g, COLD_PARTS)
        if not set(parts) & set(phases.STARTUP_PARTS):
            parts |= _parts(g, (phases.STARTUP,))
        out[key] = parts or _parts(g, (phases.TOTAL,))
    return out


def _warm(times: pd.DataFrame) -> dict[tuple, dict[str, Part]]:
    """Warm parts per invocation per (workload, size, target), over warm processes."""
    runs = warm_runs(times)
    out = {}
    for key, g in runs.groupby(list(KEY)):
        per = pd.DataFrame({p: g[f"{p}_s"] / g["invocations"] for p in WARM_PARTS})
        out[key] = _parts(per, WARM_PARTS)
    return out


def _artefact_bytes(frame: pd.DataFrame) -> dict[tuple, float]:
    """Machine-code bytes per (workload, size, target) from hwprof codegen's module rows."""
    rows = frame[(frame["backend"] == "codegen") & (frame["name"] == "code_bytes") & (frame["scope"] == "module")]
    return {k: float(v) for k, v in rows.groupby(["workload", "size", "runtime"])["value"].mean().items()}


def from_frame(frame: pd.DataFrame, source: str = "") -> Profiles:
    """Profiles from a results frame (hwprof.load_results); a key needs cold runs to have a profile."""
    times = timing_rows(frame)
    cold, warm, sizes = _cold(times), _warm(times), _artefact_bytes(frame)
    entries = {}
    for key, parts in cold.items():
        workload, size, target = (str(k) for k in key)
        warm_parts = warm.get(key) or {k: v for k, v in parts.items() if k in WARM_PARTS}
        entries[(workload, size, target)] = Profile(
            workload, size, target, parts, warm_parts, sizes.get(key),
            "warm" if warm.get(key) else "cold")
    return Profiles(entries, source)


def load(store: str | Path) -> Profiles:
    """Profiles of a results store (or run file); ProfileError when it cannot be read or has no cold runs."""
    import hwprof
    from hwprof.data.store import StoreError

    try:
        frame = hwprof.load_results(store)
    except StoreError as exc:
        raise ProfileError(str(exc)) from None
    profiles = from_frame(frame, str(store))
    if not profiles.entries:
        raise ProfileError(f"{store}: no cold wall times to profile (measure with `hwprof collect` or "
                           "`hwprof campaign campaigns/edge-profiles.toml`)")
    return profiles
