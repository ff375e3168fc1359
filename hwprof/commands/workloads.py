"""`hwprof workloads list` and `hwprof build`: the bundled workloads, listed and built."""

from __future__ import annotations

import json

import typer

from hwprof.cli_common import fail

workloads_app = typer.Typer(no_args_is_help=True, help="Bundled workloads.")


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


def build(
    names: list[str] = typer.Argument(None, help="Workloads to build (default: all)."),
    size: list[str] = typer.Option([], "--size", "-s", help="Only these sizes (repeatable; default: all)."),
    opt: list[str] = typer.Option(["-O2"], "--opt", help="Optimisation levels: -O2, -O3, -Os (repeatable)."),
    flavour: list[str] = typer.Option(["wasm", "native"], "--flavour", "--target",
                                      help="Builds: wasm and/or native (repeatable; --target is the old spelling)."),
    as_json: bool = typer.Option(False, "--json", help="Print the built artefacts as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
):
    """Build workloads to wasm32-wasi (zig cc) and natively, cached and incremental."""
    from hwprof import workloads as wl

    progress = None if quiet else (lambda msg: typer.echo(f"hwprof: build {msg}", err=True))
    try:
        built = wl.build_all(names or None, size or None, tuple(opt), tuple(flavour), progress)
    except wl.WorkloadError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps([{"name": w.name, "size": w.size, "flavour": w.flavour, "path": str(w.program),
                                "flags": w.flags} for w in built], indent=1))
    else:
        typer.echo(f"{len(built)} artefacts up to date in {wl.cache_dir()}")

