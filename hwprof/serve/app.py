"""The HTTP side of the serving host: a Starlette app, and uvicorn serving it on one socket.

    POST /run/{function}   {"size": "mini"} | {"args": [...]}, optional "target" -> the run's JSON answer
    GET  /metrics          Prometheus text
    GET  /healthz          {"status": "ok", ...}

uvicorn stops on SIGTERM or SIGINT gracefully: it stops accepting, lets the requests in flight finish
(each bounded by its time limit), and only then does the host stop its workers.
"""

from __future__ import annotations

import json
import socket
import sys

from hwprof.serve.config import ServeConfig
from hwprof.serve.host import Host, RequestError
from hwprof.serve.metrics import CONTENT_TYPE


async def _body(request, limit: int) -> bytes:
    """The request's body, refused with 413 past the limit (by its Content-Length, or as it streams)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"the body is {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def make_app(host: Host):
    """The Starlette app over a host."""
    from anyio import to_thread
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    async def run(request):
        function = request.path_params["function"]
        try:
            if not host.known(function):
                raise RequestError(404, f"unknown function {function!r} (bundled workloads and the config file's)")
            raw = await _body(request, host.config.max_body)
            try:
                body = json.loads(raw) if raw.strip() else {}
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise RequestError(400, f"the body is not JSON: {exc}") from None
            planned = await to_thread.run_sync(host.plan, function, body)
        except RequestError as exc:
            host.metrics.reject(exc.status)
            return JSONResponse({"function": function, "error": str(exc)}, status_code=exc.status)
        status, reply = await to_thread.run_sync(host.run, planned)
        return JSONResponse(reply, status_code=status)

    async def metrics(request):
        text = host.metrics.text(host.cache.held_bytes, host.cache.budget, host.cache.evictions)
        return PlainTextResponse(text, media_type=CONTENT_TYPE)

    async def healthz(request):
        return JSONResponse({"status": "ok", "workers": len(host.pool.workers), "targets": list(host.config.targets),
                             "policy": host.config.policy})

    return Starlette(routes=[Route("/run/{function}", run, methods=["POST"]), Route("/metrics", metrics),
                             Route("/healthz", healthz)])


def serve(config: ServeConfig, announce=None) -> None:
    """Serve until SIGTERM/SIGINT: bind, start the workers, say where, then run uvicorn on the socket."""
    import uvicorn

    # IPPROTO_TCP said outright: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it
    # Nagle's algorithm and delayed ACKs add 40 ms to every answer (its headers and body go as two writes).
    sock = socket.socket(socket.AF_INET6 if ":" in config.host else socket.AF_INET, socket.SOCK_STREAM,
                         socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    sock.listen(128)
    host = Host(config)
    address = sock.getsockname()
    (announce or (lambda line: print(line, flush=True, file=sys.stdout)))(
        f"hwprof serve: listening on http://{address[0]}:{address[1]} ({config.workers} workers, "
        f"targets {', '.join(config.targets)}, policy {config.policy})")
    server = uvicorn.Server(uvicorn.Config(make_app(host), log_level="warning", lifespan="off",
                                           timeout_graceful_shutdown=None))
    try:
        server.run(sockets=[sock])
    finally:
        host.close()          # after uvicorn let the requests in flight finish
