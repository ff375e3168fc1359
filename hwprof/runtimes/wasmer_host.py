"""The measured process for the wasmer-sdk target: `python -m hwprof.runtimes.wasmer_host JOB.json`.

Kept to the standard library, ctypes and wasmer_sdk so that the bootstrap phase is the host's real start-up:
Python, the SDK's native library, its Wasmer client (a tokio runtime) and an empty sandbox.

The SDK (0.5) runs a package's command in one call that compiles the module through its module cache,
builds the WASI environment, instantiates and runs `_start`. Compilation comes before the WASI environment
is built, so a run whose argument holds a NUL byte compiles and caches the module, then fails before
anything is instantiated: that call is the compile phase (its artefact must appear in the cache, or the
host says the SDK no longer works that way). A real run then finds the module in the client's in-memory
cache; its instantiation and `_start` are one SDK call, the execute phase.
"""

import asyncio
import glob
import json
import os
import resource
import sys
import time

from hwprof.runtimes.wasmtime_host import _affinity_report

NUL_ARG = "\0"                    # the SDK's WASI set-up refuses it, right after compiling the module
NUL_ERROR = "argument contains null byte"
ARTEFACT_WAIT = 30.0              # seconds to wait for the compiled artefact, should the SDK write it late
DATA_HEADROOM = 64 << 20          # RLIMIT_DATA room for the runtime's own allocations during a run
OUTPUT_BYTES = 256 << 20          # the SDK keeps at most this much of each output stream


class HostError(Exception):
    """A failure this host found (not one the SDK raised)."""


def _one_line(exc: Exception) -> str:
    """The SDK's message without its wrappers and wasm backtrace."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = lines[0] if lines else type(exc).__name__
    for prefix in ("command execution failed: ", "unable to spawn the command: "):
        text = text[len(prefix):] if text.startswith(prefix) else text
    if '"bench"' in text and "unknown import" in text:
        text += " (wasmer-sdk cannot define host functions: run the module's wasm-wasi-markers build)"
    return text


def _compiled(cache: str) -> set[str]:
    """Artefacts in the SDK's compiled-module cache."""
    return set(glob.glob(os.path.join(cache, "cache-v1", "compiled", "**", "*.bin"), recursive=True))


def _data_bytes() -> int:
    """The process's data size, which RLIMIT_DATA limits."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def _files(dirs: list) -> dict:
    """Every file under each (host, guest) folder, by guest path: the SDK takes copies, it cannot preopen."""
    files = {}
    for host, guest in dirs:
        for root, _, names in os.walk(host):
            for name in names:
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    files["/" + os.path.join(guest.strip("/"), os.path.relpath(path, host))] = f.read()
    return files


async def install_compiled(sdk, wasmer, sandbox, definition):
    """Package the module, install it and have the SDK compile it (or load it from its cache) by the
    NUL-argument run; the package. The SDK's own error (WasmerError) or HostError when it ran the module."""
    package = await wasmer.packages.create(definition)
    await sandbox.install_package(package)
    try:
        await sandbox.command(package, [NUL_ARG]).run(check=False)
    except sdk.WasmerError as exc:
        if NUL_ERROR not in str(exc):
            raise
    else:
        raise HostError("the SDK ran the module with a NUL argument: it cannot be compiled apart from its run")
    return package


async def _compile(sdk, wasmer, sandbox, definition, cache: str):
    """Package the module, install it and compile it (the NUL-argument run). Returns the package."""
    before = _compiled(cache)
    package = await install_compiled(sdk, wasmer, sandbox, definition)
    deadline = time.monotonic() + ARTEFACT_WAIT
    while not _compiled(cache) - before:
        if time.monotonic() > deadline:
            raise HostError("the SDK wrote no compiled artefact before its WASI set-up: this wasmer-sdk version "
                            "cannot separate compilation from the run")
        await asyncio.sleep(0.001)
    return package


