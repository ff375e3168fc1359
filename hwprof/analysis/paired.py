"""Paired ratios of interleaved A/B runs, so that a slow drift of the host cancels within each round.

A campaign's [[pairs]] runs the a and b cells of a pair back to back, round after round, in a seeded
alternating order, and tags each run's provenance with campaign_pair = {id, side, round, first}. A drift of
the host (a neighbour arriving, a clock settling) moves both runs of a round alike, so the ratio a/b of a
round keeps the targets' difference and loses the drift, which an unpaired ratio of medians folds into its
interval.
"""

from __future__ import annotations

import math
import os
import statistics
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from hwprof.analysis import robust, verdict
from hwprof.analysis.stats import stopping_value
from hwprof.data import schema
from hwprof.data.store import RUNS, NewerFormatError, ResultStore, SkippedRunWarning, StoreError, read_run

PAIR = "campaign_pair"          # the run provenance key the campaign runner tags a pair's runs with
SIDES = ("a", "b")


class PairedError(Exception):
    """Results a paired comparison cannot be made from, with the one line that says why."""


@dataclass(frozen=True)
class PairedRatio:
    """The per-round ratios a/b of one pair, their median and geometric mean with intervals, and the verdict.

    `statistic` names the summary the verdict judges: "median" (the order-statistic interval of the median
    ratio) or "mean" (the geometric mean ratio, Student-t interval on the log ratios).
    """

    n: int
    ratios: tuple[float, ...]
    median: float
    median_low: float | None        # None when n is too small for the interval (fewer than 6 at 95%)
    median_high: float | None
    geomean: float
    geo_low: float | None           # None with fewer than two rounds
    geo_high: float | None
    statistic: str
    verdict: str
    reason: str
    confidence: float
    margin: float


