"""The compile phase of the wasm2c targets: wasm2c, then one C compiler run that compiles the module and links.

    python -I -S wasm2c_build.py BUILD.json

BUILD.json (written by hwprof.runtimes.wasm2c) names wasm2c, the module, the compiler and its flags, and the
host's objects, which are compiled once per machine and compiler, outside any measurement. This process does
three things, all measured: run wasm2c on the module, read the header it wrote to see what the module
imports and exports, and run the C compiler on the module's C (glue.c includes it) linked with those
objects. It uses the standard library only, so that its own start-up (a bare interpreter, ~10 ms) stays
small beside the compile.
"""

import json
import os
import re
import subprocess
import sys

# Import modules the host provides, by wasm2c's mangled name, and the argument glue.c passes for each.
HOST_IMPORTS = {"wasi__snapshot__preview1": "wasi", "bench": "bench"}


class BuildError(Exception):
    """A module this host cannot build, with the one line that says why."""


def _run(argv: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, capture_output=True, text=True, env=env)
    except OSError as exc:
        raise BuildError(f"{os.path.basename(argv[0])} could not be run: {exc}") from None


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "(no message)"


def glue_defines(header: str) -> list[str]:
    """The -D flags glue.c needs, from the module header wasm2c wrote (module name 'workload')."""
    found = re.search(r"void wasm2c_workload_instantiate\(w2c_workload\*([^)]*)\);", header)
    if not found:
        raise BuildError("wasm2c wrote a header without wasm2c_workload_instantiate")
    args = []
    for param in filter(None, (p.strip() for p in found.group(1).split(","))):
        name = re.fullmatch(r"struct w2c_(\w+)\*", param)
        if not name or name.group(1) not in HOST_IMPORTS:
            module = name.group(1).replace("__", "_") if name else param
            raise BuildError(f"the module imports from {module!r}, which the wasm2c host does not provide "
                             "(it provides wasi_snapshot_preview1 and bench)")
        args.append(HOST_IMPORTS[name.group(1)])
    markers = "w2c_bench_start(" in header and "w2c_bench_end(" in header
    return [f"-DHWPROF_W2C_IMPORTS={''.join(',' + a for a in args)}",
            f"-DHWPROF_W2C_MARKERS={int(markers)}",
            f"-DHWPROF_W2C_START={int('w2c_workload_0x5Fstart(' in header)}",
            f"-DHWPROF_W2C_MEMORY={int('wasm_rt_memory_t* w2c_workload_memory(' in header)}"]


def _link_error(stderr: str) -> str:
    """A link that failed on an import the host lacks, said as that import; else the compiler's last line."""
    for line in stderr.splitlines():
        symbol = re.search(r"w2c_(wasi__snapshot__preview1|bench)_(\w+)", line) if "undefined" in line else None
        if symbol:
            module = symbol.group(1).replace("__", "_")
            return f"the module imports {module}.{symbol.group(2)}, which the wasm2c host does not define"
    return _last_line(stderr)


def build(spec: dict) -> None:
    """wasm2c the module into the build folder, then compile and link the executable."""
    build_dir = spec["build_dir"]
    os.makedirs(build_dir, exist_ok=True)
    module_c = os.path.join(build_dir, "module.c")
    done = _run([spec["wasm2c"], spec["wasm"], "--module-name=workload", "-o", module_c])
    if done.returncode != 0:
        raise BuildError(f"wasm2c failed: {_last_line(done.stderr)}")
    with open(os.path.join(build_dir, "module.h")) as f:
        defines = glue_defines(f.read())
    includes = [f"-I{d}" for d in [build_dir, spec["source_dir"], *spec["include_dirs"]]]
    argv = [*spec["cc"], *spec["cflags"], *includes, *defines, os.path.join(spec["source_dir"], "glue.c"),
            *spec["objects"], "-o", spec["out"], *spec["libs"]]
    done = _run(argv, env={**os.environ, **spec.get("env", {})})
    if done.returncode != 0:
        raise BuildError(f"compiling the module's C failed: {_link_error(done.stderr)}")


def main(path: str) -> int:
    with open(path) as f:
        spec = json.load(f)
    try:
        build(spec)
    except BuildError as exc:
        print(f"wasm2c build: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
