"""The `hwprof` command line: thin commands that parse options into a config and call one library function.

The app is put together here; the command functions live in hwprof/commands/ or beside the library code
they call (hwprof/analysis/commands.py, hwprof/report/cli.py, hwprof/gem5/cli.py).
"""

from __future__ import annotations

import sys

import typer

from hwprof.cli_common import fail

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Why is one WebAssembly runtime faster than another on this CPU?")


@app.callback()
def _check_environment() -> None:
    """Why is one WebAssembly runtime faster than another on this CPU?"""
    from hwprof.data.cpu import IdentityError, forced

    try:
        forced()          # a malformed HWPROF_CPU_ID is one line here, not a traceback in whatever reads it
    except IdentityError as exc:
        fail(f"HWPROF_CPU_ID: {exc}")


def _register() -> None:
    """Every command and command group, in the order `hwprof --help` lists them."""
    from hwprof.analysis import commands as analysis_commands
    from hwprof.commands import campaign, codegen, collect, compare, doctor, events, schedule, serve, validate_frontend, workloads
    from hwprof.gem5.cli import gem5_sweep
    from hwprof.report.cli import report

    app.add_typer(events.events_app, name="events")
    app.add_typer(workloads.workloads_app, name="workloads")
    app.command(context_settings={"allow_interspersed_args": True})(collect.collect)
    app.command()(campaign.campaign)
    app.command()(compare.compare)
    app.command("validate-frontend")(validate_frontend.validate_frontend)
    app.command()(codegen.codegen)
    app.command()(serve.serve)
    app.command()(schedule.schedule)
    app.command("schedule-trace")(schedule.schedule_trace)
    app.command()(doctor.doctor)
    app.command()(workloads.build)
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
