"""Test tool: a minimal command-line WASI runtime on the wasmtime package, standing in for a CLI runtime
(no bench imports, preopens from --dir HOST::GUEST) where none is installed.

    python pywasi_run.py [--dir HOST::GUEST]... MODULE.wasm [ARGS...]
"""

import sys

import wasmtime


def main(argv):
    dirs = []
    while argv and argv[0] == "--dir":
        host, guest = argv[1].split("::")
        dirs.append((host, guest))
        argv = argv[2:]
    module_path, args = argv[0], argv[1:]
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = [module_path] + args
    wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    for host, guest in dirs:
        wasi.preopen_dir(host, guest)
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, module_path))
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as exc:
        return exc.code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
