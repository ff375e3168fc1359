"""What every hwprof command shares: the one-line error and its exit code."""

from __future__ import annotations

import typer


def fail(message: str, code: int = 2) -> None:
    """Print one error line and exit non-zero."""
    typer.echo(f"hwprof: error: {message}", err=True)
    raise typer.Exit(code)