async def _invoke(sdk, sandbox, package, job: dict, pc, result: dict) -> bool:
    """One run of _start in a fresh instance, with linear memory held by RLIMIT_DATA. True when it exited 0."""
    command = sandbox.command(package, list(job.get("args", [])), env=dict(job.get("env", [])))
    stdin = None
    if job.get("stdin"):
        with open(job["stdin"], "rb") as f:
            stdin = f.read()
    old = resource.getrlimit(resource.RLIMIT_DATA)
    limit = _data_bytes() + int(job["memory_limit"]) + DATA_HEADROOM
    if old[1] != resource.RLIM_INFINITY:
        limit = min(limit, old[1])
    resource.setrlimit(resource.RLIMIT_DATA, (limit, old[1]))
    result["stage"] = "execute"
    pc.begin("execute")
    try:
        output = await command.run(stdin=stdin, check=False)
    finally:
        pc.end("execute")
        resource.setrlimit(resource.RLIMIT_DATA, old)
    with open(job["stdout"], "ab") as out, open(job["stderr"], "ab") as err:
        out.write(output.stdout.bytes)
        err.write(output.stderr.bytes)
    if output.reason is not sdk.ExitReason.EXITED:
        result["error"] = f"the SDK ended the run ({output.reason.value})"
        return False
    if output.stdout.truncated:
        result["error"] = f"the module wrote more than {OUTPUT_BYTES} bytes to stdout (the SDK keeps no more)"
        return False
    result["exit_code"] = output.exit_code
    return output.exit_code == 0


async def _session(job: dict, pc, result: dict, ready) -> None:
    """Bootstrap's end, compile, and every invocation."""
    import wasmer_sdk as sdk  # noqa: E402  (part of the bootstrap phase on purpose)

    wasmer = sdk.Wasmer(cache_root=job["cache"], output_bytes=OUTPUT_BYTES)
    sandbox = await wasmer.sandboxes.create(network=sdk.NetworkPolicy.DISABLED)
    ready()
    if job.get("stop_after") == "bootstrap":
        result["stage"] = "done"      # a pass that counts start-up only: compiling would be wasted work
        return
    with open(job["wasm"], "rb") as f:
        wasm = f.read()
    definition = sdk.PackageDefinition(modules={"main": wasm},
                                       commands={"main": sdk.PackageCommandDefinition(module="main")},
                                       files=_files(job.get("dirs", [])))
    try:
        result["stage"] = "compile"
        pc.begin("compile")
        try:
            package = await _compile(sdk, wasmer, sandbox, definition, job["cache"])
        finally:
            pc.end("compile")
        if job.get("stop_after") == "compile":
            result["stage"] = "done"
            return
        # Warm: the compiled module stays in the client's cache; every run is a new WASI process and instance.
        for _ in range(int(job.get("invocations", 1)) if job.get("mode") == "warm" else 1):
            if not await _invoke(sdk, sandbox, package, job, pc, result):
                return
        result["stage"] = "done"
    except (sdk.WasmerError, HostError) as exc:
        result["error"] = _one_line(exc)
        result["error_detail"] = str(exc)


def main(job_path: str) -> int:
    job = json.loads(open(job_path).read())
    from hwprof.native import tie_to_controller

    if not tie_to_controller():
        return 4
    cpu = job.get("cpu")
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})  # before the SDK starts threads: they inherit it
    from hwprof.native import PhaseControl

    pc = PhaseControl(job.get("helper"))
    result = {"stage": "bootstrap", "exit_code": None, "error": None,
              "boundary": "sdk-run"}

    def ready():
        pc.end("bootstrap")
        result["threads_at_ready"] = _affinity_report()["threads"]

    asyncio.run(_session(job, pc, result, ready))
    result["marks"] = pc.marks()
    result.update(_affinity_report())
    with open(job["result"], "w") as f:
        json.dump(result, f)
    # Leave without the SDK's teardown: after a trap its runtime threads can abort the exit.
    sys.stdout.flush()
    os._exit(2 if result["error"] else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
