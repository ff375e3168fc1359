"""The wasmer helper of a serving worker: `python -m hwprof.serve.wasmer_host CACHE` (see hwprof/serve/wasmer.py).

One JSON job a line on stdin, one JSON answer a line on stdout:
    {"op": "compile", "wasm", "keep"} -> {"cold", "bytes", "path"}: a fresh SDK client and sandbox with the
        module packaged and compiled, or loaded from the SDK's on-disk cache under CACHE (the NUL-argument run
        of hwprof.runtimes.wasmer_host: the SDK compiles, then refuses the argument before instantiating);
        kept for the run that follows when "keep" says one does.
    {"op": "run", "argv", "stdout", "stderr", "timeout_s"} -> {"exit_code", "error", "phases", "restart"}:
        one run of _start in that client (instantiate and _start are one SDK call), then the client goes.
    {"op": "ping"} -> {}: an answer once the SDK is loaded.
A fresh client per request keeps nothing in this process: what is kept is the file in the SDK's cache.
The SDK's timeout ends a run but not the thread running its wasm, so a timed-out answer says "restart"
and the worker kills this process.
"""

import asyncio
import gc
import glob
import hashlib
import json
import os
import signal
import sys

from hwprof.runtimes.wasmer_host import OUTPUT_BYTES, HostError, _one_line, install_compiled

session: dict = {}


def _artefact(cache: str, digest: str) -> str:
    """The SDK's compiled file for a module (named by the sha256 of its bytes), or ''."""
    found = glob.glob(os.path.join(cache, "cache-v1", "compiled", "**", f"{digest.upper()}.bin"), recursive=True)
    return found[0] if found else ""


async def _close() -> None:
    for part in ("sandbox", "wasmer"):
        if part in session:
            await session.pop(part).close()
    session.clear()
    gc.collect()                  # a client's runtime threads end when it is collected


async def compile_(sdk, cache: str, job: dict) -> dict:
    """A fresh client with the module compiled or loaded from disk; whether it was compiled (cold)."""
    await _close()
    with open(job["wasm"], "rb") as f:
        wasm = f.read()
    digest = hashlib.sha256(wasm).hexdigest()
    cold = not _artefact(cache, digest)
    session["wasmer"] = wasmer = sdk.Wasmer(cache_root=cache, output_bytes=OUTPUT_BYTES)
    session["sandbox"] = sandbox = await wasmer.sandboxes.create(network=sdk.NetworkPolicy.DISABLED)
    definition = sdk.PackageDefinition(modules={"main": wasm},
                                       commands={"main": sdk.PackageCommandDefinition(module="main")})
    try:
        package = await install_compiled(sdk, wasmer, sandbox, definition)
    except (sdk.WasmerError, HostError) as exc:
        return {"error": _one_line(exc)}
    path = _artefact(cache, digest)
    if not path:
        return {"error": "the SDK wrote no compiled artefact to its cache: this wasmer-sdk version keeps modules "
                         "elsewhere"}
    session["package"] = package
    answer = {"cold": cold, "bytes": os.path.getsize(path), "path": path}
    if not job.get("keep"):
        await _close()            # a compile only (in the background): no run follows
    return answer


async def run(sdk, job: dict) -> dict:
    """One run of _start in the compiled session, bounded by the SDK's timeout."""
    out = {"exit_code": None, "error": None, "phases": {}, "restart": False}
    if "package" not in session:
        return {**out, "error": "no module is compiled here"}
    command = session["sandbox"].command(session["package"], list(job["argv"][1:]))
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    try:
        output = await command.run(check=False, timeout=float(job["timeout_s"]))
    except sdk.WasmerError as exc:
        return {**out, "error": f"wasm trap: {_one_line(exc)}" if "RuntimeError" in str(exc) else _one_line(exc),
                "phases": {"execute_s": loop.time() - t0}}
    finally:
        await _close()
    out["phases"]["execute_s"] = loop.time() - t0
    with open(job["stdout"], "wb") as stdout, open(job["stderr"], "wb") as stderr:
        stdout.write(output.stdout.bytes)
        stderr.write(output.stderr.bytes)
    if output.reason is sdk.ExitReason.TIMEOUT:
        return {**out, "restart": True,
                "error": f"time limit: the function ran past {job['timeout_s']:g} s and was stopped"}
    if output.reason is not sdk.ExitReason.EXITED:
        return {**out, "error": f"the SDK ended the run ({output.reason.value})"}
    out["exit_code"] = output.exit_code
    if output.exit_code:
        out["error"] = f"the function exited with status {output.exit_code}"
    return out


async def main(cache: str) -> None:
    import wasmer_sdk as sdk

    for line in sys.stdin:
        job = json.loads(line)
        try:
            if job["op"] == "ping":
                answer = {}
            else:
                answer = await (compile_(sdk, cache, job) if job["op"] == "compile" else run(sdk, job))
        except Exception as exc:             # the helper answers, whatever went wrong
            answer = {"error": f"the wasmer helper failed: {type(exc).__name__}: {_one_line(exc)}", "phases": {}}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # the worker stops us (stdin closes)
    asyncio.run(main(sys.argv[1]))
    sys.stdout.flush()
    os._exit(0)                   # without the SDK's teardown: after a trap its runtime threads can abort the exit
