"""`hwprof codegen`: the machine code each target made of one module, measured per target, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from hwprof.cli_common import fail


# Per weighting, the module row's own counts shown below its metrics.
MODULE_EXTRAS = {"static": ("apart_functions", "apart_bytes"), "dynamic": ("ran_functions",)}


def _frames(result):
    """The rows as a tidy frame, and per weighting and scope a wide one: metric down, target across (static first)."""
    import pandas as pd

    from hwprof.codegen.metrics import METRICS

    tidy = pd.DataFrame(result.rows)
    wide = {}
    for weighting, extras in MODULE_EXTRAS.items():
        for scope in ("module", "function"):
            part = tidy[(tidy["scope"] == scope) & (tidy["weighting"] == weighting)]
            if part.empty:
                continue
            shown = [m for m in METRICS if m in part.columns] + \
                [c for c in extras if scope == "module" and c in part.columns]
            table = part.set_index("target")[shown].T
            table.insert(0, "metric", table.index)
            wide[scope if weighting == "static" else f"{scope} ({weighting})"] = table.reset_index(drop=True)
    return tidy, wide


def _title(result, key: str) -> str:
    scope, _, weighting = key.partition(" (")
    title = "module: the module's own compiled functions" if scope == "module" else \
        f"function {result.function} ({result.chosen_by})"
    if weighting:
        title += ("; dynamic: each instruction weighted by its executions in one callgrind run of the execute phase"
                  + (" (the wasm functions that ran)" if scope == "module" else ""))
    return title


def codegen(
    workload: str = typer.Argument(..., help="A bundled workload (hwprof workloads list) or a path to a .wasm."),
    runtime: list[str] = typer.Option([], "--runtime", "-r", help="A target whose code to read (repeatable; "
                                      "default: every target whose code can be read here)."),
    size: Optional[str] = typer.Option(None, "--size", help="The bundled workload's size (default: its default)."),
    function: str = typer.Option("", "--function", "-f", help="The wasm function to show (its name, or function[N]; "
                                 "default: the hottest by execution)."),
    arch: Optional[str] = typer.Option(None, "--arch", help="The ISA to compile for where a target can "
                                       "cross-compile (x86_64, aarch64; default: this machine's)."),
    opt_level: str = typer.Option("speed", "--opt-level", help="Cranelift's opt level (none, speed, speed_and_size)."),
    build_opt: str = typer.Option("-O2", "--opt", help="The bundled workload's build: -O2, -O3 or -Os (zig cc)."),
    diff: Optional[str] = typer.Option(None, "--diff", help="Two targets, A,B: the function's code side by side "
                                       "(aligned by wasm offset where both keep an address map, else by block)."),
    csv_out: Optional[Path] = typer.Option(None, "--csv", help="Also write the rows as CSV."),
    md_out: Optional[Path] = typer.Option(None, "--markdown", help="Also write the tables as Markdown."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON: one object per target and scope."),
    results: Optional[Path] = typer.Option(None, "--results", help="Also keep the rows in this results store, for "
                                           "`hwprof report`'s codegen section."),
    dynamic: bool = typer.Option(False, "--dynamic", help="Also weigh every metric by executed instructions: runs "
                                 "each target once under callgrind for its execute phase (slow; valgrind)."),
):
    """The machine code each compiler made of the same wasm: metrics per target, for the module and one function."""
    import json
    import platform

    from hwprof.analysis.table import markdown, text_table
    from hwprof.codegen.artefacts import ArtefactError
    from hwprof.codegen.run import CodegenConfig, run, store
    from hwprof.data.store import atomic_write_text
    from hwprof.workloads import WorkloadError

    from hwprof.runtimes.wasmtime import OPT_LEVELS

    if opt_level not in OPT_LEVELS:
        fail(f"--opt-level {opt_level!r}: not a Cranelift opt level (choose from: {', '.join(OPT_LEVELS)})")
    pair: tuple[str, ...] = ()
    if diff is not None:
        pair = tuple(t.strip() for t in diff.split(","))
        if len(pair) != 2 or not all(pair):
            fail(f"--diff {diff!r}: give two targets, A,B (e.g. wasmtime,wasm2c-llvm)")
    targets = tuple(dict.fromkeys(list(runtime) + list(pair)))
    config = CodegenConfig(workload, size, targets, function, arch or platform.machine(), opt_level,
                           dynamic=dynamic and not pair, build_opt=build_opt)     # --diff shows code, not counts
    try:
        result = run(config)
    except (ArtefactError, WorkloadError) as exc:
        fail(str(exc))
    if pair:
        _print_diff(result, pair, as_json)
        return
    tidy, wide = _frames(result)
    if results:
        kept = store(result, config, results)
        typer.echo(f"stored: {kept}", err=True)
    if csv_out:
        atomic_write_text(csv_out, tidy.to_csv(index=False))
    if md_out:
        atomic_write_text(md_out, "\n\n".join(f"**{scope}**\n\n{markdown(t)}" for scope, t in wide.items()) + "\n")
    if as_json:
        typer.echo(json.dumps(result.rows, indent=1))
        return
    for target, flags in result.provenance.items():
        typer.echo(f"{target}: {flags}")
    for key, table in wide.items():
        typer.echo("")
        typer.echo(text_table(table, _title(result, key)))
    for target, why in result.unavailable.items():
        typer.echo(f"unavailable: {target}: {why}")


def _print_diff(result, pair, as_json: bool) -> None:
    import json

    from hwprof.codegen import diff as code_diff

    missing = [t for t in pair if t not in result.artefacts]
    if missing:
        fail(f"--diff: no code from {missing[0]}: {result.unavailable.get(missing[0], 'not read')}")
    left, right = (result.artefacts[t] for t in pair)
    from hwprof.codegen.artefacts import ArtefactError

    try:
        rows = code_diff.align((left, left.function(result.function)), (right, right.function(result.function)))
    except ArtefactError as exc:     # a function one side does not have, naming what it has
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in rows], indent=1))
        return
    typer.echo(f"{result.function}: {pair[0]} ({left.flags}) | {pair[1]} ({right.flags})")
    typer.echo(code_diff.render(rows, titles=pair))
