"""The study's Table II and the latency distribution per policy, from replays `hwprof schedule --results` kept."""

from __future__ import annotations

import pandas as pd

from hwprof.report.section import REPLAY_BACKENDS, Entry, Section, provenance


def table2(frame: pd.DataFrame, entry: Entry) -> Section:
    """Per replay and policy: Table II's speedups over each single target, latencies, cold starts, memory."""
    # hwprof.schedule reads profiles through hwprof.report.section: imported here, not at the top
    from hwprof.schedule import store, table

    rows = frame[frame["backend"].isin(REPLAY_BACKENDS)]
    if rows.empty:
        return entry.empty("Table II needs a replay kept by `hwprof schedule TRACE --profiles STORE --results "
                           "DIR`; none in these results")
    replays = store.outcomes(rows)
    tidy, wide = [], []
    for note, outcomes in replays.items():
        built = table.rows(outcomes)
        view = table.frame(built)
        wide.append(view.assign(replay=note)[["replay", *view.columns]])
        for r in built:
            base = {k: r[k] for k in ("name", "kind", "requests", "total_s", "mean_s", "p50_s", "p99_s",
                                      "cold_starts", "memory_bytes", "decision_ns", "background_compiles",
                                      "evictions", "regret_s")}
            for single, value in r["speedup_vs"].items():
                tidy.append({"replay": note, **base, "versus": single, "speedup": value,
                             "speedup_total": r["speedup_total_vs"][single]})
    tidy_frame = pd.DataFrame(tidy).rename(columns={"name": "policy"})
    prov = provenance(rows)
    notes = ["speedup: the study's Table II (per application, the single target's total latency over the "
             "policy's, then the mean over applications); speedup_total: summed over the whole trace.",
             "regret_s: the policy's total latency less the oracle's (the best plan in hindsight per module, one "
             "background compile allowed; it does not foresee queueing or lane contention, so a policy may "
             "come out slightly below it)."]
    return Section(entry.name, entry.title, tidy_frame, _figure(replays, prov), prov, notes=notes,
                   display=pd.concat(wide, ignore_index=True))


def _figure(replays: dict, prov: str):
    """Box plots of every request's latency per policy (log scale), one colour per replay."""
    import plotly.graph_objects as go

    from hwprof.report.figures import COLORS, layout

    fig = go.Figure()
    for i, (note, outcomes) in enumerate(replays.items()):
        for o in outcomes:
            fig.add_trace(go.Box(x=[o.name] * len(o.served), y=list(o.latencies()), name=note,
                                 legendgroup=note, showlegend=o is outcomes[0], boxpoints="outliers",
                                 marker_color=COLORS[i % len(COLORS)]))
    layout(fig, "Latency per request, per policy", prov, boxmode="group", xaxis_title="policy",
           yaxis={"type": "log", "title": "latency (s): wait + run"})
    return fig


SCHEDULE = (Entry("table2", "Table II: the hybrid scheduler against each single target (replayed trace)", table2),)