def paired_ratios(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """a_i / b_i per round; a ValueError unless both sides have one positive value per round."""
    if len(a) != len(b):
        raise ValueError(f"paired ratios need one value per side per round, not {len(a)} and {len(b)}")
    if not len(a):
        raise ValueError("no rounds")
    if min(a) <= 0 or min(b) <= 0:
        raise ValueError("paired ratios need positive values (times, counts) on both sides")
    return [float(x) / float(y) for x, y in zip(a, b)]


def geometric_interval(ratios: Sequence[float], confidence: float = 0.95) -> tuple[float, float | None, float | None]:
    """Geometric mean of positive ratios with the Student-t interval of their logs, mapped back (None ends with one)."""
    logs = [math.log(r) for r in ratios]
    center = statistics.fmean(logs)
    if len(logs) < 2:
        return math.exp(center), None, None
    half = (verdict.t_quantile(0.5 + confidence / 2, len(logs) - 1) * statistics.stdev(logs)
            / math.sqrt(len(logs)))
    return math.exp(center), math.exp(center - half), math.exp(center + half)


def summarize(a: Sequence[float], b: Sequence[float], confidence: float = 0.95, margin: float = 0.02,
              statistic: str = robust.MEDIAN) -> PairedRatio:
    """Paired ratios of matched rounds (a[i] and b[i] ran in round i) and the verdict for a against b."""
    ratios = paired_ratios(a, b)
    med = robust.median_ci(ratios, confidence)
    gm, g_low, g_high = geometric_interval(ratios, confidence)
    if robust.check_statistic(statistic) == robust.MEDIAN:
        low, high, why_none = med.low, med.high, med.note
    else:
        low, high, why_none = g_low, g_high, f"too few rounds (n={len(ratios)}; need at least 2)"
    if low is None:
        word, reason = verdict.UNSURE, why_none
    else:
        word, reason = verdict.decide(low, high, confidence, margin)
        reason += f" (paired {'median' if statistic == robust.MEDIAN else 'geometric mean'} ratio)"
    return PairedRatio(len(ratios), tuple(ratios), med.median, med.low, med.high, gm, g_low, g_high, statistic,
                       word, reason, confidence, margin)


@dataclass(frozen=True)
class Round:
    """One complete round of a pair: each side's value (the campaign's stopping value) and run id."""

    round: int
    first: str              # "a" or "b": which side ran first
    a: float
    b: float
    run_a: str
    run_b: str


@dataclass(frozen=True)
class Pair:
    """One pair's complete rounds, what its sides are, and how many rounds were left out and why."""

    id: str                 # "<a cell key> ~ <b cell key>"
    campaign: str
    workload: str
    size: str
    invocation: str
    target_a: str
    target_b: str
    rounds: tuple[Round, ...]
    incomplete: int         # rounds with a side missing or failed
    excluded: int           # rounds dropped because a side was flagged disturbed

    def values(self) -> tuple[list[float], list[float]]:
        """The a and b values of the complete rounds, in round order."""
        return [r.a for r in self.rounds], [r.b for r in self.rounds]


@dataclass
class _Run:
    run_id: str
    first: str
    value: float | None
    failure: str
    disturbed: bool
    left_out: bool          # not among the run ids asked for (a report's frame filtered it out)
    identity: dict


def _tag(path: Path, prov: dict) -> dict | None:
    """A run's campaign_pair, checked against the contract; None for a run that is not a pair's."""
    tag = prov.get(PAIR)
    if tag is None:
        return None
    if (not isinstance(tag, dict) or not isinstance(tag.get("id"), str) or tag.get("side") not in SIDES
            or not isinstance(tag.get("round"), int) or tag["round"] < 0 or tag.get("first") not in SIDES):
        raise PairedError(f"{path}: its {PAIR} {tag!r} is not {{id, side: a|b, round: >= 0, first: a|b}}")
    return tag


def _run(doc: dict, tag: dict, run_ids: set[str] | None) -> _Run:
    """What a pair's run file holds: its value by the campaign's own rule, or why it has none."""

    records = doc["records"]
    errors = [r for r in records if r.status == schema.ERROR]
    value = None if errors else stopping_value(records)
    failure = (errors[0].note or "failed") if errors else ("" if value is not None else "no execute time")
    first = records[0] if records else None
    identity = {k: getattr(first, k, "") for k in ("workload", "size", "invocation", "runtime")}
    run_id = str(doc.get("run_id", ""))
    return _Run(run_id, tag["first"], value, failure, bool(doc["provenance"].get("disturbed")),
                run_ids is not None and run_id not in run_ids, identity)


def _docs(root: Path, strict: bool):
    """(path, run document) of every readable run file of the store; unreadable ones warned of and skipped
    (refused with `strict`; a newer format always is)."""
    for path in ResultStore(root).run_files():
        try:
            yield path, read_run(path)
        except StoreError as exc:
            if strict or isinstance(exc, NewerFormatError):
                raise PairedError(str(exc)) from None
            warnings.warn(f"skipped {exc}", SkippedRunWarning, stacklevel=3)


def _store_root(results: str | os.PathLike) -> Path:
    path = Path(results)
    if not path.is_dir():
        raise PairedError(f"{path}: not a results store folder (paired rounds span several run files)")
    return path.parent if path.name == RUNS else path


def _classify(runs: dict[str, list[_Run]], exclude_disturbed: bool) -> str | tuple[_Run, _Run]:
    """A round's two runs, or "excluded" / "incomplete"."""
    every = [r for side in runs.values() for r in side]
    if any(r.disturbed and (exclude_disturbed or r.left_out) for r in every):
        return "excluded"
    chosen = []
    for side in SIDES:
        kept = [r for r in runs.get(side, []) if not r.left_out]
        if not kept or any(r.failure for r in kept):
            return "incomplete"
        chosen.append(kept[-1])     # a side run twice in one round (a resumed campaign): the latest
    return chosen[0], chosen[1]


def read_pairs(results: str | os.PathLike, exclude_disturbed: bool = False, run_ids: set[str] | None = None,
               strict: bool = False) -> list[Pair]:
    """Every pair of a store's campaigns, its rounds matched by campaign_pair id and round.

    A round counts when both sides have a run with a value and neither failed; otherwise it is incomplete.
    With `exclude_disturbed`, a round with a run flagged disturbed is dropped whole and counted apart. With
    `run_ids`, runs outside them are left out (a disturbed one left out counts its round as excluded), and so is
    a pair with no run among them.
    """
    slots: dict[tuple[str, str], dict[int, dict[str, list[_Run]]]] = defaultdict(lambda: defaultdict(dict))
    names: dict[tuple[str, str], str] = {}
    asked: set[tuple[str, str]] = set()      # pairs with a run among run_ids (all of them without run_ids)
    for path, doc in _docs(_store_root(results), strict):
        tag = _tag(path, doc["provenance"])
        if tag is None:
            continue
        key = (str(doc["provenance"].get("campaign_digest", "")), tag["id"])
        names[key] = str(doc["provenance"].get("campaign", ""))
        run = _run(doc, tag, run_ids)
        slots[key][tag["round"]].setdefault(tag["side"], []).append(run)
        if not run.left_out:
            asked.add(key)
    return [_pair(key, names[key], rounds, exclude_disturbed) for key, rounds in sorted(slots.items()) if key in asked]


def _pair(key: tuple[str, str], campaign: str, rounds: dict[int, dict[str, list[_Run]]],
          exclude_disturbed: bool) -> Pair:
    done, incomplete, excluded = [], 0, 0
    for number in sorted(rounds):
        got = _classify(rounds[number], exclude_disturbed)
        if got == "excluded":
            excluded += 1
        elif got == "incomplete":
            incomplete += 1
        else:
            a, b = got
            done.append(Round(number, a.first, a.value, b.value, a.run_id, b.run_id))
    ids = {side: next((r.identity for rs in rounds.values() for r in rs.get(side, []) if r.identity.get("runtime")),
                      {}) for side in SIDES}
    one = ids["a"] or ids["b"]
    return Pair(key[1], campaign, str(one.get("workload", "")), str(one.get("size", "")),
                str(one.get("invocation", "")), str(ids["a"].get("runtime", "")), str(ids["b"].get("runtime", "")),
                tuple(done), incomplete, excluded)


def pair_row(pair: Pair, confidence: float = 0.95, margin: float = 0.02, statistic: str = robust.MEDIAN,
             seed: int = 0) -> dict:
    """One pair as a flat row: rounds, paired median and geometric-mean ratios with intervals, the unpaired
    ratio of medians of the same runs for contrast, and the verdict for a against b."""
    row = {"pair": pair.id, "campaign": pair.campaign, "workload": pair.workload, "size": pair.size,
           "invocation": pair.invocation, "target_a": pair.target_a, "target_b": pair.target_b,
           "rounds": len(pair.rounds), "a_first": sum(r.first == "a" for r in pair.rounds),
           "incomplete": pair.incomplete, "excluded": pair.excluded, "statistic": statistic}
    empty = dict.fromkeys(("median_ratio", "median_low", "median_high", "geomean_ratio", "geomean_low",
                           "geomean_high", "unpaired_ratio", "unpaired_low", "unpaired_high"))
    if not pair.rounds:
        return {**row, **empty, "verdict": verdict.UNSURE, "reason": "no complete round"}
    a, b = pair.values()
    try:
        s = summarize(a, b, confidence, margin, statistic)
    except ValueError as exc:
        return {**row, **empty, "verdict": verdict.UNSURE, "reason": str(exc)}
    u = robust.ratio_of_medians(a, b, confidence, seed=seed)
    return {**row, "median_ratio": s.median, "median_low": s.median_low, "median_high": s.median_high,
            "geomean_ratio": s.geomean, "geomean_low": s.geo_low, "geomean_high": s.geo_high,
            "unpaired_ratio": u.ratio, "unpaired_low": u.low, "unpaired_high": u.high, "verdict": s.verdict,
            "reason": s.reason}


def compare_paired(results: str | os.PathLike, exclude_disturbed: bool = False, confidence: float = 0.95,
                   margin: float = 0.02, statistic: str = robust.MEDIAN, strict: bool = False) -> list[dict]:
    """The rows `hwprof compare --paired RESULTS` prints: one per pair of the store's campaigns."""
    robust.check_statistic(statistic)
    pairs = read_pairs(results, exclude_disturbed, strict=strict)
    if not pairs:
        raise PairedError(f"{results}: no runs tagged {PAIR}; run a campaign whose spec has [[pairs]]")
    return [pair_row(p, confidence, margin, statistic) for p in pairs]


def _interval(row: dict, stem: str) -> str:
    """'ratio [low, high]', or the ratio alone when there is no interval; '-' when there is no ratio."""
    center = row[f"{stem}_ratio"]
    if center is None:
        return "-"
    low, high = row[f"{stem}_low"], row[f"{stem}_high"]
    return f"{center:.3f}" if low is None else f"{center:.3f} [{low:.3f}, {high:.3f}]"


def display_row(row: dict) -> dict:
    """A pair_row as people read it: the pair, its rounds, each ratio with its interval, the verdict."""
    word = row["verdict"]
    return {"workload": row["workload"], "size": row["size"], "invocation": row["invocation"],
            "a": row["target_a"], "b": row["target_b"], "rounds": row["rounds"],
            "paired median a/b": _interval(row, "median"), "paired geomean a/b": _interval(row, "geomean"),
            "unpaired median a / median b": _interval(row, "unpaired"),
            "verdict": f"{row['target_a']} {word}" if word in (verdict.FASTER, verdict.SLOWER) else word}
