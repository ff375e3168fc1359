"""The measured process for the in-process Wasmtime target: `python -m hwprof.runtimes.wasmtime_host JOB.json`.

Kept to the standard library, ctypes and wasmtime so that the bootstrap phase is the host's real start-up.
Phase edges go through the C helper; bench.start / bench.end are the helper's C functions handed to
Wasmtime's C API, so a marker never enters the Python interpreter.
"""

import contextlib
import ctypes
import json
import os
import sys


def _affinity_report() -> dict:
    from hwprof.native import thread_affinities

    return {"affinity": sorted(os.sched_getaffinity(0)), "threads": thread_affinities()}


def _one_line(exc: Exception) -> str:
    """The line of a Wasmtime error that says what happened (the cause, not the backtrace header)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if "Caused by:" in lines:
        cause = lines[lines.index("Caused by:") + 1:]
        return cause[-1].lstrip("0123456789: ") if cause else lines[0]
    return lines[0] if lines else type(exc).__name__


def _define_marker(wasmtime, linker, name: bytes, address: int) -> None:
    ffi = wasmtime._bindings
    ty = wasmtime.FuncType([], [])
    callback = ctypes.cast(address, ffi.wasmtime_func_unchecked_callback_t)
    finalizer = ctypes.CFUNCTYPE(None, ctypes.c_void_p)()
    err = ffi.wasmtime_linker_define_func_unchecked(linker.ptr(), b"bench", 5, name, len(name), ty.ptr(),
                                                     callback, None, finalizer)
    if err:
        raise wasmtime.WasmtimeError._from_ptr(err)


def _wasi(wasmtime, job):
    """The module's WASI context: argv, environment, standard streams and the folders it was given."""
    wasi = wasmtime.WasiConfig()
    wasi.argv = [os.path.basename(job["wasm"])] + list(job.get("args", []))
    wasi.env = [tuple(kv) for kv in job.get("env", [])]
    if job.get("stdin"):
        wasi.stdin_file = job["stdin"]
    wasi.stdout_file = job["stdout"]
    wasi.stderr_file = job["stderr"]
    for host, guest in job.get("dirs", []):
        wasi.preopen_dir(host, guest)
    return wasi


ERRNO_PERM = 63   # WASI preview 1's errno for "operation not permitted"


def _refuse_symlinks(wasmtime, linker) -> None:
    """No symbolic link may be made in a preopened folder (hwprof's sandbox rule: nothing may lead out of it)."""
    linker.allow_shadowing = True
    i32 = wasmtime.ValType.i32()
    linker.define_func("wasi_snapshot_preview1", "path_symlink", wasmtime.FuncType([i32] * 5, [i32]),
                       lambda *args: ERRNO_PERM)
    linker.allow_shadowing = False


def _number(kind: str, text: str):
    return int(text, 0) if kind in ("i32", "i64") else float(text)


def _invoke(wasmtime, job, engine, linker, module, markers, phase, pc, result):
    """One invocation: instantiate in a fresh store, then run _start (or the --invoke export).

    Returns an exit code to stop with, or None to go on.
    """
    store = wasmtime.Store(engine)
    if job.get("memory_limit"):
        store.set_limits(memory_size=int(job["memory_limit"]))
    store.set_wasi(_wasi(wasmtime, job))
    export = job.get("invoke") or "_start"
    with phase("instantiate"):
        instance = linker.instantiate(store, module)
        exports = instance.exports(store)
        if job.get("invoke") and exports.get("_initialize") is not None:
            exports["_initialize"](store)       # a reactor's set-up belongs to instantiation
    if job.get("stop_after") == "instantiate":
        return None
    entry = exports.get(export)
    if entry is None:
        result["error"] = ("the module exports no _start function (not a WASI command; --invoke calls another export)"
                           if export == "_start" else f"the module exports no function {export!r}")
        return 3
    args = [_number(kind, text) for kind, text in job.get("invoke_args", [])]
    result["stage"] = "execute"
    if not markers:
        pc.begin("execute")
    try:
        returned = entry(store, *args)
        result["exit_code"] = 0
    except wasmtime.ExitTrap as exc:
        result["exit_code"] = exc.code
        returned = None
    finally:
        if not markers:
            pc.end("execute")
    if job.get("invoke") and result["exit_code"] == 0:
        values = returned if isinstance(returned, list) else ([] if returned is None else [returned])
        result.setdefault("invoke_results", []).append([str(v) for v in values])
    return 0 if result["exit_code"] else None


