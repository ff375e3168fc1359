"""The study's Table II from a simulation: each policy's speedup over every single-target mode, averaged per
application as the study does, beside total, mean, p50 and p99 latency, cold starts, memory, decision cost
and regret against the oracle."""

from __future__ import annotations

import pandas as pd

from hwprof.schedule.simulate import Outcome

TITLE = ("Table II: speedup of each policy over each single-target mode (per application: the single's total "
         "latency over the policy's; then the mean over applications)")
LIVE_TITLE = TITLE.replace("Table II:", "Table II, live (measured against hwprof serve):")
COMPARISON_TITLE = "Simulated against live: total latency per policy, relative difference (simulated - live) / live"


def _totals(outcome: Outcome) -> dict[str, float]:
    """Summed latency per application (function name; every size of it together)."""
    out: dict[str, float] = {}
    for s in outcome.served:
        out[s.function] = out.get(s.function, 0.0) + s.latency_s
    return out


def speedup(policy: Outcome, single: Outcome) -> float:
    """The mean over applications of single's total latency over the policy's (each application weighs the same)."""
    mine, theirs = _totals(policy), _totals(single)
    ratios = [theirs[f] / mine[f] for f in mine if mine[f] > 0]
    return sum(ratios) / len(ratios) if ratios else float("nan")


def rows(outcomes: list[Outcome]) -> list[dict]:
    """One dict per policy: name, kind, requests, total_s, mean_s, p50_s, p99_s, cold_starts, memory_bytes, decision_ns,
    background_compiles, evictions, speedup_vs (single target -> speedup), speedup_total_vs, regret_s."""
    singles = {o.name.split(":", 1)[1]: o for o in outcomes if o.kind == "single"}
    oracle = next((o for o in outcomes if o.kind == "oracle"), None)
    out = []
    for o in outcomes:
        out.append({
            "name": o.name, "kind": o.kind, "requests": len(o.served), "total_s": o.total_s, "mean_s": o.mean_s, "p50_s": o.p50_s,
            "p99_s": o.p99_s, "cold_starts": o.cold_starts, "memory_bytes": o.memory_bytes,
            "decision_ns": o.decision_ns, "background_compiles": o.background_compiles, "evictions": o.evictions,
            "speedup_vs": {t: speedup(o, s) for t, s in singles.items()},
            "speedup_total_vs": {t: s.total_s / o.total_s for t, s in singles.items()},
            "regret_s": None if oracle is None else o.total_s - oracle.total_s})
    return out


def comparison(simulated: list[dict], live: list[dict]) -> list[dict]:
    """Per policy in both: name, kind, simulated_total_s, live_total_s, relative_difference ((sim - live) / live)."""
    sim = {r["name"]: r for r in simulated}
    out = []
    for r in live:
        if r["name"] in sim:
            s, m = sim[r["name"]]["total_s"], r["total_s"]
            out.append({"name": r["name"], "kind": r["kind"], "simulated_total_s": s, "live_total_s": m,
                        "relative_difference": (s - m) / m if m > 0 else float("nan")})
    return out


def comparison_text(rows_: list[dict]) -> str:
    """The simulated-against-live rows for a terminal."""
    from hwprof.analysis.table import text_table

    flat = pd.DataFrame([{"policy": r["name"], "kind": r["kind"], "simulated total_s": r["simulated_total_s"],
                          "live total_s": r["live_total_s"], "relative difference": r["relative_difference"]}
                         for r in rows_])
    return text_table(flat, COMPARISON_TITLE)


def overhead_text(overhead: dict[str, float]) -> str:
    """The per-request overhead per target that a simulation of a live host added, in one line."""
    if not overhead:
        return "The simulation added no per-request host overhead (not calibrated)."
    parts = ", ".join(f"{t} {1e3 * v:+.2f} ms" for t, v in overhead.items())
    return f"Per-request host overhead the simulation added (measured before the replays, warm): {parts}"


def frame(table: list[dict]) -> pd.DataFrame:
    """The rows as one wide frame for reading: a `vs <target>` column per single target (Table II's layout)."""
    flat = []
    for r in table:
        row = {"policy": r["name"], "kind": r["kind"]}
        row |= {f"vs {t}": v for t, v in r["speedup_vs"].items()}
        row |= {k: r[k] for k in ("total_s", "mean_s", "p50_s", "p99_s", "cold_starts", "memory_bytes",
                                  "decision_ns", "regret_s")}
        flat.append(row)
    out = pd.DataFrame(flat)
    out["cold_starts"] = out["cold_starts"].astype(int)
    out["memory_bytes"] = out["memory_bytes"].astype(float)
    out["regret_s"] = out["regret_s"].astype(float)
    return out


def text(table: list[dict], title: str = TITLE) -> str:
    """Table II for a terminal."""
    from hwprof.analysis.table import text_table

    return text_table(frame(table), title)


def markdown(table: list[dict], title: str = TITLE) -> str:
    """Table II as GitHub Markdown."""
    from hwprof.analysis.table import markdown as md

    return f"{title}\n\n{md(frame(table))}"


def csv(table: list[dict]) -> str:
    """Table II as CSV (one line per policy)."""
    return frame(table).to_csv(index=False)
