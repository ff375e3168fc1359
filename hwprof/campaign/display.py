"""What a person sees of a campaign: a progress bar with ETA, and the summary at the end."""

from __future__ import annotations

from hwprof.analysis.table import fmt
from hwprof.campaign.runner import CampaignResult, CampaignProgress


def duration(seconds: float | None) -> str:
    """Seconds as 1h02m, 3m05s or 4.2s."""
    if seconds is None:
        return "?"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{seconds:.1f}s"


def progress_line(p: CampaignProgress, width: int = 24) -> str:
    """[#######.....] 45/120 runs, 3/9 cells done, 1m05s elapsed, ETA 2m10s: <last cell>."""
    share = min(1.0, p.runs_done / p.runs_expected) if p.runs_expected else 1.0
    bar = "#" * int(share * width) + "." * (width - int(share * width))
    return (f"[{bar}] {p.runs_done}/~{p.runs_expected} runs, {p.cells_done}/{p.cells} cells done, "
            f"{duration(p.elapsed_s)} elapsed, ETA {duration(p.eta_s)}: {p.last}")


def summary(result: CampaignResult) -> str:
    """The end-of-campaign table (one row per cell) and totals: runs, stop reasons, pool, simulations, failures."""
    rows = [("workload", "size", "target", "mode", "n", "execute", "CI", "excluded", "stopped", "sim")]
    for c in result.cells:
        ci = f"+-{100 * c['ci_rel']:.1f}%" if c["ci_rel"] is not None else "-"
        center = f"{c['statistic']} {fmt(c['center_s'])} s" if c["center_s"] is not None else "-"
        sim = "yes" if c["simulated"] else ("failed" if c["simulation_failure"] else "")
        rows.append((c["workload"], c["size"], c["target"], c["mode"], str(c["n"]), center, ci,
                     str(c["excluded"]) if c["excluded"] else "", c["stopped"], sim))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) if j in (4, 5, 6, 7) else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths)))
             .rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    reasons: dict[str, int] = {}
    for c in result.cells:
        reasons[c["stopped"]] = reasons.get(c["stopped"], 0) + 1
    lines.append(f"campaign {result.name} {result.state}: {result.runs_total} runs in the store "
                 f"({result.runs_this_time} this time, {duration(result.seconds)}); cells: "
                 + ", ".join(f"{n} {why}" for why, n in sorted(reasons.items())))
    for c in result.cells:
        if c["stopped"] == "noise-floor":
            lines.append(f"{c['cell']}: {c['reason']}")
    if result.pool_saved or result.pool_spent:
        lines.append(f"pool: {result.pool_saved} runs saved by noise-floor stops, {result.pool_spent} spent on cells "
                     "past their max that could still converge")
    excluded = sum(c["excluded"] for c in result.cells)
    if excluded:
        lines.append(f"excluded: {excluded} flagged runs left out of the stopping statistic (kept in the store)")
    if result.runs_this_time:
        lines.append(f"disturbed: {result.disturbed} of {result.runs_this_time} runs this time flagged by their noise "
                     "record (kept in the store; their provenance says why)")
    if result.simulated:
        lines.append(f"cachegrind: {result.simulated} unconverged cell{'s' if result.simulated > 1 else ''} got one "
                     "simulated run (deterministic counts; `campaign_simulates` in its provenance names the cell)")
    for why, n in sorted(result.failures.items(), key=lambda kv: -kv[1]):
        lines.append(f"failed ({n} cell{'s' if n > 1 else ''}): {why}")
    return "\n".join(lines)
