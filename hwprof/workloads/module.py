"""What a .wasm file says about itself: its imports, its exports and their signatures, the proposals it needs.

Read in the controller, before any measured process starts, so that a bad `--invoke`, an import nobody
defines or a proposal a target lacks is one line up front. Only the sections needed are decoded (type,
import, function, export, and the name section's function names); code is never decoded here: which proposals a module needs is asked of
Wasmtime's validator, which knows every instruction (see `required_features`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

VALTYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128", 0x70: "funcref", 0x6F: "externref"}
KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}
NUMERIC = ("i32", "i64", "f32", "f64")
# Proposals hwprof can ask a runtime to enable (`--wasm-feature`), with the wasmtime.Config switch of each.
# Wasm 2.0's features (SIMD, bulk memory, reference types, multi-value, ...) are on everywhere.
FEATURES = {
    "exceptions": ("wasm_exceptions",),
    "tail-call": ("wasm_tail_call",),
    "simd": ("wasm_simd",),
    "relaxed-simd": ("wasm_relaxed_simd",),
    "threads": ("wasm_threads",),
    "memory64": ("wasm_memory64",),
    "multi-memory": ("wasm_multi_memory",),
    "function-references": ("wasm_function_references",),
    "gc": ("wasm_gc",),
}
# A feature that cannot be on without another (Wasmtime refuses such a Config).
NEEDS = {"gc": ("function-references",), "relaxed-simd": ("simd",)}


class ModuleError(Exception):
    """A module that cannot be read, or an input that does not fit it."""


@dataclass(frozen=True)
class FuncType:
    """Parameter and result types of a function."""

    params: tuple[str, ...]
    results: tuple[str, ...]

    def __str__(self) -> str:
        return f"({', '.join(self.params)}) -> ({', '.join(self.results)})"


@dataclass
class ModuleInfo:
    """The interface of a module: imports (module, name, kind), exports (name -> kind) and exported signatures."""

    imports: list[tuple[str, str, str]] = field(default_factory=list)
    exports: dict[str, str] = field(default_factory=dict)
    signatures: dict[str, FuncType] = field(default_factory=dict)
    imported_functions: int = 0                                       # the function index space: imports first,
    defined_functions: int = 0                                        # then the functions the module defines
    export_functions: dict[str, int] = field(default_factory=dict)    # exported function name -> its index
    function_names: dict[int, str] = field(default_factory=dict)      # the name section's, where there is one

    @property
    def has_markers(self) -> bool:
        """True when the module imports bench.start and bench.end (hwprof's phase markers)."""
        names = {(m, n) for m, n, k in self.imports if k == "func"}
        return ("bench", "start") in names and ("bench", "end") in names

    @property
    def uses_wasi(self) -> bool:
        """True when the module imports WASI preview 1 (or its older name)."""
        return any(m in ("wasi_snapshot_preview1", "wasi_unstable") for m, _, _ in self.imports)

    def foreign_imports(self) -> list[str]:
        """Imports neither WASI preview 1 nor hwprof's bench markers define, as module.name."""
        return [f"{m}.{n}" for m, n, _ in self.imports if m not in ("wasi_snapshot_preview1", "wasi_unstable", "bench")]


class _Reader:
    def __init__(self, data: bytes, where: str):
        self.data, self.pos, self.where = data, 0, where

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise ModuleError(f"{self.where}: truncated module")
        self.pos += 1
        return self.data[self.pos - 1]

    def uleb(self) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result

    def name(self) -> str:
        n = self.uleb()
        raw = self.data[self.pos:self.pos + n]
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def limits(self) -> None:
        flags = self.uleb()
        self.uleb()
        if flags & 1:
            self.uleb()

    def valtype(self) -> str:
        b = self.byte()
        if b in (0x63, 0x64):        # (ref null? heaptype): typed references of the GC proposals
            self.sleb()
            return "ref"
        return VALTYPES.get(b, "ref" if 0x69 <= b <= 0x74 else f"0x{b:02x}")   # other abstract references

    def sleb(self) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result - (1 << shift) if b & 0x40 else result


def _comptype(r: _Reader) -> FuncType | None:
    """One composite type: a function signature, or None for a GC struct/array (read past, not kept)."""
    form = r.byte()
    if form == 0x60:
        params = tuple(r.valtype() for _ in range(r.uleb()))
        results = tuple(r.valtype() for _ in range(r.uleb()))
        return FuncType(params, results)
    fields = r.uleb() if form == 0x5F else 1 if form == 0x5E else None
    if fields is None:
        raise ModuleError(f"{r.where}: unknown type form 0x{form:02x}")
    for _ in range(fields):
        if r.data[r.pos] in (0x78, 0x77):      # packed i8 / i16 storage
            r.pos += 1
        else:
            r.valtype()
        r.byte()                               # mutability
    return None


def _subtype(r: _Reader) -> FuncType | None:
    if r.data[r.pos] in (0x50, 0x4F):          # sub / sub final: supertypes, then the composite type
        r.pos += 1
        for _ in range(r.uleb()):
            r.uleb()
    return _comptype(r)


def _types(r: _Reader) -> list[FuncType | None]:
    """Every type index's signature (None for GC struct and array types), rec groups flattened."""
    out: list[FuncType | None] = []
    for _ in range(r.uleb()):
        if r.data[r.pos] == 0x4E:              # rec group: several types, each with its own index
            r.pos += 1
            out += [_subtype(r) for _ in range(r.uleb())]
        else:
            out.append(_subtype(r))
    return out


def read(path: str | Path) -> ModuleInfo:
    """Decode a module's interface (raises ModuleError on a file that is not a readable module)."""
    p = Path(path)
    return read_bytes(p.read_bytes(), str(p))


_INFO: dict[str, ModuleInfo] = {}      # by sha256: a 100 MB module is decoded once, and never kept


def read_bytes(data: bytes, where: str = "<module>") -> ModuleInfo:
    """Decode the interface of a module held in memory."""
    digest = hashlib.sha256(data).hexdigest()
    if digest not in _INFO:
        try:
            info = _decode(data, where)
        except (IndexError, ValueError, OverflowError, RecursionError) as exc:
            raise ModuleError(f"{where}: not a readable WebAssembly module ({type(exc).__name__})") from None
        if len(_INFO) > 64:
            _INFO.clear()
        _INFO[digest] = info
    return _INFO[digest]


def _decode(data: bytes, where: str) -> ModuleInfo:
    if data[:4] != b"\0asm":
        raise ModuleError(f"{where}: not a WebAssembly module (no \\0asm magic)")
    if data[4:8] == b"\x0d\x00\x01\x00":
        raise ModuleError(f"{where}: a WebAssembly component, not a core module (hwprof runs core modules)")
    r = _Reader(data, where)
    r.pos = 8
    info = ModuleInfo()
    types: list[FuncType | None] = []
    func_types: list[int | None] = []      # type index of every function, imports first
    exported: list[tuple[str, int]] = []
    while r.pos < len(data):
        section, size = r.byte(), r.uleb()
        end = r.pos + size
        if section == 1:
            types = _types(r)
        elif section == 2:
            for _ in range(r.uleb()):
                module, name, kind = r.name(), r.name(), r.byte()
                info.imports.append((module, name, KINDS.get(kind, str(kind))))
                if kind == 0:
                    func_types.append(r.uleb())
                elif kind == 1:
                    r.valtype()
                    r.limits()
                elif kind == 2:
                    r.limits()
                elif kind == 3:
                    r.valtype()
                    r.byte()
                else:
                    r.byte()
                    r.uleb()
        elif section == 3:
            func_types += [r.uleb() for _ in range(r.uleb())]
        elif section == 7:
            for _ in range(r.uleb()):
                name, kind, index = r.name(), r.byte(), r.uleb()
                info.exports[name] = KINDS.get(kind, str(kind))
                if kind == 0:
                    exported.append((name, index))
        elif section == 0 and r.name() == "name":
            info.function_names = _function_names(r, end)
        r.pos = end
    info.imported_functions = sum(1 for _, _, kind in info.imports if kind == "func")
    info.defined_functions = len(func_types) - info.imported_functions
    info.export_functions = dict(exported)
    for name, index in exported:
        t = func_types[index] if index < len(func_types) else None
        if t is not None and t < len(types) and types[t] is not None:
            info.signatures[name] = types[t]
    return info


def _function_names(r: _Reader, end: int) -> dict[int, str]:
    """The name section's function names (its subsection 1: a vector of index and name); others read past."""
    names: dict[int, str] = {}
    while r.pos < end:
        kind, size = r.byte(), r.uleb()
        after = r.pos + size
        if kind == 1:
            for _ in range(r.uleb()):
                index = r.uleb()
                names[index] = r.name()
        r.pos = after
    return names


def typed_arguments(info: ModuleInfo, export: str, args: tuple[str, ...], where: str) -> list[list[str]]:
    """`--invoke` arguments checked against the export's signature: [[type, text], ...], or one-line errors."""
    kind = info.exports.get(export)
    if kind is None:
        funcs = sorted(n for n, k in info.exports.items() if k == "func")
        raise ModuleError(f"{where} exports no function {export!r} (its functions: {', '.join(funcs) or 'none'})")
    if kind != "func":
        raise ModuleError(f"{where}: export {export!r} is a {kind}, not a function")
    sig = info.signatures.get(export)
    if sig is None:
        raise ModuleError(f"{where}: the signature of {export!r} could not be read")
    bad = [t for t in sig.params + sig.results if t not in NUMERIC]
    if bad:
        raise ModuleError(f"{where}: {export}{sig} takes or returns {bad[0]}: --invoke passes numbers only")
    if len(args) != len(sig.params):
        raise ModuleError(f"{export}{sig} takes {len(sig.params)} argument(s), --invoke gave {len(args)}")
    out = []
    for i, (kind, text) in enumerate(zip(sig.params, args)):
        try:
            value = int(text, 0) if kind in ("i32", "i64") else float(text)
        except ValueError:
            raise ModuleError(f"--invoke {export}: argument {i + 1} {text!r} is not an {kind} number") from None
        bits = {"i32": 32, "i64": 64}.get(kind)
        if bits and not -(1 << (bits - 1)) <= value < (1 << bits):
            raise ModuleError(f"--invoke {export}: argument {i + 1} {text!r} does not fit in an {kind}")
        out.append([kind, str(value) if bits else repr(value)])   # canonical decimal text for every host
    return out


def feature_switches(features) -> list[str]:
    """The wasmtime.Config attributes to set True for these proposals (GC also needs the collector)."""
    switches = [s for f in features for s in FEATURES[f]]
    return switches + (["gc_support"] if "gc" in features else [])


def canonical_results(values: list[str], kinds: tuple[str, ...]) -> list[str]:
    """An invoked export's results as one text per wasm type, whichever target printed them (Python's str for
    integers and floats: '2.0', 'inf', 'nan'; Rust prints '2', JavaScript 'Infinity')."""
    out = []
    for i, text in enumerate(values):
        kind = kinds[i] if i < len(kinds) else ""
        try:
            if kind in ("i32", "i64"):
                out.append(str(int(text)))
            elif kind == "f32":
                import numpy      # the shortest text that reads back as the same float32, as Rust prints it
                value = float(text)
                out.append(repr(value) if value != value or value in (float("inf"), float("-inf"))
                           else str(numpy.float32(value)))
            elif kind == "f64":
                out.append(repr(float(text)))
            else:
                out.append(text)
        except ValueError:
            out.append(text)
    return out


def _validates(wasm: bytes, enabled: set[str]) -> tuple[bool, str]:
    import wasmtime

    config = wasmtime.Config()
    for name, switches in FEATURES.items():
        for attr in switches:
            setattr(config, attr, name in enabled)
    config.gc_support = "gc" in enabled
    try:
        wasmtime.Module.validate(wasmtime.Engine(config), wasm)
        return True, ""
    except wasmtime.WasmtimeError as exc:
        return False, str(exc).strip().splitlines()[0]


def _required(digest: str, wasm: bytes) -> tuple[tuple[str, ...], str]:
    """Asked of the validator once per module and Wasmtime version: ten validations of a 100 MB module take
    seconds, so the answer is kept in the build cache."""
    from importlib.metadata import version

    from hwprof.data import buildcache

    name = f"{digest[:32]}-wasmtime-{version('wasmtime')}.json"
    got = buildcache.read_json("modules", name)
    if got and isinstance(got.get("features"), list) and isinstance(got.get("problem"), str):
        return tuple(got["features"]), got["problem"]
    needed, problem = _ask_validator(wasm)
    buildcache.write_json("modules", name, {"features": list(needed), "problem": problem})
    return needed, problem


def _ask_validator(wasm: bytes) -> tuple[tuple[str, ...], str]:
    everything = set(FEATURES)
    ok, error = _validates(wasm, everything)
    if not ok:
        return (), error
    needed = []
    for name in FEATURES:
        without = {f for f in everything if f != name and name not in NEEDS.get(f, ())}
        if not _validates(wasm, without)[0]:
            needed.append(name)
    return tuple(needed), ""


def required_features(path: str | Path) -> tuple[tuple[str, ...], str]:
    """The proposals (FEATURES' names) the module cannot validate without, asked of Wasmtime's validator.

    Returns (features, problem): problem is Wasmtime's complaint when the module does not validate even
    with every proposal on (then nothing is known, and the target's own compile will say what is wrong).
    """
    data = Path(path).read_bytes()
    return _required(hashlib.sha256(data).hexdigest(), data)
