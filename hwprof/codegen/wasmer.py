"""Wasmer's code for a module, read from the compiled module the wasmer-sdk leaves in its cache.

The SDK has no API that gives compiled code (no Module.serialize, no compiler choice): it compiles a
package's command (Cranelift, Wasmer's defaults, as the measured wasmer target) into its module cache,
cache-v1/compiled/<triple>/cranelift/.../<hash>.bin. That file is Wasmer's serialized artifact:
b"wasmer-universal", a MetadataHeader (b"WASMER\\0\\0", u32 version, u32 length) and an rkyv 0.8 archive
of SerializableModule, whose root (at the archive's end) opens with compilation.function_bodies: an
archived vector (i32 relative pointer, u32 length) of FunctionBody, each opening with its body bytes as
another such vector. Those bodies are found and checked (one per defined function, laid end to end from
the archive's start, the root pointing at them) and read in local function order, index = imports + k.

The bytes are Cranelift's before Wasmer links them: calls and references to libcalls are unresolved
relocations (e8 00000000). Addresses are the ones Wasmer's code memory gives them, up to its page-aligned
base: function bodies first, each 16-byte aligned (ARCH_FUNCTION_ALIGNMENT). Trampolines are not read.
The module compiled is the subject's own (a workload's plain build; the measured wasmer target runs its
wasm-wasi-markers build, whose code differs in the two marker functions only).
"""

from __future__ import annotations

import asyncio
import os
import platform
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

from hwprof.codegen.artefacts import Artefact, ArtefactError, Function

MAGIC = b"wasmer-universal"
METADATA = b"WASMER\0\0"
TIME_LIMIT = 300.0                       # seconds the SDK may take to compile the module
FUNCTION_ALIGNMENT = 16                  # Wasmer's ARCH_FUNCTION_ALIGNMENT: each body's start in code memory
ROOT_SPAN = 4096                         # the root object lies within this many bytes of the archive's end
LAYOUT_CHANGED = "the wasmer-sdk's compiled module is not the archive layout hwprof reads"


def wasmer_artefact(subject) -> Artefact:
    """Wasmer's Cranelift code of every function the module defines, from the SDK's compiled module."""
    if subject.arch != platform.machine():
        raise ArtefactError(f"the wasmer-sdk compiles for this machine's ISA only ({platform.machine()}), "
                            f"not {subject.arch}")
    module = subject.functions()
    data = compile_with_sdk(subject.bytes())
    bodies = function_bodies(data, module.defined)
    functions, address = [], 0
    for k, body in enumerate(bodies):
        functions.append(Function(module.imported + k, "", "wasm", address, body))
        address = -(-(address + len(body)) // FUNCTION_ALIGNMENT) * FUNCTION_ALIGNMENT
    flags = ("compiler=cranelift opt_level=speed (the SDK's defaults); code before Wasmer links it (calls are "
             "unresolved relocations); addresses as Wasmer lays functions out, 16-byte aligned")
    return Artefact("wasmer", subject.arch, flags, tuple(functions), calls_resolved=False)


def compile_with_sdk(wasm: bytes) -> bytes:
    """The compiled module the SDK writes to its cache for these bytes, compiled in a child process."""
    with tempfile.TemporaryDirectory(prefix="hwprof-wasmer-") as folder:
        path = Path(folder) / "module.wasm"
        path.write_bytes(wasm)
        try:
            done = subprocess.run([sys.executable, "-m", "hwprof.codegen.wasmer", str(path), folder],
                                  capture_output=True, text=True, timeout=TIME_LIMIT)
        except subprocess.TimeoutExpired:
            raise ArtefactError(f"the wasmer-sdk did not compile the module within {TIME_LIMIT:.0f} s") from None
        found = sorted(Path(folder).glob("cache-v1/compiled/**/*.bin"))
        if done.returncode != 0 or len(found) != 1:
            tail = done.stderr.strip().splitlines()[-1:] or [f"{len(found)} compiled modules in its cache"]
            raise ArtefactError(f"the wasmer-sdk did not compile the module: {tail[0]}")
        return found[0].read_bytes()


def function_bodies(data: bytes, defined: int) -> list[bytes]:
    """Each defined function's machine code from a serialized Wasmer artifact (ArtefactError if not found)."""
    head = len(MAGIC) + len(METADATA) + 8
    if data[:len(MAGIC)] != MAGIC or data[len(MAGIC):len(MAGIC) + len(METADATA)] != METADATA:
        raise ArtefactError(f"{LAYOUT_CHANGED}: it does not open with {MAGIC!r} and {METADATA!r}")
    version, length = struct.unpack_from("<II", data, len(MAGIC) + len(METADATA))
    archive = data[head:]
    if length != len(archive):
        raise ArtefactError(f"{LAYOUT_CHANGED}: its header says {length} archive bytes, it has {len(archive)}")
    if defined == 0:
        return []
    for root in range((len(archive) - 8) & ~3, max(len(archive) - ROOT_SPAN, 0) - 1, -4):
        found = _bodies_at(archive, root, defined)
        if found is not None:
            return found
    raise ArtefactError(f"{LAYOUT_CHANGED} (artifact version {version}): no vector of {defined} function bodies "
                        f"laid end to end from its start")


def _vector(archive: bytes, at: int) -> tuple[int, int]:
    """Where an archived vector at `at` points, and its length."""
    offset, length = struct.unpack_from("<iI", archive, at)
    return at + offset, length


def _bodies_at(archive: bytes, root: int, defined: int) -> list[bytes] | None:
    """The bodies if `root` holds the function_bodies vector: `defined` elements, bodies contiguous from 0."""
    elements, length = _vector(archive, root)
    if length != defined or not 0 <= elements < root or _vector(archive, elements)[0] != 0:
        return None
    for stride in range(8, 65, 4):
        if elements + stride * defined > root:
            break
        spans = [_vector(archive, elements + stride * k) for k in range(defined)]
        end = 0
        for start, size in spans:
            if not end <= start <= end + 64 or start + size > elements:   # bodies in order, small gaps only
                break
            end = start + size
        else:
            return [archive[start:start + size] for start, size in spans]
    return None


async def _compile_here(wasm_path: str, cache: str) -> None:
    import wasmer_sdk as sdk

    from hwprof.runtimes.wasmer_host import _compile

    wasmer = sdk.Wasmer(cache_root=cache)
    sandbox = await wasmer.sandboxes.create(network=sdk.NetworkPolicy.DISABLED)
    definition = sdk.PackageDefinition(modules={"main": Path(wasm_path).read_bytes()},
                                       commands={"main": sdk.PackageCommandDefinition(module="main")})
    await _compile(sdk, wasmer, sandbox, definition, cache)


if __name__ == "__main__":
    # The child: the SDK's compile as the wasmer host does it, then out without the SDK's teardown.
    try:
        asyncio.run(_compile_here(sys.argv[1], sys.argv[2]))
    except Exception as exc:  # noqa: BLE001  (any failure is reported in one line to the parent)
        print(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, file=sys.stderr)
        sys.stderr.flush()
        os._exit(2)
    os._exit(0)
