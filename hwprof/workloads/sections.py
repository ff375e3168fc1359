"""Sections of a module rewritten: a built module's name section, and a cap on its memories.

The name section is taken from an unstripped link and added to the stripped (-s) module.

zig cc's -s strips every custom section, the name section with them, and it also changes code: zig
compiles its own compiler_rt with or without debug info, and the two differ (math.ldexp in attitude and
canny). So a bundled module is the -s build, byte for byte, plus the name section of a second link
without -s (its DWARF left out), provided both links number the same functions the same way (imports,
function and export sections equal). The linker writes the output file's name as the module name; that
subsection is dropped, for the build's file is temporary and its name holds the process id.

Also: a module's memories capped at a number of pages (the memory section's maximums lowered), for hosts
whose engine has no per-instance memory limit (hwprof serve's node and wasmer targets).
"""

from __future__ import annotations

_CUSTOM, _IMPORT, _FUNCTION, _MEMORY, _EXPORT = 0, 2, 3, 5, 7
_MODULE_NAME = 0          # the name section's subsection naming the module
_HAS_MAXIMUM, _KNOWN_LIMIT_FLAGS = 0x01, 0x07     # limits flags: has-maximum, shared, memory64


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


def _leb(value: int) -> bytes:
    out = bytearray()
    while True:
        b, value = value & 0x7F, value >> 7
        out.append(b | (0x80 if value else 0))
        if not value:
            return bytes(out)


def sections(wasm: bytes) -> list[tuple[int, str, bytes]]:
    """The module's sections in order: (id, custom section's name or '', the whole section's bytes)."""
    if wasm[:4] != b"\0asm" or len(wasm) < 8:
        raise ValueError("not a WebAssembly module (no \\0asm magic)")
    out, at = [], 8
    while at < len(wasm):
        size, body = _uleb(wasm, at + 1)
        end = body + size
        if end > len(wasm):
            raise ValueError("truncated WebAssembly module (a section runs past the end)")
        name = ""
        if wasm[at] == _CUSTOM:
            n, start = _uleb(wasm, body)
            name = wasm[start:start + n].decode("utf-8", "replace")
        out.append((wasm[at], name, wasm[at:end]))
        at = end
    return out


def keep_custom_sections(wasm: bytes, keep: tuple[str, ...] = ("name",)) -> bytes:
    """The module with every custom section dropped but those named in `keep` (ValueError if malformed)."""
    return wasm[:8] + b"".join(raw for kind, name, raw in sections(wasm) if kind != _CUSTOM or name in keep)


def with_name_section(stripped: bytes, unstripped: bytes) -> bytes:
    """The stripped module plus the unstripped one's name section (no module name); unchanged if they differ
    in their function index space or the unstripped one has no name section."""
    index_space = lambda wasm: [raw for kind, _, raw in sections(wasm) if kind in (_IMPORT, _FUNCTION, _EXPORT)]
    names = [raw for kind, name, raw in sections(unstripped) if kind == _CUSTOM and name == "name"]
    if not names or index_space(stripped) != index_space(unstripped):
        return stripped
    return stripped + _without_module_name(names[0])


def _without_module_name(section: bytes) -> bytes:
    _, body = _uleb(section, 1)
    n, at = _uleb(section, body)
    at += n
    kept = [section[body:at]]
    while at < len(section):
        length, sub = _uleb(section, at + 1)
        if section[at] != _MODULE_NAME:
            kept.append(section[at:sub + length])
        at = sub + length
    content = b"".join(kept)
    return bytes([_CUSTOM]) + _leb(len(content)) + content


def with_memory_maximum(wasm: bytes, pages: int) -> bytes:
    """The module with every memory it defines capped at `pages` 64 KiB pages (its maximum lowered, or set
    where it had none), so a memory.grow past the cap fails; ValueError when a memory starts above the cap."""
    return wasm[:8] + b"".join(_capped(raw, pages) if kind == _MEMORY else raw for kind, _, raw in sections(wasm))


def _capped(section: bytes, pages: int) -> bytes:
    _, at = _uleb(section, 1)
    count, at = _uleb(section, at)
    limits = [_leb(count)]
    for _ in range(count):
        flags, at = section[at], at + 1
        if flags & ~_KNOWN_LIMIT_FLAGS:
            raise ValueError(f"memory limits with flags 0x{flags:02x} (custom page sizes?) cannot be capped")
        initial, at = _uleb(section, at)
        maximum = pages
        if flags & _HAS_MAXIMUM:
            declared, at = _uleb(section, at)
            maximum = min(declared, pages)
        if initial > maximum:
            raise ValueError(f"memory limit: the module's initial linear memory ({initial} pages of 64 KiB) is "
                             f"over the limit ({pages} pages)")
        limits.append(bytes([flags | _HAS_MAXIMUM]) + _leb(initial) + _leb(maximum))
    content = b"".join(limits)
    return bytes([_MEMORY]) + _leb(len(content)) + content
