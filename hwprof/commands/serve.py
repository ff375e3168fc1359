"""`hwprof serve`: serve wasm functions over HTTP (bundled workloads, and the modules a config file names)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from hwprof.cli_common import fail, interrupted_exit, signals_as_interrupts
from hwprof.serve.targets import DEFAULT_TARGETS


def serve(
    port: int = typer.Option(8080, "--port", help="The TCP port (0: any free one; the first line says which)."),
    host: str = typer.Option("127.0.0.1", "--host", help="The address to listen on (loopback by default)."),
    config: Optional[Path] = typer.Option(None, "--config", help="A TOML file naming modules: [function.NAME] "
                                          "wasm = \"file.wasm\" (optional timeout_s, memory_limit)."),
    memory_budget: str = typer.Option("256M", "--memory-budget", help="Bytes of cached artefacts kept at once "
                                      "(least recently used evicted first)."),
    targets: str = typer.Option(",".join(DEFAULT_TARGETS),
                                "--targets", help="The targets served, comma-separated; the first is the default."),
    log: Optional[Path] = typer.Option(None, "--log", help="Append one JSON line per finished request here."),
    workers: int = typer.Option(2, "--workers", help="Worker processes (each runs one request at a time)."),
    timeout: float = typer.Option(30.0, "--timeout", help="Time limit per request, in seconds."),
    memory_limit: str = typer.Option("256M", "--memory-limit", help="Linear memory limit per instance."),
    keep_alive: Optional[float] = typer.Option(None, "--keep-alive", help="Evict an artefact unused this many "
                                               "seconds (default: only when the budget is full)."),
    policy: str = typer.Option("single", "--policy", help="single: the default target; tiered: a fast tier "
                               "(Winch or Pulley) while Cranelift compiles in the background."),
    max_body: str = typer.Option("64K", "--max-body", help="The largest request body accepted (413 beyond)."),
    stop: str = typer.Option("kill", "--stop", help="How a Wasmtime request past its time limit is stopped: "
                             "kill (the worker ends and restarts, losing its modules; code as hwprof measures "
                             "it) or epoch (epoch interruption: modules kept, but every loop pays a check)."),
):
    """Serve wasm functions over HTTP: POST /run/FUNCTION, GET /metrics, GET /healthz (SIGTERM stops gracefully)."""
    from hwprof.serve.app import serve as run_host
    from hwprof.serve.config import ServeConfig, ServeConfigError, parse_size, read_functions

    try:
        settings = ServeConfig(host=host, port=port, functions=read_functions(config) if config else (),
                               targets=tuple(t.strip() for t in targets.split(",") if t.strip()),
                               memory_budget=parse_size(memory_budget), keep_alive_s=keep_alive,
                               memory_limit=parse_size(memory_limit), timeout_s=timeout, workers=workers,
                               max_body=parse_size(max_body), policy=policy, log=log, stop=stop)
    except ServeConfigError as exc:
        fail(str(exc))
    try:
        # uvicorn stops gracefully on SIGTERM, then raises the signal again: here it ends the command.
        with signals_as_interrupts():
            run_host(settings)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    except KeyboardInterrupt as exc:
        name, code = interrupted_exit(exc)
        typer.echo(f"hwprof serve: stopped ({name}); requests in flight were finished", err=True)
        raise typer.Exit(code)
