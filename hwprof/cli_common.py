"""What every hwprof command shares: the one-line error and its exit code, and signals that end a run cleanly."""

from __future__ import annotations

import contextlib
import signal
import warnings

import typer


def fail(message: str, code: int = 2) -> None:
    """Print one error line and exit non-zero."""
    typer.echo(f"hwprof: error: {message}", err=True)
    raise typer.Exit(code)


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, delivered as Ctrl-C is, so every cleanup a Ctrl-C runs runs for them too."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def signals_as_interrupts():
    """While a long command runs, SIGTERM and SIGHUP raise Interrupted instead of killing the process."""
    def handler(signum, frame):
        raise Interrupted(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def interrupted_exit(exc: KeyboardInterrupt) -> tuple[str, int]:
    """What to call an interruption, and the exit status a shell expects for it (128 + the signal)."""
    signum = getattr(exc, "signum", signal.SIGINT)
    return ("Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name), 128 + signum


@contextlib.contextmanager
def warnings_as_lines():
    """hwprof's own warnings (a skipped run file, ...) as one 'hwprof: warning:' line each on stderr."""
    def show(message, category, filename, lineno, file=None, line=None):
        typer.echo(f"hwprof: warning: {message}", err=True)

    old = warnings.showwarning
    warnings.showwarning = show
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            yield
    finally:
        warnings.showwarning = old
