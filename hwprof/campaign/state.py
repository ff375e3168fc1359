"""A campaign's state as the store holds it, and what follows from it: each cell's stop, the pool, the next run.

Everything here is a pure function of the stored run files and the spec, so a campaign killed at any moment
resumes exactly: the same stops, the same pool, the same next cell.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from pathlib import Path

from hwprof.analysis.stats import stopping_value
from hwprof.campaign.spec import CampaignSpec, Cell, Repetitions
from hwprof.campaign.stopping import (AT_MAX, CONVERGED, EXTRA_CAP, NOISE_FLOOR, Decision, Evidence, decide,
                                      interval_min_runs)
from hwprof.data import schema
from hwprof.data.schema import Record
from hwprof.data.store import ResultStore, read_run

# What must not change between the runs of one cell (a resumed campaign checks it).
SETUP = ("machine", "cpu", "runtime_version", "runtime_flags", "backend_version", "event_map")


@dataclass(frozen=True)
class Run:
    """One finished repetition of a cell: its stopping value, its seconds, and its noise evidence."""

    value: float
    seconds: float = 0.0
    disturbed: str = ""                 # why its noise record flagged it ('' when not)
    slowdown: float | None = None       # the calibration loop's slowdown around it (None: not run)


@dataclass
class CellState:
    """What the store says about one cell: its runs, why it failed, its setup and its cachegrind run."""

    cell: Cell
    runs: list[Run] = field(default_factory=list)
    failure: str | None = None
    setup: dict | None = None           # SETUP of the cell's stored runs, when it has any
    simulated: str = ""                 # the run id of its --simulate-unconverged cachegrind run
    simulation_failure: str = ""

    @property
    def values(self) -> list[float]:
        """Every finished run's stopping value, flagged ones included."""
        return [r.value for r in self.runs]

    def evidence(self) -> Evidence:
        """The runs as the stopping rule reads them."""
        return Evidence(tuple(self.values), tuple(bool(r.disturbed) for r in self.runs),
                        tuple(r.slowdown for r in self.runs))

    def decision(self, policy: Repetitions | None = None, budget: int | None = None) -> Decision:
        """This cell's own stopping decision (policy: the cell's own by default), before pairs and the pool."""
        return decide(self.evidence(), policy or self.cell.repetitions, budget, self.failure)

    def stop(self, policy: Repetitions | None = None) -> str | None:
        """Why this cell needs no more runs of its own (converged, noise-floor, max, failed), or None."""
        return self.decision(policy).stop

    def expected_runs(self, policy: Repetitions | None = None) -> int:
        """How many repetitions this cell will likely have in the end (for the ETA)."""
        policy = policy or self.cell.repetitions
        d = self.decision(policy)
        if d.stop:
            return d.runs
        if d.relative is None:            # no interval yet: at least the statistic's minimum
            least = max(policy.min, interval_min_runs(policy.statistic, policy.confidence))
            return max(d.runs + 1, min(policy.max, least))
        # The half-width shrinks as 1/sqrt(n): how many runs bring it to the target.
        needed = int(d.n * (d.relative / policy.target_ci) ** 2) + 1 + d.excluded
        return max(d.runs + 1, min(policy.max, max(policy.min, needed)))


def read_state(root: Path, spec: CampaignSpec) -> dict[str, CellState]:
    """Every cell's state, rebuilt from the run files of this campaign in the store."""
    states = {c.key: CellState(c) for c in spec.cells}
    for path in ResultStore(root).run_files():
        doc = read_run(path)
        prov = doc.get("provenance", {})
        if prov.get("campaign_digest") != spec.digest:
            continue
        errors = [r for r in doc["records"] if r.status == schema.ERROR]
        if prov.get("campaign_simulates") in states:
            st = states[prov["campaign_simulates"]]
            if errors:
                st.simulation_failure = errors[0].note or "failed"
            else:
                st.simulated = doc.get("run_id") or path.stem
            continue
        if prov.get("campaign_cell") not in states:
            continue
        st = states[prov["campaign_cell"]]
        if st.setup is None and "runtime_version" in prov:
            st.setup = {k: prov.get(k) for k in SETUP}
        if errors:
            st.failure = errors[0].note or "failed"
            continue
        value = stopping_value(doc["records"])
        if value is None:
            st.failure = "no execute time in a finished run"
            continue
        st.runs.append(Run(value, float(prov.get("campaign_run_seconds", 0.0)), prov.get("disturbed") or "",
                           (prov.get("noise") or {}).get("calibration_slowdown")))
    return states


def pair_id(pair: tuple[str, str]) -> str:
    """A pair's identity in provenance: '<a cell key> ~ <b cell key>'."""
    return f"{pair[0]} ~ {pair[1]}"


