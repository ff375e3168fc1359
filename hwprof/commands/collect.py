"""`hwprof collect`: the options parsed and checked into a CollectConfig, one collect, its summary printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from hwprof.cli_common import fail, interrupted_exit, signals_as_interrupts

if TYPE_CHECKING:          # the library is imported when a command runs, so that --help stays fast
    from hwprof.collect import CollectConfig, CollectResult


def _size_bytes(text: str, option: str = "--memory-limit", least: int = 1 << 16,
                least_why: str = "a limit must be at least one wasm page (64KiB)") -> int:
    from hwprof.data.units import SizeError, parse_size

    try:
        value = parse_size(text)
    except SizeError:
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


def collect(
    workload: str = typer.Argument(..., help=_workloads_help()),
    args: Optional[list[str]] = typer.Argument(None, help="After --: the module's arguments (with --invoke: the "
                                                          "export's numeric arguments)."),
    runtime: str = typer.Option("wasmtime", "--runtime", "-r", help="Runtime target (hwprof doctor lists them)."),
    size: Optional[str] = typer.Option(None, "--size", "-s",
                                       help="Size: PolyBench preset mini..extralarge (default medium) or the workload's own."),
    backend: str = typer.Option("perf", "--backend", "-b", help="Counter backend: perf, cachegrind, vtune, frontend "
                                 "(the front-end model: modelled DSB and L1I, execute phase)."),
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
    uarch: str = typer.Option("", "--uarch", help="--backend frontend: the modelled microarchitecture (skylake, "
                                                  "icelake, goldencove, zen2, zen3, zen4, or a uarch .toml file; default "
                                                  "skylake, the study's core)."),
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
    statistic: str = typer.Option("mean", "--statistic", help="What the summary reports, with its 95% interval: "
                                  "mean (Student t) or median (order statistics; needs n >= 6)."),
    exclude_disturbed: bool = typer.Option(False, "--exclude-disturbed", help="Leave repetitions their noise record "
                                           "flagged out of the summary (counted and said; kept in the store)."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
):
    """Run a workload under a runtime, pinned to one CPU, counting events per phase."""
    config = collect_config(workload=workload, args=args, runtime=runtime, size=size, backend=backend, events=events,
                            event_map=event_map, repetitions=repetitions, warmup=warmup, cpu=cpu, timeout=timeout,
                            memory_limit=memory_limit, max_output=max_output, results=results, opt_level=opt_level,
                            sim_cache=sim_cache, mode=mode, invocations=invocations, dirs=dirs, env=env, stdin=stdin,
                            invoke=invoke, module_arg=module_arg, unknown_imports=unknown_imports,
                            wasm_feature=wasm_feature, count_phases=count_phases, statistic=statistic,
                            exclude_disturbed=exclude_disturbed, uarch=uarch)
    _show(config, _run(config, quiet), as_json)


def collect_config(*, workload: str, args: Optional[list[str]], runtime: str, size: Optional[str], backend: str,
                   events: list[str], event_map: Optional[str], repetitions: int, warmup: int, cpu: Optional[str],
                   timeout: float, memory_limit: str, max_output: str, results: Optional[Path], opt_level: str,
                   sim_cache: list[str], mode: str, invocations: int, dirs: list[str], env: list[str],
                   stdin: Optional[Path], invoke: str, module_arg: list[str], unknown_imports: str,
                   wasm_feature: list[str], count_phases: list[str], statistic: str = "mean",
                   exclude_disturbed: bool = False, uarch: str = "") -> CollectConfig:
    """The frozen CollectConfig for `hwprof collect`'s options, each checked (a bad one is one error line)."""
    from hwprof.analysis.robust import STATISTICS
    from hwprof.collect import CollectConfig
    from hwprof.data.paths import default_results
    from hwprof.workloads.module import FEATURES

    from hwprof.backends import BACKENDS, BackendError, backend_class
    from hwprof.backends.cachegrind import parse_geometry

    try:
        geometry = parse_geometry(sim_cache)
    except BackendError as exc:
        fail(str(exc))
    if uarch and (backend not in BACKENDS or "uarch" not in backend_class(backend).OPTIONS):
        fail(f"--uarch {uarch!r} sets the front-end model's microarchitecture: it needs --backend frontend")
    if mode not in ("cold", "warm"):
        fail(f"--mode {mode!r}: choose cold or warm")
    if stdin is not None and not stdin.is_file():
        fail(f"--stdin {str(stdin)!r} is not a file")
    if unknown_imports not in ("", "trap"):
        fail(f"--unknown-imports {unknown_imports!r}: the one policy is trap")
    for feature in wasm_feature:
        if feature not in FEATURES:
            fail(f"--wasm-feature {feature!r} is not a proposal hwprof knows (choose from: {', '.join(FEATURES)})")
    if statistic not in STATISTICS:
        fail(f"--statistic must be one of {', '.join(STATISTICS)}, not {statistic!r}")
    args = list(args or [])
    if cpu is not None and cpu != "auto" and not cpu.isdigit():
        fail(f"--cpu {cpu!r}: a CPU number or auto")
    config = CollectConfig(
        workload=workload, runtime=runtime, size=size, backend=backend,
        events=tuple(e.strip() for item in events for e in item.split(",") if e.strip()), event_map=event_map,
        repetitions=repetitions, warmup=warmup, cpu=int(cpu) if cpu and cpu.isdigit() else cpu, timeout=timeout,
        memory_limit=_size_bytes(memory_limit),
        results=results or default_results(), opt_level=opt_level, sim_geometry=geometry, sim_uarch=uarch,
        dirs=_dirs(dirs), mode=mode, invocations=invocations,
        count_phases=tuple(p.strip() for item in count_phases for p in item.split(",") if p.strip()),
        args=tuple(module_arg) + (() if invoke else tuple(args)), invoke_args=tuple(args) if invoke else (),
        env=_env(env),
        stdin=stdin.resolve() if stdin else None, invoke=invoke, unknown_imports=unknown_imports,
        features=tuple(wasm_feature),
        max_output=_size_bytes(max_output, "--max-output", 0, "a size cannot be negative"), statistic=statistic,
        exclude_disturbed=exclude_disturbed)
    return config


