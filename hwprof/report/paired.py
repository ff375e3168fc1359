"""The report's paired section: interleaved A/B pairs of a campaign, compared round by round.

Which round and side a run was is run-level provenance (campaign_pair), not a column of the results frame,
so this section reads the run files of the store the frame was loaded from (the frame's attrs["results"],
set by load_results), keeping only runs whose rows are in the frame.
"""

from __future__ import annotations

import pandas as pd

from hwprof.analysis import paired, robust
from hwprof.report.section import Entry, Section, provenance

NO_STORE = ("The paired section reads campaign_pair from the run files: build the report from a results store "
            "folder (these rows came without one)")
NO_PAIRS = "Paired ratios need a campaign whose spec has [[pairs]] (runs tagged campaign_pair); none in these results"


def paired_section(frame: pd.DataFrame, entry: Entry) -> Section:
    """Per pair: rounds, paired median and geometric-mean ratios a/b with intervals, the unpaired ratio, verdict."""
    source = frame.attrs.get("results")
    if not source:
        return entry.empty(NO_STORE)
    try:
        pairs = paired.read_pairs(source, exclude_disturbed=entry.options.exclude_disturbed,
                                  run_ids=set(frame["run_id"].astype(str)))
    except paired.PairedError as exc:
        return entry.empty(f"{NO_STORE} ({exc})")
    if not pairs:
        return entry.empty(NO_PAIRS)
    # The report's statistic picks the verdict's summary: the median ratio, or for means the geometric mean.
    rows = [paired.pair_row(p, entry.options.confidence, statistic=entry.options.statistic) for p in pairs]
    table = pd.DataFrame(rows)
    display = pd.DataFrame([paired.display_row(r) for r in rows])
    used = {run for p in pairs for r in p.rounds for run in (r.run_a, r.run_b)}
    rows_used = frame[frame["run_id"].astype(str).isin(used)]
    return Section(entry.name, entry.title, table, None, provenance(rows_used if len(rows_used) else frame),
                   notes=notes(table), display=display)


def notes(table: pd.DataFrame) -> list[str]:
    """What the paired numbers are, and how many rounds were left out and why."""
    incomplete, excluded = int(table["incomplete"].sum()), int(table["excluded"].sum())
    out = ["Each round ran the pair's a and b cells back to back, in a seeded alternating order (a first in some "
           "rounds, b in others), so a slow drift of the host moves both runs of a round alike and cancels in "
           "the round's ratio a/b.",
           "paired median: the median of the per-round ratios with its 95% order-statistic interval (none with "
           "fewer than 6 rounds); paired geomean: the geometric mean of the ratios with a Student-t 95% interval "
           "on their logs; unpaired: median of all a runs over median of all b runs of the same rounds, with its "
           "bootstrap interval, for contrast (it keeps the drift).",
           f"Verdict on the paired {'median' if table['statistic'].iloc[0] == robust.MEDIAN else 'geomean'}: "
           "'A faster' / 'A slower' only when its whole interval is below / above 1, 'same' when it lies within "
           "1 +- 2%, otherwise 'unsure'. Values are execute wall time per run (per invocation when warm).",
           f"Rounds left out: {incomplete} incomplete (a side missing or failed), {excluded} excluded (a side "
           "flagged disturbed)."]
    return out


PAIRED = (Entry("paired", "Interleaved pairs: paired ratios a/b per round (drift cancels)", paired_section),)
