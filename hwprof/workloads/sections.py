"""Custom sections of a built module: keep the name section, drop the rest (zig links DWARF in without -s).

zig cc's -s strips every custom section, the name section with them; without -s it keeps its libc's DWARF
(~40 times the module). A bundled module keeps its function names and nothing else: its other sections,
code included, are byte for byte those of the -s build (tests/test_codegen_elf.py checks it). The name
section's module name is dropped too: the linker writes the output file's name there, and a build is
written to a temporary file whose name holds the process id, so keeping it would make builds differ.
"""

from __future__ import annotations

_CUSTOM = 0
_MODULE_NAME = 0          # the name section's subsection naming the module


def _uleb(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if at >= len(data):
            raise ValueError("truncated WebAssembly module")
        b = data[at]
        at += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, at


def _custom_name(data: bytes, body: int) -> str:
    n, at = _uleb(data, body)
    return data[at:at + n].decode("utf-8", "replace")


def keep_custom_sections(wasm: bytes, keep: tuple[str, ...] = ("name",)) -> bytes:
    """The module with every custom section dropped but those named in `keep` (ValueError if malformed)."""
    if wasm[:4] != b"\0asm" or len(wasm) < 8:
        raise ValueError("not a WebAssembly module (no \\0asm magic)")
    out, at = [wasm[:8]], 8
    while at < len(wasm):
        body_at = at + 1
        size, body_at = _uleb(wasm, body_at)
        end = body_at + size
        if end > len(wasm):
            raise ValueError("truncated WebAssembly module (a section runs past the end)")
        if wasm[at] != _CUSTOM:
            out.append(wasm[at:end])
        elif _custom_name(wasm, body_at) == "name" and "name" in keep:
            out.append(_section(_CUSTOM, _without_module_name(wasm, body_at, end)))
        elif _custom_name(wasm, body_at) in keep:
            out.append(wasm[at:end])
        at = end
    return b"".join(out)


def _without_module_name(wasm: bytes, body: int, end: int) -> bytes:
    n, at = _uleb(wasm, body)
    at += n
    kept = [wasm[body:at]]
    while at < end:
        size, sub = _uleb(wasm, at + 1)
        if wasm[at] != _MODULE_NAME:
            kept.append(wasm[at:sub + size])
        at = sub + size
    return b"".join(kept)


def _section(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + _leb(len(body)) + body


def _leb(value: int) -> bytes:
    out = bytearray()
    while True:
        b, value = value & 0x7F, value >> 7
        out.append(b | (0x80 if value else 0))
        if not value:
            return bytes(out)
