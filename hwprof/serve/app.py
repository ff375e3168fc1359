"""The HTTP side of the serving host: a Starlette app, and uvicorn serving it on one socket.

    POST /run/{function}   {"size": "mini"} | {"args": [...]}, optional "target" -> the run's JSON answer
    GET  /metrics          Prometheus text
    GET  /healthz          {"status": "ok", ...}
    POST /admin/held/{function}     the run's body -> who holds its artefact per target (loopback clients only)
    POST /admin/compile/{function}  {"size", "target"} -> start a background compile (loopback clients only)
    POST /admin/reset               drop every cached artefact: start clean (loopback clients only)

uvicorn stops on SIGTERM or SIGINT gracefully: it stops accepting, lets the requests in flight finish
(each bounded by its time limit), and only then does the host stop its workers.
"""

from __future__ import annotations

import ipaddress
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


async def _planned(request, host: Host):
    """The request of a /run (or /admin) route checked: Planned, or RequestError."""
    from anyio import to_thread

    function = request.path_params["function"]
    if not host.known(function):
        raise RequestError(404, f"unknown function {function!r} (bundled workloads and the config file's)")
    raw = await _body(request, host.config.max_body)
    try:
        body = json.loads(raw) if raw.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(400, f"the body is not JSON: {exc}") from None
    return await to_thread.run_sync(host.plan, function, body)


def _loopback(request) -> None:
    """Refuse an /admin route to a client that is not on this machine's loopback."""
    try:
        local = request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        local = False
    if not local:
        raise RequestError(403, "the /admin routes answer loopback clients only")


def _admin_routes(host: Host) -> list:
    """/admin/held, /admin/compile, /admin/reset: what a live replay of a scheduling policy needs."""
    from anyio import to_thread
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def admin(work):
        async def route(request):
            try:
                _loopback(request)
                return JSONResponse(await work(request))
            except RequestError as exc:
                return JSONResponse({"error": str(exc)}, status_code=exc.status)
        return route

    async def held(request):
        return host.held(await _planned(request, host))

    async def compile_(request):
        planned = await _planned(request, host)
        if planned.target is None:
            raise RequestError(400, "a background compile needs a target")
        return {"started": host.compile_in_background(planned, planned.target)}

    async def reset(request):
        return {"dropped": await to_thread.run_sync(host.reset)}

    return [Route("/admin/held/{function}", admin(held), methods=["POST"]),
            Route("/admin/compile/{function}", admin(compile_), methods=["POST"]),
            Route("/admin/reset", admin(reset), methods=["POST"])]


def make_app(host: Host):
    """The Starlette app over a host."""
    from anyio import to_thread
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    async def run(request):
        function = request.path_params["function"]
        try:
            planned = await _planned(request, host)
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
                             "policy": host.config.policy, "memory_budget": host.cache.budget,
                             "keep_alive_s": host.cache.keep_alive_s})

    return Starlette(routes=[Route("/run/{function}", run, methods=["POST"]), Route("/metrics", metrics),
                             Route("/healthz", healthz), *_admin_routes(host)])


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