def make_engine(wasmtime, job: dict):
    """The engine the job asks for: compiler strategy, opt level, ISA and the proposals to switch on."""
    config = wasmtime.Config()
    config.parallel_compilation = bool(job.get("parallel_compilation", False))
    # Strategy by the C API's number: 1 Cranelift, 2 Winch (the package's setter knows only the first).
    wasmtime._bindings.wasmtime_config_strategy_set(config.ptr(), int(job.get("strategy", 1)))
    if job.get("opt_level") and int(job.get("strategy", 1)) == 1:
        config.cranelift_opt_level = job["opt_level"]
    if job.get("isa"):
        config.target = job["isa"]     # pulley64: compile to Pulley bytecode for Wasmtime's interpreter
    if job.get("profiler"):
        config.profiler = job["profiler"]   # "perfmap": /tmp/perf-PID.map names the JIT code (off unless asked)
    # Only proposals asked for are switched, and only on: the controller checked this engine has them
    # (Wasmtime aborts on a Config that enables one its compiler lacks).
    for switch in job.get("feature_switches", []):
        setattr(config, switch, True)
    return wasmtime.Engine(config)


def _linker(wasmtime, job: dict, engine, module, pc, result: dict):
    """WASI, the trap policy for unknown imports and the bench markers; whether the module has the markers."""
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    _refuse_symlinks(wasmtime, linker)
    if job.get("unknown_imports") == "trap":
        linker.define_unknown_imports_as_traps(module)
    imports = {(i.module, i.name) for i in module.imports}
    markers = ("bench", "start") in imports and ("bench", "end") in imports
    if markers:
        _define_marker(wasmtime, linker, b"start", pc.address("hwprof_bench_start"))
        _define_marker(wasmtime, linker, b"end", pc.address("hwprof_bench_end"))
        result["boundary"] = "markers"
    return linker, markers


def main(job_path: str) -> int:
    job = json.loads(open(job_path).read())
    from hwprof.native import tie_to_controller

    if not tie_to_controller():
        return 4
    cpu = job.get("cpu")
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    sys.path[:0] = job.get("sys_path", [])
    import wasmtime  # noqa: E402  (part of the bootstrap phase on purpose)
    from hwprof.native import PhaseControl

    pc = PhaseControl(job.get("helper"))
    pc.end("bootstrap")
    if os.environ.get("HWPROF_PERF_MAP") == "1":
        job["profiler"] = "perfmap"     # a profile per instruction asked for the map (never a measured run)
    result = {"stage": "bootstrap", "exit_code": None, "error": None, "boundary": "entry-call",
              "wasmtime_version": getattr(wasmtime, "__version__", "")}

    @contextlib.contextmanager
    def phase(name: str):
        result["stage"] = name
        pc.begin(name)
        try:
            yield
        finally:
            pc.end(name)

    def finish(code: int) -> int:
        result["marks"] = pc.marks()
        result.update(_affinity_report())
        with open(job["result"], "w") as f:
            json.dump(result, f)
        return code

    if job.get("stop_after") == "bootstrap":
        result["stage"] = "done"      # a pass that counts start-up only: compiling would be wasted work
        return finish(0)
    try:
        engine = make_engine(wasmtime, job)
        if job.get("load"):
            with phase("compile"):  # an AOT artefact: loading it is this target's compile phase
                module = wasmtime.Module.deserialize_file(engine, job["load"])
        else:
            with open(job["wasm"], "rb") as f:
                wasm = f.read()
            with phase("compile"):
                module = wasmtime.Module(engine, wasm)
        if job.get("serialize"):
            with open(job["serialize"], "wb") as f:
                f.write(module.serialize())
        if job.get("stop_after") == "compile":
            result["stage"] = "done"
            return finish(0)

        linker, markers = _linker(wasmtime, job, engine, module, pc, result)
        # Warm: the compiled module stays; every invocation gets a fresh store and instance.
        for _ in range(int(job.get("invocations", 1)) if job.get("mode") == "warm" else 1):
            code = _invoke(wasmtime, job, engine, linker, module, markers, phase, pc, result)
            if code is not None:
                return finish(code)
        result["stage"] = "done"
        return finish(0)
    except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
        result["error"] = _one_line(exc)
        result["error_detail"] = str(exc)
        return finish(2)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
