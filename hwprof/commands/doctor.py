"""`hwprof doctor`: what this machine can measure, from hwprof.doctor's diagnosis."""

from __future__ import annotations

import json
from typing import Optional

import typer

from hwprof.cli_common import fail


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

