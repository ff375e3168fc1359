"""The Typer command functions of `hwprof`, one module per command or command group (registered in hwprof/cli.py)."""