def first_side(seed: int, pair: tuple[str, str], round_: int) -> str:
    """Which side of a pair runs first in a round ('a' or 'b'), drawn from the seed, the pair and the round."""
    return "a" if random.Random(f"{seed}:{pair_id(pair)}:{round_}").random() < 0.5 else "b"


def pair_tag(spec: CampaignSpec, states: dict[str, CellState], key: str) -> dict | None:
    """The `campaign_pair` provenance of a paired cell's next run, or None for an unpaired cell."""
    pair = spec.pair_of(key)
    if pair is None:
        return None
    round_ = len(states[key].runs)
    return {"id": pair_id(pair), "side": "a" if key == pair[0] else "b", "round": round_,
            "first": first_side(spec.seed, pair, round_)}


def decisions(states: dict[str, CellState], pairs: tuple[tuple[str, str], ...] = ()) -> dict[str, Decision]:
    """Every cell's decision with its pair and the pool applied (stop None: it runs again).

    A paired cell that converged or reached its noise floor runs on while its partner does, so their rounds
    stay aligned. The pool holds the runs that finished noise-floor stops saved (max - runs) less the runs
    cells have had beyond their max; while it holds any, an unpaired cell at its max that would still converge
    within EXTRA_CAP x max (by the same rule, with that budget) runs again. Paired cells neither give to the
    pool before both sides stop, nor take from it, so the campaign's runs never exceed the sum of the maxima.
    """
    own = {k: s.decision() for k, s in states.items()}
    partner = {k: p for a, b in pairs for k, p in ((a, b), (b, a))}
    out = dict(own)
    for k, p in partner.items():
        if own[k].stop in (CONVERGED, NOISE_FLOOR) and own[p].stop is None:
            out[k] = dataclasses.replace(own[k], stop=None, reason=f"runs on with its pair ({own[k].stop} alone)")
    saved, spent = _pool(states, out, partner)
    left = saved - spent
    if left > 0:
        for k, s in states.items():
            if k in partner or own[k].stop != AT_MAX:
                continue
            more = s.decision(budget=EXTRA_CAP * s.cell.repetitions.max)
            if more.stop is None:
                out[k] = dataclasses.replace(more, reason=f"extra runs from the pool ({left} left)")
    return out


def _pool(states: dict[str, CellState], out: dict[str, Decision], partner: dict[str, str]) -> tuple[int, int]:
    """(runs the finished noise-floor stops saved, runs spent beyond the cells' maxima)."""
    saved = sum(states[k].cell.repetitions.max - d.runs for k, d in out.items()
                if d.stop == NOISE_FLOOR and (k not in partner or out[partner[k]].stop is not None))
    return saved, sum(max(0, len(s.runs) - s.cell.repetitions.max) for s in states.values())


def pool(states: dict[str, CellState], pairs: tuple[tuple[str, str], ...] = ()) -> tuple[int, int]:
    """(runs the finished noise-floor stops saved, runs spent beyond the cells' maxima) of a campaign's state."""
    partner = {k: p for a, b in pairs for k, p in ((a, b), (b, a))}
    return _pool(states, decisions(states, pairs), partner)


def next_cell(states: dict[str, CellState], seed: int,
              pairs: tuple[tuple[str, str], ...] = ()) -> CellState | None:
    """The next cell to run: the open cell (or pair) with the fewest runs, a seeded shuffle per round deciding.

    A pair counts as one unit: its side drawn first for the round runs, then its partner right after (a pair
    left half-way through a round, by a kill, finishes it first).
    """
    dec = decisions(states, pairs)
    open_ = {k for k, d in dec.items() if d.stop is None}
    if not open_:
        return None
    runs = {k: len(s.runs) for k, s in states.items()}
    units: dict[str, tuple[str, str] | None] = {}
    for a, b in pairs:
        if a in open_ and b in open_:
            if runs[a] != runs[b]:
                return states[a if runs[a] < runs[b] else b]
            units[pair_id((a, b))] = (a, b)
    unit_of = {k: pair_id(p) for p in units.values() if p for k in p}
    for k in open_:
        units.setdefault(unit_of.get(k, k), None)
    reps = {u: (runs[p[0]] if p else runs[u]) for u, p in units.items()}
    fewest = min(reps.values())
    keys = sorted(set(states) | {pair_id(p) for p in pairs})
    random.Random(f"{seed}:{fewest}").shuffle(keys)
    order = {k: i for i, k in enumerate(keys)}
    unit = min((u for u in units if reps[u] == fewest), key=lambda u: order[u])
    pair = units[unit]
    if pair is None:
        return states[unit]
    return states[pair[0] if first_side(seed, pair, fewest) == "a" else pair[1]]
