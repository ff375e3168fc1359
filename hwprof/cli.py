"""The `hwprof` command line: thin commands that parse options into a config and call one library function."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from hwprof.cli_common import fail, interrupted_exit, signals_as_interrupts, warnings_as_lines

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Why is one WebAssembly runtime faster than another on this CPU?")
events_app = typer.Typer(no_args_is_help=True, help="Event maps: list, show and lint events/*.toml.")
workloads_app = typer.Typer(no_args_is_help=True, help="Bundled workloads.")
app.add_typer(events_app, name="events")
app.add_typer(workloads_app, name="workloads")


@app.callback()
def _check_environment() -> None:
    """Why is one WebAssembly runtime faster than another on this CPU?"""
    from hwprof.data.cpu import IdentityError, forced

    try:
        forced()          # a malformed HWPROF_CPU_ID is one line here, not a traceback in whatever reads it
    except IdentityError as exc:
        fail(f"HWPROF_CPU_ID: {exc}")


def _size_bytes(text: str, option: str = "--memory-limit", least: int = 1 << 16,
                least_why: str = "a limit must be at least one wasm page (64KiB)") -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().removesuffix("ib").removesuffix("b")
    try:
        value = int(float(t[:-1]) * units[t[-1]]) if t and t[-1] in units else int(t)
    except (ValueError, KeyError):
        fail(f"{option} {text!r} is not a size (e.g. 4GiB, 512MiB)")
    if value < least:
        fail(f"{option} {text!r}: {least_why}")
    return value


def _workloads_help() -> str:
    """The bundled workloads by suite, for the help text (read from the catalogue, so it never goes stale)."""
    try:
        from hwprof import workloads as wl

        by_suite: dict[str, list[str]] = {}
        for name, spec in sorted(wl.catalogue()["workload"].items()):
            by_suite.setdefault(spec.get("suite", "other"), []).append(name)
    except Exception:          # the help must show even where the catalogue cannot be read
        return "a bundled workload (hwprof workloads list)"
    shown = "; ".join(f"{suite}: {', '.join(names)}" for suite, names in by_suite.items())
    return f"A bundled workload ({shown}) or a path to a .wasm."


def _dirs(items: list[str]) -> tuple[tuple[str, str], ...]:
    """--dir HOST[::GUEST] (the wasmtime CLI's spelling) or HOST[:GUEST], each host an existing folder."""
    out = []
    for item in items:
        host, sep, guest = item.partition("::")
        if not sep:
            host, _, guest = item.partition(":")
        if not Path(host).is_dir():
            fail(f"--dir {host!r} is not a folder")
        out.append((str(Path(host).resolve()), guest or host))
    return tuple(out)


def _env(items: list[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"--env {item!r} must look like KEY=VALUE")
        out.append((key, value))
    return tuple(out)


@app.command(context_settings={"allow_interspersed_args": True})
def collect(
    workload: str = typer.Argument(..., help=_workloads_help()),
    args: Optional[list[str]] = typer.Argument(None, help="After --: the module's arguments (with --invoke: the "
                                                          "export's numeric arguments)."),
    runtime: str = typer.Option("wasmtime", "--runtime", "-r", help="Runtime target (hwprof doctor lists them)."),
    size: Optional[str] = typer.Option(None, "--size", "-s",
                                       help="Size: PolyBench preset mini..extralarge (default medium) or the workload's own."),
    backend: str = typer.Option("perf", "--backend", "-b", help="Counter backend: perf, cachegrind, vtune."),
    events: list[str] = typer.Option([], "--events", "-e",
                                     help="Events or metrics, comma-separated or repeated (default: the whole map)."),
    event_map: Optional[str] = typer.Option(None, "--event-map", help="Use this map (a name, or a .toml file) instead "
                                                                      "of the one matching the CPU."),
    repetitions: int = typer.Option(5, "--repetitions", "-n", min=1, help="Measured repetitions."),
    warmup: int = typer.Option(1, "--warmup", min=0, help="Unrecorded warm-up repetitions first."),
    cpu: Optional[str] = typer.Option(None, "--cpu", help="CPU to pin the measured process to (default: the last; "
                                                          "auto: the last one no other hwprof measures on)."),
    timeout: float = typer.Option(300.0, "--timeout", min=0.1, help="Seconds one measured process may run."),
    memory_limit: str = typer.Option("4GiB", "--memory-limit", help="Largest linear memory a module may have."),
    max_output: str = typer.Option("16MiB", "--max-output", help="Bytes kept of each output stream of a measured "
                                                                 "process (its start; the last 64 KiB too); the "
                                                                 "rest is counted and dropped."),
    results: Optional[Path] = typer.Option(None, "--results", help="Results store folder (default results/default)."),
    opt_level: str = typer.Option("speed", "--opt-level", help="Cranelift opt level: none, speed, speed_and_size."),
    sim_cache: list[str] = typer.Option([], "--sim-cache", help="cachegrind geometry, e.g. I1=65536,8,64 (repeatable)."),
    mode: str = typer.Option("cold", "--mode", help="cold: a fresh process per run; warm: one compile, many runs."),
    invocations: int = typer.Option(50, "--invocations", min=1, help="warm: invocations per process."),
    dirs: list[str] = typer.Option([], "--dir", help="Give the module a host folder: HOST[::GUEST] (or HOST:GUEST; "
                                                     "repeatable)."),
    env: list[str] = typer.Option([], "--env", help="KEY=VALUE in the module's environment (repeatable; empty "
                                                    "otherwise)."),
    stdin: Optional[Path] = typer.Option(None, "--stdin", help="A file for the module's standard input (default: "
                                                               "empty)."),
    invoke: str = typer.Option("", "--invoke", help="Call this export instead of _start; its numeric arguments "
                                                    "follow -- (as wasmtime run --invoke)."),
    module_arg: list[str] = typer.Option([], "--arg", help="A module argument before those after -- (repeatable; "
                                                           "with --invoke the only way to give argv)."),
    unknown_imports: str = typer.Option("", "--unknown-imports", help="trap: imports nobody defines become "
                                                                      "functions that trap when called."),
    wasm_feature: list[str] = typer.Option([], "--wasm-feature", help="Enable a wasm proposal (repeatable): "
                                           "exceptions, tail-call, simd, relaxed-simd, threads, memory64, "
                                           "multi-memory, function-references, gc. Those a module needs are "
                                           "enabled anyway."),
    count_phases: list[str] = typer.Option([], "--count-phases",
                                           help="Count events only in these phases (comma-separated or repeated; "
                                                "the others get wall times only, from one process)."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
):
    """Run a workload under a runtime, pinned to one CPU, counting events per phase."""
    from hwprof.analysis import stats, table
    from hwprof.collect import CollectConfig, CollectError
    from hwprof.collect import collect as run_collect
    from hwprof.data.paths import default_results
    from hwprof.workloads.module import FEATURES

    geometry = []
    for item in sim_cache:
        if "=" not in item:
            fail(f"--sim-cache {item!r} must look like I1=32768,8,64")
        geometry.append(tuple(item.split("=", 1)))
    if mode not in ("cold", "warm"):
        fail(f"--mode {mode!r}: choose cold or warm")
    if stdin is not None and not stdin.is_file():
        fail(f"--stdin {str(stdin)!r} is not a file")
    if unknown_imports not in ("", "trap"):
        fail(f"--unknown-imports {unknown_imports!r}: the one policy is trap")
    for feature in wasm_feature:
        if feature not in FEATURES:
            fail(f"--wasm-feature {feature!r} is not a proposal hwprof knows (choose from: {', '.join(FEATURES)})")
    args = list(args or [])
    if cpu is not None and cpu != "auto" and not cpu.isdigit():
        fail(f"--cpu {cpu!r}: a CPU number or auto")
    config = CollectConfig(
        workload=workload, runtime=runtime, size=size, backend=backend,
        events=tuple(e.strip() for item in events for e in item.split(",") if e.strip()), event_map=event_map,
        repetitions=repetitions, warmup=warmup, cpu=int(cpu) if cpu and cpu.isdigit() else cpu, timeout=timeout,
        memory_limit=_size_bytes(memory_limit),
        results=results or default_results(), opt_level=opt_level, sim_geometry=tuple(geometry),
        dirs=_dirs(dirs), mode=mode, invocations=invocations,
        count_phases=tuple(p.strip() for item in count_phases for p in item.split(",") if p.strip()),
        args=tuple(module_arg) + (() if invoke else tuple(args)), invoke_args=tuple(args) if invoke else (),
        env=_env(env),
        stdin=stdin.resolve() if stdin else None, invoke=invoke, unknown_imports=unknown_imports,
        features=tuple(wasm_feature),
        max_output=_size_bytes(max_output, "--max-output", 0, "a size cannot be negative"))
    progress = None if quiet else (lambda msg: typer.echo(f"hwprof: {msg}", err=True))
    try:
        with signals_as_interrupts():
            result = run_collect(config, progress=progress)
    except CollectError as exc:
        fail(str(exc))
    except KeyboardInterrupt as exc:
        what, code = interrupted_exit(exc)
        fail(f"interrupted by {what}; repetitions finished so far are in the store", code)
    summaries = stats.summarize(result.records)
    if as_json:
        typer.echo(json.dumps({"session_id": result.session_id, "results": str(config.results),
                               "run_files": [str(p) for p in result.run_files], "notes": result.notes,
                               "disturbed": result.disturbed,
                               "provenance": result.provenance, "summary": [s.to_dict() for s in summaries]},
                              indent=1, default=str))
        return
    p = result.provenance
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    given = f" [{p['input']}]" if p.get("input") else ""
    title = (f"{p['workload']} ({p['size'] or 'user module'}){given} on {p['runtime']} {p['runtime_version']} "
             f"[{p['runtime_flags'].split(';')[0]}], backend {p['backend']}, CPU {p['cpu_index']} "
             f"({p['cpu']}, map {p['event_map']}), {config.repetitions} repetitions")
    typer.echo(table.render(summaries, title))
    if result.disturbed:
        typer.echo(f"disturbed: {result.disturbed} of {config.repetitions} repetitions flagged by their noise record "
                   "(kept in the store; `disturbed` in their provenance says why)")
    typer.echo(f"stored: {config.results} (session {result.session_id}); load with hwprof.load_results()")


@app.command()
def campaign(
    spec: Path = typer.Argument(..., help="Campaign spec (TOML): workloads x sizes x targets x backend x modes; "
                                          "or the name of a shipped one (quick, study, table1, table1-sim)."),
    results: Optional[Path] = typer.Option(None, "--results", help="Results folder (default results/<campaign name>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted campaign in its results folder."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the cells and the run budget, run nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Run a characterization campaign: seeded random order, adaptive repetitions (to a 2% CI by default), resumable."""
    from hwprof.campaign import CampaignError, SpecError, load, run_campaign
    from hwprof.campaign.display import progress_line, summary
    from hwprof.data.paths import campaigns_dir, results_root
    from hwprof.data.store import StoreError

    shipped = campaigns_dir() / f"{spec}.toml"
    if not spec.exists() and spec.suffix != ".toml" and shipped.exists():
        spec = shipped
    try:
        plan = load(spec)
    except SpecError as exc:
        fail(str(exc))
    folder = results or results_root() / plan.name
    if dry_run:
        for cell in plan.cells:
            r = cell.repetitions
            typer.echo(f"{cell.key}: {r.min}..{r.max} runs, until the {r.confidence:.0%} CI is within {r.target_ci:.0%}")
        typer.echo(f"{len(plan.cells)} cells, {sum(c.repetitions.min for c in plan.cells)}.."
                   f"{sum(c.repetitions.max for c in plan.cells)} runs, into {folder}")
        return
    tty = sys.stderr.isatty()

    def show(p):
        line = progress_line(p)
        typer.echo(("\r" + line[:160].ljust(160)) if tty else line, err=True, nl=not tty)

    try:
        with signals_as_interrupts(), warnings_as_lines():
            result = run_campaign(plan, folder, resume=resume, progress=None if quiet else show)
    except (CampaignError, SpecError, StoreError) as exc:
        fail(str(exc))
    except KeyboardInterrupt as exc:
        what, code = interrupted_exit(exc)
        fail(f"interrupted by {what}; finished runs are in {folder}: `hwprof campaign {spec} --resume"
             + (f" --results {results}" if results else "") + "` continues", code)
    if tty and not quiet:
        typer.echo("", err=True)
    if as_json:
        typer.echo(json.dumps({"name": result.name, "campaign_id": result.campaign_id, "results": str(folder),
                               "state": result.state, "runs_this_time": result.runs_this_time,
                               "runs_total": result.runs_total, "seconds": result.seconds,
                               "failures": result.failures, "disturbed": result.disturbed, "cells": result.cells},
                              indent=1))
    else:
        typer.echo(summary(result))
        typer.echo(f"stored: {folder}; `hwprof report {folder}` draws the figures")
    if result.failures:
        raise typer.Exit(1)


@app.command()
def compare(
    stores: list[Path] = typer.Argument(..., help="Two or more results stores (the first is the baseline)."),
    label: list[str] = typer.Option([], "--label", help="A name per store, in order (default arch:machine)."),
    phase: list[str] = typer.Option([], "--phase", help="Only these phases (repeatable)."),
    name: list[str] = typer.Option([], "--name", help="Only these events/metrics, comma-separated or repeated."),
    csv_out: Optional[Path] = typer.Option(None, "--csv", help="Also write the tidy comparison as CSV."),
    md_out: Optional[Path] = typer.Option(None, "--markdown", help="Also write the side-by-side table as Markdown."),
    as_json: bool = typer.Option(False, "--json", help="Print the tidy comparison as JSON."),
    strict: bool = typer.Option(False, "--strict", help="Refuse a store with an unreadable run file (default: "
                                                        "skip it with a warning)."),
):
    """Compare results from machines side by side: target x workload x metric, ratio [95% CI], verdict."""
    from hwprof.analysis.compare import CompareError, compare_stores, wide
    from hwprof.analysis.table import markdown, text_table
    from hwprof.data.store import atomic_write_text

    names = tuple(n.strip() for item in name for n in item.split(",") if n.strip())
    try:
        with warnings_as_lines():
            tidy, sides = compare_stores(stores, strict=strict, labels=label or None, phases=tuple(phase), names=names)
    except CompareError as exc:
        fail(str(exc))
    view = wide(tidy, sides)
    if csv_out:
        atomic_write_text(csv_out, tidy.to_csv(index=False))
    if md_out:
        atomic_write_text(md_out, markdown(view))
    if as_json:
        typer.echo(tidy.to_json(orient="records", indent=1))
        return
    for s in sides:
        typer.echo(f"{s.label}: {s.path} ({s.cpu or 'unknown CPU'}, {s.arch})")
    typer.echo(text_table(view))


@app.command()
def doctor(
    cpu: Optional[int] = typer.Option(None, "--cpu", help="Logical CPU to describe (default: the measured one)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """What this machine can measure: CPU and microarchitecture, perf, PMU, valgrind, runtimes."""
    from hwprof import doctor as doc
    from hwprof.pinning import PinningError

    try:
        report = doc.diagnose(cpu)
    except PinningError as exc:
        fail(str(exc))
    typer.echo(json.dumps(report, indent=1) if as_json else doc.render(report))


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


@workloads_app.command("list")
def workloads_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """List bundled workloads: suite, category, data type, sizes and the expected checksum."""
    from hwprof import workloads as wl

    cat = wl.catalogue()["workload"]
    rows = {name: {"suite": spec.get("suite", ""), "category": spec.get("category", ""),
                   "data_type": spec.get("data_type", ""), "sizes": wl.sizes_of(spec),
                   "default_size": wl.default_size(spec), "dims": spec.get("dims", {}),
                   "expected": spec.get("expected", {})} for name, spec in sorted(cat.items())}
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
        return
    typer.echo(f"{'workload':16} {'suite':10} {'category':24} {'type':8} {'sizes':40} expected checksum (default size)")
    for name, r in rows.items():
        sizes = ",".join(r["sizes"]) if len(r["sizes"]) <= 5 else f"{r['sizes'][0]}..{r['sizes'][-1]} ({len(r['sizes'])})"
        expected = r["expected"].get(r["default_size"], "-")
        typer.echo(f"{name:16} {r['suite']:10} {r['category']:24} {r['data_type']:8} {sizes:40} "
                   f"{expected} ({r['default_size']})")


@app.command()
def build(
    names: list[str] = typer.Argument(None, help="Workloads to build (default: all)."),
    size: list[str] = typer.Option([], "--size", "-s", help="Only these sizes (repeatable; default: all)."),
    opt: list[str] = typer.Option(["-O2"], "--opt", help="Optimisation levels: -O2, -O3, -Os (repeatable)."),
    target: list[str] = typer.Option(["wasm", "native"], "--target", help="wasm and/or native (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the built artefacts as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
):
    """Build workloads to wasm32-wasi (zig cc) and natively, cached and incremental."""
    from hwprof import workloads as wl

    progress = None if quiet else (lambda msg: typer.echo(f"hwprof: build {msg}", err=True))
    try:
        built = wl.build_all(names or None, size or None, tuple(opt), tuple(target), progress)
    except wl.WorkloadError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps([{"name": w.name, "size": w.size, "target": w.target, "path": str(w.wasm),
                                "flags": w.flags} for w in built], indent=1))
    else:
        typer.echo(f"{len(built)} artefacts up to date in {wl.cache_dir()}")


def _register() -> None:
    """Commands whose functions live beside the library code they call."""
    from hwprof.analysis import commands as analysis_commands
    from hwprof.gem5.cli import gem5_sweep
    from hwprof.report.cli import report

    app.command("trace")(analysis_commands.trace)
    app.command("export")(analysis_commands.export)
    app.command("report")(report)
    app.command("gem5-sweep")(gem5_sweep)


_register()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    sys.exit(main())