def _run(config: CollectConfig, quiet: bool) -> CollectResult:
    """One collect, its progress on stderr; a failure or an interruption is one error line and its exit status."""
    from hwprof.collect import CollectError
    from hwprof.collect import collect as run_collect

    progress = None if quiet else (lambda msg: typer.echo(f"hwprof: {msg}", err=True))
    try:
        with signals_as_interrupts():
            return run_collect(config, progress=progress)
    except CollectError as exc:
        fail(str(exc))
    except KeyboardInterrupt as exc:
        what, code = interrupted_exit(exc)
        fail(f"interrupted by {what}; repetitions finished so far are in the store", code)


def summary(config: CollectConfig, result: CollectResult) -> list:
    """The collect's summaries: config.statistic with its interval, flagged repetitions left out if asked."""
    from hwprof.analysis import stats

    exclude = frozenset(result.flagged) if config.exclude_disturbed else frozenset()
    return stats.summarize(result.records, config.statistic, exclude=exclude)


def _show(config: CollectConfig, result: CollectResult, as_json: bool) -> None:
    """A collect's summary: JSON, or its notes, a table per phase and where it is stored."""
    from hwprof.analysis import table

    summaries = summary(config, result)
    excluded = len(result.flagged) if config.exclude_disturbed else 0
    if as_json:
        typer.echo(json.dumps({"session_id": result.session_id, "results": str(config.results),
                               "run_files": [str(p) for p in result.run_files], "notes": result.notes,
                               "disturbed": result.disturbed, "excluded": excluded, "statistic": config.statistic,
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
    typer.echo(table.render(summaries, title, config.repetitions))
    if result.disturbed:
        what = "left out of the summary" if config.exclude_disturbed else "kept in the summary (--exclude-disturbed " \
                                                                          "leaves them out)"
        typer.echo(f"disturbed: {result.disturbed} of {config.repetitions} repetitions flagged by their noise record, "
                   f"{what}; all stay in the store (`disturbed` in their provenance says why)")
    elif config.exclude_disturbed:
        typer.echo(f"disturbed: none of {config.repetitions} repetitions flagged by their noise record; none left out")
    typer.echo(f"stored: {config.results} (session {result.session_id}); load with hwprof.load_results()")
