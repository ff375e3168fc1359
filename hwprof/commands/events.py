"""`hwprof events lint|match|list|show`: the event maps (hwprof.events), listed, shown, matched and checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from hwprof.cli_common import fail

events_app = typer.Typer(no_args_is_help=True, help="Event maps: list, show and lint events/*.toml.")


@events_app.command("lint")
def events_lint(paths: Optional[list[Path]] = typer.Argument(None, help="Map files to check (default: every "
                                                                         "shipped map).")):
    """Check event maps: names, duplicates, formulas, encodings; each problem names its file and line."""
    from hwprof import events as ev

    problems = ev.lint(paths=list(paths or []))
    for p in problems:
        typer.echo(p)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{len(paths) if paths else len(ev.available())} event maps, no problems")


@events_app.command("match")
def events_match(identity: str = typer.Argument(..., help="A CPU identity: x86 GenuineIntel-6-CF-2 (perf's form: "
                                                           "family decimal, model and stepping hex) or an Arm MIDR "
                                                           "0x00000000410fd0c0 (or 0x41:0xd0c)."),
                 as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Which microarchitecture, event map and PMU apply to a CPU identity (check a machine you are not on)."""
    from hwprof import events as ev
    from hwprof.data.cpu import IdentityError, parse_identity

    try:
        found = ev.identity_report(parse_identity(identity))
    except (IdentityError, ev.EventMapError) as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(found, indent=1))
    if not found["maps"] and not found["perf_table"]:
        fail(f"{identity}: unknown CPU: no event map and no perf table matches it (hwprof would use the generic map)")
    if as_json:
        return
    typer.echo(f"identity   {found['key']} ({found['model_name']})")
    typer.echo(f"microarch  {found['microarch']}" + (f" (perf table {found['perf_table']})" if found["perf_table"] else
                                                     " (not in perf's mapfile)"))
    maps = found["maps"] or [{"name": "generic", "title": "no specific map: generic events only", "pmu": "",
                              "unavailable": []}]
    for i, m in enumerate(maps):
        pmu = f", PMU {m['pmu']}" if m["pmu"] else ""
        where = f" (CPUs of PMU {m['pmu']})" if len(maps) > 1 else ""
        typer.echo(f"{'event map' if i == 0 else '':10} {m['name']}: {m['title']}{pmu}{where}")
        if m["unavailable"]:
            typer.echo(f"{'':10}   not on this microarchitecture: {', '.join(m['unavailable'])}")


@events_app.command("list")
def events_list():
    """List event maps and the CPUs they match."""
    from hwprof import events as ev

    for name in ev.available():
        m = ev.load(name)
        kind = "abstract" if m.abstract else ", ".join(m.x86 + m.arm) or "fallback"
        typer.echo(f"{name:16} {m.title}  [{kind}]")


@events_app.command("show")
def events_show(name: Optional[str] = typer.Argument(None, help="Map name or file (default: the one for this CPU)."),
                as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Show a resolved event map: its events with perf names and encodings, and its metrics."""
    from hwprof import events as ev
    from hwprof import pinning

    try:
        m = ev.load(name) if name else ev.for_logical_cpu(pinning.choose_cpu())
    except ev.EventMapError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps({"name": m.name, "title": m.title, "pmu": m.pmu, "gp_counters": m.gp_counters,
                               "events": {e.name: {"perf": e.perf, "encoding": dict(e.encoding), "kind": e.kind,
                                                   "fixed": e.fixed, "unit": e.unit} for e in m.events.values()},
                               "metrics": {k: v.formula.text for k, v in m.metrics.items()},
                               "unavailable": m.unavailable, "perf_table": m.perf_table, "path": str(m.path)},
                              indent=1))
        return
    typer.echo(f"{m.name}: {m.title}")
    for e in m.events.values():
        typer.echo(f"  event  {e.name:36} {e.perf_spec(m.pmu):40} {e.unit}")
    for metric in m.metrics.values():
        typer.echo(f"  metric {metric.name:24} = {metric.formula.text}")
    for metric, why in m.unavailable.items():
        typer.echo(f"  absent {metric:24}   {why}")

