"""The front-end model checked against a PMU: modelled (backend frontend) and measured rows of the same cells."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from hwprof.data import schema

MODEL = "frontend"
# Backends whose rows are simulations, never the measured side of a validation.
SIMULATED = ("frontend", "cachegrind", "gem5")
# The study's front-end columns, under the names the event maps and the model share.
METRICS = ("dsb_hits", "dsb_misses", "dsb_miss_rate", "l1i_hits", "l1i_misses", "l1i_miss_rate",
           "dsb_to_l1i_ref_ratio")
# What makes two rows the same cell: the target's own flags count, the backend and its "sim: ..." part do not
# (they differ by construction between the two sides).
CELL = ["runtime", "target_flags", "workload", "size", "input", "invocation", "scope", "phase"]
UARCH = re.compile(r"--uarch=([\w-]+)")
SIM_FLAGS = re.compile(r"(^|; )sim: .*$")


class ValidateError(Exception):
    """A store the model cannot be validated against, with the one line that says why."""


@dataclass(frozen=True)
class Provenance:
    """Which microarchitecture the model ran as and which CPU measured."""

    model_uarch: str
    measured_cpu: str
    measured_microarch: str

    def mismatch(self) -> str | None:
        """One line when the measuring CPUs' event maps are not among those the model's uarch file lists, else None."""
        from hwprof.frontend import uarch

        if not self.model_uarch or not self.measured_microarch:
            return None
        try:
            covers = set(uarch.load(self.model_uarch).event_maps)
        except uarch.UarchError:
            covers = {self.model_uarch}
        if set(self.measured_microarch.split(", ")) <= covers:
            return None
        return (f"the model ran as {self.model_uarch} but the rows were measured on {self.measured_microarch} "
                f"({self.measured_cpu or 'unknown CPU'}): errors mix model error with a different machine")


def _joined(values) -> str:
    return ", ".join(sorted({str(v) for v in values if str(v)}))


def provenance(model, measured) -> Provenance:
    """The model's --uarch (from its flags or notes) and the measured rows' CPU model and microarchitecture."""
    text = " ".join(str(v) for col in ("runtime_flags", "note") for v in model[col].fillna(""))
    return Provenance(_joined(UARCH.findall(text)), _joined(measured["cpu"].fillna("")),
                      _joined(measured["microarch"].fillna("")))


def _means(frame) -> dict[tuple, tuple[float, int, str]]:
    """Per (cell, metric): mean over runs of the per-run values (warm invocations averaged first), n, unit."""
    ok = frame[frame["status"] == schema.OK]
    per_run = ok.groupby(CELL + ["name", "unit", "run_id"], dropna=False)["value"].mean().reset_index()
    return {tuple(k[:-1]): (float(g["value"].mean()), len(g), str(k[-1]))
            for k, g in per_run.groupby(CELL + ["name", "unit"], dropna=False)}


def _statuses(frame) -> dict[tuple, str]:
    bad = frame[frame["status"] != schema.OK]
    return {tuple(k): _joined(g["status"]) for k, g in bad.groupby(CELL + ["name"], dropna=False)}


def error_row(modelled: float, measured: float, unit: str) -> dict:
    """Relative error (model - measured) / measured, and for rates the absolute error in percentage points."""
    rel = (modelled - measured) / measured if measured else None
    pp = (modelled - measured) * 100 if unit == "ratio" else None
    return {"rel_error": rel, "abs_error_pp": pp}


def validate_frame(frame, phases=("execute",), uarch: str | None = None):
    """A tidy DataFrame (one row per cell and metric: measured mean and n, modelled value, errors, status), a
    summary frame (per metric, median |relative error| over cells) and the sides' Provenance."""
    import pandas as pd

    if phases:
        frame = frame[frame["phase"].isin(phases)]
    frame = frame[frame["name"].isin(METRICS)]
    frame = frame.assign(target_flags=frame["runtime_flags"].fillna("").astype(str).str.replace(SIM_FLAGS, "",
                                                                                                regex=True))
    model = frame[frame["backend"] == MODEL]
    ran_as = model["runtime_flags"].fillna("").astype(str).str.extract(UARCH, expand=False).fillna("")
    if uarch:
        model = model[ran_as == uarch]
    elif ran_as.nunique() > 1:
        raise ValidateError(f"this store holds the model's rows for {_joined(ran_as)}: choose one with --uarch "
                            "(a mean over two geometries validates neither)")
    if model.empty:
        raise ValidateError("no frontend (modelled) rows" + (f" for --uarch={uarch}" if uarch else "")
                            + " in this store: collect them with `hwprof collect --backend frontend`")
    measured = frame[~frame["backend"].isin(SIMULATED)]
    if measured.empty:
        raise ValidateError("no measured rows (perf or vtune) in this store: validate-frontend needs a PMU's counts")
    modelled, counted, why = _means(model), _means(measured), _statuses(measured)
    rows = []
    for key, (value, _, unit) in sorted(modelled.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        row = dict(zip(CELL + ["name"], key), unit=unit, modelled=value)
        got = counted.get(key)
        if got is None:
            status = f"measured {why[key].replace('_', ' ')}" if key in why else "no measured rows"
            row.update(measured=None, n=0, rel_error=None, abs_error_pp=None, status=status)
        else:
            row.update(measured=got[0], n=got[1], **error_row(value, got[0], unit), status="ok")
        rows.append(row)
    table = pd.DataFrame(rows)
    return table, summary(table), provenance(model, measured)


def summary(table):
    """Per metric: cells compared and the median |relative error| over them."""
    import pandas as pd

    out = []
    for name in METRICS:
        errs = [abs(e) for e in table.loc[table["name"] == name, "rel_error"] if e is not None and e == e]
        if name in set(table["name"]):
            out.append({"name": name, "cells": len(errs),
                        "median_abs_rel_error": statistics.median(errs) if errs else None})
    return pd.DataFrame(out)


def validate_store(path: str | Path, phases=("execute",), uarch: str | None = None, strict: bool = False):
    """Load a store through the one loader and validate its frontend rows against its measured ones."""
    from hwprof.data.store import StoreError, load_results

    try:
        frame = load_results(path, strict)
    except StoreError as exc:
        raise ValidateError(str(exc)) from None
    if frame.empty:
        raise ValidateError(f"{path}: no results in this store")
    return validate_frame(frame, phases, uarch)
