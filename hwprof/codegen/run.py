"""`hwprof codegen`'s library side: every target's artefact of one module, its metrics per scope, as rows.

A row is one target and one scope: `module` (the sum over the module's own compiled wasm functions) or
`function` (one wasm function: the one asked for, else the hottest). Trampolines, stubs and runtime helpers
are counted apart (`apart_functions`, `apart_bytes` on the module row), never mixed into the metrics.
Each row is weighted "static" (every instruction once) or, asked for, "dynamic": each instruction as often as
one callgrind run of the execute phase ran it (hwprof.codegen.dynamic); a dynamic module row covers the
module's wasm functions that ran (`ran_functions`).
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path

from hwprof.codegen import metrics, sources
from hwprof.codegen.artefacts import Artefact, ArtefactError

ROW_KEYS = ("target", "scope", "function", "index", "weighting", "code_of")   # the rest are metrics
DYNAMIC = "dynamic;"       # the store's scope of a dynamic row: this, then the static scope (no static one starts so)


@dataclass(frozen=True)
class CodegenConfig:
    """What `hwprof codegen` was asked: the module, the targets (empty: every one available), the function."""

    workload: str
    size: str | None = None
    targets: tuple[str, ...] = ()
    function: str = ""                 # "" : the hottest by execution (or the largest where none ran)
    arch: str = platform.machine()
    opt_level: str = "speed"           # Cranelift's
    build_opt: str = "-O2"             # the bundled workload's C to wasm (and native) build
    dynamic: bool = False              # also rows weighted by executions: one callgrind run per target (slow)


@dataclass
class CodegenResult:
    """The rows, the function chosen and why, what each target's code came from, and the targets left out."""

    rows: list[dict]
    function: str
    chosen_by: str
    provenance: dict[str, str]                        # target -> flags its code was made with
    unavailable: dict[str, str] = field(default_factory=dict)   # target -> the one line saying why
    artefacts: dict[str, Artefact] = field(default_factory=dict)
    subject: sources.Subject | None = None


def subject_of(config: CodegenConfig) -> sources.Subject:
    """The module of a bundled workload (built at its size) or of a .wasm path, as a code source's subject."""
    from hwprof import workloads

    wl = workloads.resolve(config.workload, config.size, config.build_opt)
    return sources.Subject(Path(wl.program), wl if wl.bundled else None, config.arch, config.opt_level)


def artefacts_of(config: CodegenConfig, subject: sources.Subject) -> tuple[dict[str, Artefact], dict[str, str]]:
    """Each target's artefact; a target asked for by name that fails raises, a defaulted one is left out with why."""
    asked = config.targets or tuple(sources.names())
    found, unavailable = {}, {}
    for target in asked:
        try:
            found[target] = sources.artefact(target, subject)
        except ArtefactError as exc:
            if config.targets:
                raise ArtefactError(f"{target}: {exc}") from None
            unavailable[target] = str(exc)
    if not found:
        raise ArtefactError("no target's code could be read: " +
                            "; ".join(f"{t}: {why}" for t, why in unavailable.items()))
    return found, unavailable


def module_metrics(art: Artefact) -> dict[str, float]:
    """The metrics of the module's own compiled functions, taken together (stubs apart)."""
    joined = [i for f in art.wasm_functions() for i in metrics.disassemble(f.code, art.arch, f.address)]
    return metrics.count(joined, art.arch, metrics.Context.of(art))


def module_weighted(art: Artefact, counts: dict[int, int]) -> dict[str, float]:
    """The metrics of the module's wasm functions that ran, taken together, each instruction weighted by its runs."""
    from hwprof.codegen import dynamic

    joined = [i for f in dynamic.ran(art, counts) for i in metrics.disassemble(f.code, art.arch, f.address)]
    return metrics.weighted(joined, counts, art.arch, metrics.Context.of(art))


def dynamic_rows(found: dict[str, Artefact], subject: sources.Subject, function: str,
                 unavailable: dict[str, str]) -> list[dict]:
    """Per target whose run can weigh its code: the module and function rows weighted by executions; the other
    targets in `unavailable` ("TARGET (dynamic)") with why."""
    from hwprof.codegen import dynamic

    rows = []
    for target, measured in found.items():
        try:
            art = dynamic.weighed_artefact(target, subject, measured)
            counts = dynamic.executions(dynamic.profile(subject, target), art)
        except ArtefactError as exc:
            unavailable[f"{target} (dynamic)"] = str(exc)
            continue
        rows.append({"target": target, "scope": "module", "function": "", "index": None, "weighting": "dynamic",
                     **module_weighted(art, counts), "ran_functions": len(dynamic.ran(art, counts)),
                     "code_of": art.flags})
        try:
            fn = art.function(function)
        except ArtefactError:
            continue                        # said beside its static rows
        code = metrics.disassemble(fn.code, art.arch, fn.address)
        rows.append({"target": target, "scope": "function", "function": fn.label, "index": fn.index,
                     "weighting": "dynamic", **metrics.weighted(code, counts, art.arch, metrics.Context.of(art)),
                     "code_of": art.flags})
    return rows


# Cranelift keeps every wasm function a function of its own (no inlining across them), so its profile names the
# module's own function; a C compiler may inline the kernel into main, and main into _start.
PROFILED_UNDER = "wasmtime"


