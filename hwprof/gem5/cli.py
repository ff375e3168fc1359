"""`hwprof gem5-sweep`: the command (registered in hwprof/cli.py as app.command("gem5-sweep")(gem5_sweep))."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from hwprof.cli_common import fail

if TYPE_CHECKING:
    from hwprof.gem5.run import SweepResult
    from hwprof.gem5.tasks import SweepConfig


def _split(items: list[str]) -> tuple[str, ...]:
    return tuple(x.strip() for item in items for x in item.split(",") if x.strip())


class ProgressBar:
    """A one-line progress bar with an ETA on stderr (one line per point when stderr is not a terminal)."""

    def __init__(self, quiet: bool = False):
        self.quiet, self.tty = quiet, sys.stderr.isatty()
        self.ran, self.start, self.open_line = 0, time.monotonic(), False

    def __call__(self, event) -> None:
        if self.quiet:
            return
        if event.status in ("ok", "failed"):
            self.ran += 1
        left = event.total - event.done
        eta = "-"
        if self.ran and left:
            secs = int((time.monotonic() - self.start) / self.ran * left)
            eta = f"{secs // 60}:{secs % 60:02d}"
        bar = "#" * (20 * event.done // max(event.total, 1))
        line = f"[{bar:<20}] {event.done}/{event.total} {event.status}: {event.label}  ETA {eta}"
        if self.tty:
            typer.echo("\r" + line[:150].ljust(150), err=True, nl=False)
            self.open_line = True
        else:
            typer.echo(f"hwprof: {line}", err=True)

    def finish(self) -> None:
        """End the bar's line, if one is open."""
        if self.open_line:
            typer.echo("", err=True)
            self.open_line = False


def gem5_sweep(
    point: Optional[str] = typer.Argument(None, help="Run one sweep point only: a cache size (16KiB) or a "
                                                     "branch predictor (TournamentBP)."),
    cache: Optional[str] = typer.Option(None, "--cache", help="Sweep the size of this L1 cache: l1i or l1d."),
    bp: bool = typer.Option(False, "--bp", help="Sweep the branch predictor (the study's 2-bit, bi-mode, tournament)."),
    sizes: list[str] = typer.Option([], "--sizes", help="Cache sizes, comma-separated or repeated (default: the "
                                                         "standard sweep)."),
    predictors: list[str] = typer.Option([], "--predictors", help="gem5 branch predictors, comma-separated."),
    workloads: list[str] = typer.Option([], "--workload", "-w", help="Bundled workloads (repeatable; default 2mm)."),
    size: Optional[str] = typer.Option(None, "--size", "-s", help="The workloads' size (default: small where a "
                                                                    "workload has it, else its default size)."),
    targets: list[str] = typer.Option([], "--target", "-t", help="gem5: native, wasm2c (default both); cachegrind: "
                                                                  "runtime targets (default native, wasmtime)."),
    simulator: str = typer.Option("gem5", "--simulator", help="gem5, or cachegrind (valgrind's cache simulator, "
                                                              "cache sweeps only) where gem5 is not installed."),
    gem5: Optional[str] = typer.Option(None, "--gem5", help="The gem5 binary (default: gem5.opt on PATH, else "
                                                            "../shared/gem5/gem5.fast beside the project)."),
    isa: str = typer.Option("x86", "--isa", help="gem5 ISA of the SE binaries: x86 or arm."),
    checkpoint: bool = typer.Option(False, "--checkpoint", help="gem5: fast-forward to the region of interest "
                                                                "once, checkpoint, and restore it at every point."),
    fs_kernel: Optional[Path] = typer.Option(None, "--fs-kernel", help="gem5 FS mode: your Linux kernel (vmlinux)."),
    fs_disk: Optional[Path] = typer.Option(None, "--fs-disk", help="gem5 FS mode: your disk image (runtimes on it)."),
    fs_command: Optional[str] = typer.Option(None, "--fs-command",
                                             help="gem5 FS mode: the guest command, passed through readfile and "
                                                  "bracketed by m5 workbegin/workend ({workload}, {size} filled "
                                                  "in), e.g. 'wasmtime /root/{workload}.wasm'; -t names it."),
    executor: str = typer.Option("local", "--executor", help="local (parallel simulations here) or dask."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://host:8786), e.g. "
                                                                      "of a dask-jobqueue SLURMCluster; default with "
                                                                      "--executor dask: a LocalCluster here."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1, help="Parallel points (default: one per CPU)."),
    timeout: float = typer.Option(3600.0, "--timeout", min=1, help="Seconds one simulation may run."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Sweep folder: per-point configs, m5out, figures "
                                                                 "(default results/gem5-sweep)."),
    outdir: Optional[Path] = typer.Option(None, "--outdir", hidden=True, help="The old spelling of --out."),
    results: Optional[Path] = typer.Option(None, "--results", help="Results store for the rows (default "
                                                                   "results/default)."),
    write_only: bool = typer.Option(False, "--write-only", help="Write the configurations and how to run them; "
                                                                "run nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Sweep L1 I-cache or D-cache size (--cache l1i|l1d) or the branch predictor (--bp) under gem5, or the cache
    sizes under valgrind's simulator (--simulator cachegrind), and draw the study's Fig. 11 and Table III.

    Points run in parallel, each in its own folder; each is stored as it ends and never run twice.
    """
    from hwprof.data.paths import default_results
    from hwprof.gem5.tasks import SweepConfig   # here, not above: every hwprof command imports this module

    if bool(cache) == bp:
        fail("choose one sweep: --cache l1i, --cache l1d or --bp")
    if cache and cache not in ("l1i", "l1d"):
        fail(f"--cache {cache!r}: choose l1i or l1d")
    sizes_t, predictors_t = _split(sizes), _split(predictors)
    if point:
        sizes_t, predictors_t = ((), (point,)) if bp else ((point,), ())
    results = results or default_results()
    config = SweepConfig(kind=cache or "bp", simulator=simulator, sizes=sizes_t, predictors=predictors_t,
                         workloads=_split(workloads) or ("2mm",), size=size, targets=_split(targets),
                         outdir=out or outdir or results.parent / "gem5-sweep", results=results, gem5=gem5, isa=isa,
                         checkpoint=checkpoint, executor=executor, workers=jobs, scheduler=scheduler,
                         timeout=timeout, write_only=write_only,
                         fs_kernel=str(fs_kernel) if fs_kernel else None, fs_disk=str(fs_disk) if fs_disk else None,
                         fs_command=fs_command)
    result = _run(config, ProgressBar(quiet or as_json))
    typer.echo(result.text(as_json))
    if result.failure():
        fail(result.failure(), 1)


def _run(config: SweepConfig, bar: ProgressBar) -> SweepResult:
    """run_sweep with its progress bar; its errors and a Ctrl-C as one line."""
    from hwprof.executors import ExecutorError
    from hwprof.gem5.run import run_sweep
    from hwprof.gem5.tasks import SweepError

    try:
        return run_sweep(config, progress=bar)
    except (SweepError, ExecutorError) as exc:
        bar.finish()
        fail(str(exc))
    except KeyboardInterrupt:
        bar.finish()
        fail("interrupted; finished points are stored and will not run again", 130)
    finally:
        bar.finish()