def hottest_by_execution(subject: sources.Subject) -> tuple[int, float]:
    """The wasm function index holding most of the execute phase's instructions under PROFILED_UNDER, and its
    share; one callgrind run per module, kept in the build cache (the answer depends on the module alone)."""
    from hwprof.codegen import hot
    from hwprof.data import buildcache

    key = f"{buildcache.digest([subject.bytes(), PROFILED_UNDER, subject.opt_level])}.json"
    known = buildcache.read_json("codegen-hot", key)
    if known is None:
        if subject.workload is None:
            raise ArtefactError("no execution profile of a module that is not a bundled workload")
        index, _, share = hot.hottest(hot.execute_profile(subject, PROFILED_UNDER), subject.functions())
        if index is None:
            raise ArtefactError("the execute phase's hottest code is no wasm function")
        known = {"index": index, "share": share}
        buildcache.write_json("codegen-hot", key, known)
    return int(known["index"]), float(known["share"])


def choose_function(config: CodegenConfig, subject: sources.Subject, found: dict[str, Artefact]) -> tuple[str, str]:
    """The function to show and how it was chosen: asked for, hottest by execution, or largest by code."""
    first = next(iter(found.values()))
    if config.function:
        missing = []
        for art in found.values():
            try:
                art.function(config.function)
            except ArtefactError as exc:
                missing.append(exc)
        if len(missing) == len(found):           # in none of them: the first one's line names what there is
            raise missing[0]
        return config.function, "asked for"     # a target that inlined it away says so beside its module row
    try:
        index, share = hottest_by_execution(subject)
        label = subject.functions().name(index) or f"function[{index}]"   # named even where a target inlined it
        return label, f"hottest: {100 * share:.1f}% of the execute phase's instructions under {PROFILED_UNDER}"
    except ArtefactError as exc:
        why = str(exc)
    largest = max(first.wasm_functions(), key=lambda f: len(f.code))
    return largest.label, f"largest by {first.target}'s code bytes ({why})"


def run(config: CodegenConfig) -> CodegenResult:
    """Extract every target's code of the module, and measure it per target for the module and one function."""
    subject = subject_of(config)
    found, unavailable = artefacts_of(config, subject)
    function, chosen_by = choose_function(config, subject, found)
    rows = []
    for target, art in found.items():
        apart = [f for f in art.functions if f.kind != "wasm"]
        rows.append({"target": target, "scope": "module", "function": "", "index": None, "weighting": "static",
                     **module_metrics(art), "apart_functions": len(apart),
                     "apart_bytes": sum(len(f.code) for f in apart)})
        try:
            fn = art.function(function)
        except ArtefactError as exc:
            unavailable[target] = f"{exc} (its module row is kept)"
            continue
        rows.append({"target": target, "scope": "function", "function": fn.label, "index": fn.index,
                     "weighting": "static", **metrics.function_metrics(fn, art.arch, metrics.Context.of(art))})
    if config.dynamic:
        rows += dynamic_rows(found, subject, function, unavailable)
    return CodegenResult(rows, function, chosen_by, {t: a.flags for t, a in found.items()}, unavailable, found,
                         subject)


UNITS = {"code_bytes": "bytes", "bytes_per_instruction": "bytes/instruction", "apart_bytes": "bytes"}


def records(result: CodegenResult, config: CodegenConfig, versions: dict[str, str]) -> list:
    """The rows as the store's records: one per target, scope and metric (phase compile, backend codegen); a
    dynamic row's scope is DYNAMIC before the static one's ("dynamic;module", "dynamic;function=NAME")."""
    from hwprof.data import schema

    subject = result.subject
    workload = subject.workload.name if subject.workload else subject.wasm.stem
    size = subject.workload.size if subject.workload else ""
    out = []
    for row in result.rows:
        scope = "module" if row["scope"] == "module" else f"function={row['function']}"
        scope = DYNAMIC + scope if row.get("weighting") == "dynamic" else scope
        flags = row.get("code_of") or result.provenance[row["target"]]   # a dynamic row: the code its run executed
        ident = schema.Identity(row["target"], versions.get(row["target"], ""), flags,
                                workload, size, backend="codegen", scope=scope)
        for key, value in row.items():
            if key in ROW_KEYS or value is None:
                continue
            out.append(ident.record(repetition=0, phase="compile", name=key, kind=schema.METRIC,
                                    value=float(value), unit=UNITS.get(key, "count"),
                                    note=result.chosen_by if row["scope"] != "module" else ""))
    return out


def store(result: CodegenResult, config: CodegenConfig, root) -> Path:
    """Write the rows into a results store as one run (with the machine's provenance); the run file's path."""
    from hwprof import events, runtimes
    from hwprof.data import provenance
    from hwprof.data.cpu import identify
    from hwprof.data.store import ResultStore, new_id

    versions = {}
    for target in result.provenance:
        try:
            versions[target] = runtimes.get(target).probe()
        except Exception:          # a code source without a measured target of that name: no version to give
            versions[target] = ""
    cpu = identify(None)
    prov = {**provenance.machine(None, events.microarch_name(cpu, events.for_cpu(cpu))), "host_arch": platform.machine(), "backend": "codegen", "arch": config.arch, "workload": config.workload,
            "wasm": str(result.subject.wasm), "codegen_function": result.function, "chosen_by": result.chosen_by,
            "unavailable": result.unavailable}
    session = new_id()
    store_ = ResultStore(root)
    path = store_.write_run(session, prov, records(result, config, versions))
    store_.write_session(session, "complete", runs=1, command="codegen")
    return path
