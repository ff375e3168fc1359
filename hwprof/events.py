"""Event maps: per-microarchitecture event encodings and metric formulas, loaded from events/*.toml."""

from __future__ import annotations

import ast
import copy
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from hwprof.data.cpu import SYSFS_PMUS, CpuId, core_pmu_of, identify
from hwprof.data.paths import events_dir

GENERIC = "generic"
CATALOGUE = "cpus"        # events/cpus.toml: perf's mapfile as data, not an event map
KINDS = ("core", "generic", "software", "simulated")
# The study's Table I columns in its order (with the L1I miss rate between), then the other metrics
# reports look up by name.
TABLE1_METRICS = ("dsb_misses", "dsb_hits", "dsb_miss_rate", "l1i_misses", "l1i_hits", "l1i_miss_rate",
                  "dsb_to_l1i_ref_ratio")
STANDARD_METRICS = ("ipc", "branch_miss_rate", "branch_mpki", "l1i_mpki", "l1d_miss_rate") + TABLE1_METRICS
# Encoding fields perf's sysfs format files define for core PMUs (x86 Intel and AMD; Arm PMUv3).
X86_FIELDS = ("event", "umask", "cmask", "inv", "edge", "any", "pc", "in_tx", "in_tx_cp", "ldlat", "frontend",
              "offcore_rsp")
ARM_FIELDS = ("event",)
NOT_ON_MICROARCH = "not on this microarchitecture"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_.]*)|(.))")


class EventMapError(Exception):
    """An event map that cannot be found, read or resolved."""


@dataclass(frozen=True)
class Event:
    """One countable event: the name formulas use, perf's alias and its raw encoding."""

    name: str
    perf: str = ""
    encoding: tuple[tuple[str, int], ...] = ()
    raw: tuple[tuple[str, int], ...] = ()
    kind: str = "core"
    fixed: bool = False
    unit: str = ""
    desc: str = ""

    def perf_spec(self, pmu: str | None, use_alias: bool = False, prefix_generic: bool = False) -> str:
        """How perf's -e should name this event.

        A core event is written from its raw fields (`raw` where the table's code is a pseudo-code
        for a fixed counter), so it works whatever tables this perf has; `use_alias` asks for perf's
        name instead. Generic events get a PMU prefix where several core PMUs would each open them.
        """
        if self.kind == "generic":
            return f"{pmu}/{self.perf}/" if prefix_generic and pmu else self.perf
        fields = self.raw or self.encoding
        if self.kind != "core" or use_alias or not fields or (self.fixed and not self.raw):
            return self.perf
        if pmu:
            return f"{pmu}/" + ",".join(f"{k}={v:#x}" for k, v in fields) + "/"
        return f"r{dict(fields).get('event', 0):x}"


class Formula:
    """An arithmetic expression over event names: + - * / ( ), numbers and names."""

    def __init__(self, text: str):
        self.text = text
        self.names: list[str] = []
        pieces = []
        for number, name, other in _TOKEN.findall(text):
            if name:
                if name not in self.names:
                    self.names.append(name)
                pieces.append(f"_{self.names.index(name)}")
            elif number:
                pieces.append(number)
            elif other.strip():
                if other not in "+-*/()":
                    raise EventMapError(f"formula {text!r}: unexpected {other!r}")
                pieces.append(other)
        try:
            self._tree = ast.parse(" ".join(pieces), mode="eval").body
        except SyntaxError:
            raise EventMapError(f"formula {text!r} is not a valid expression") from None
        self._check(self._tree)

    def _check(self, node):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            self._check(node.operand)
        elif not (isinstance(node, ast.Name) or (isinstance(node, ast.Constant) and isinstance(node.value, (int, float)))):
            raise EventMapError(f"formula {self.text!r}: only + - * / ( ), numbers and event names are allowed")

    def evaluate(self, values: dict[str, float | None]) -> float | None:
        """The formula's value, or None when an input is missing or a division is by zero."""
        args = [values.get(n) for n in self.names]
        if any(a is None for a in args):
            return None

        def ev(node):
            if isinstance(node, ast.Constant):
                return float(node.value)
            if isinstance(node, ast.Name):
                return float(args[int(node.id[1:])])
            if isinstance(node, ast.UnaryOp):
                return -ev(node.operand)
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if right == 0:
                raise ZeroDivisionError
            return left / right

        try:
            return ev(self._tree)
        except ZeroDivisionError:
            return None


def identity_matches(cpu: CpuId, x86: list[str], arm: list[str]) -> bool:
    """Does a CPU identity fit x86 perf-id patterns or Arm implementer:part keys, as perf's mapfile rows do?"""
    if cpu.perf_id:
        # perf compares patterns with a stepping to the full id and the others to the id without it;
        # a pattern can only fully match one of the two shapes, so trying both is the same rule.
        full = cpu.perf_id
        short = full.rsplit("-", 1)[0] if cpu.stepping is not None else full
        if any(re.fullmatch(p, full, flags=re.IGNORECASE) or re.fullmatch(p, short, flags=re.IGNORECASE)
               for p in x86):
            return True
    if cpu.midr_key:
        return any(p.lower() == cpu.midr_key for p in arm)
    return False


@dataclass(frozen=True)
class Metric:
    """A derived figure: a formula over events, with its unit."""

    name: str
    formula: Formula
    unit: str = ""
    desc: str = ""


@dataclass
class EventMap:
    """A resolved event map: its own and inherited events and metrics."""

    name: str
    title: str = ""
    pmu: str | None = None
    gp_counters: int = 4
    abstract: bool = False
    extends: list[str] = field(default_factory=list)
    x86: list[str] = field(default_factory=list)
    arm: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    events: dict[str, Event] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)   # standard metric -> why this core has none
    perf_table: str = ""
    path: Path | None = None

    @property
    def is_arm(self) -> bool:
        """An Arm map (raw events written rNN, no PMU format fields beyond `event`)."""
        return bool(self.arm) or (self.pmu is None and any(e.kind == "core" for e in self.events.values()))

    def absent(self, name: str) -> str:
        """Why a standard metric has no value under this map ('' when the map defines it)."""
        if name in self.metrics:
            return ""
        if name in self.unavailable:
            return f"{NOT_ON_MICROARCH} ({self.title or self.name}): {self.unavailable[name]}"
        return f"not in map {self.name!r}: it has no event for it"

    def matches(self, cpu: CpuId) -> bool:
        """True when this map's [match] patterns cover the CPU, as perf's mapfile would."""
        return identity_matches(cpu, self.x86, self.arm)

    def select(self, names: list[str] | None) -> list[Event]:
        """The events to count: the named ones (metrics expand to their events), or all of them.

        A standard metric this map lacks selects nothing (it is reported as absent, with `absent`'s
        reason); any other unknown name is an error.
        """
        if not names:
            return list(self.events.values())
        chosen: list[str] = []
        for n in names:
            if n in self.metrics:
                chosen += [e for e in self.metrics[n].formula.names if e not in chosen]
            elif n in self.events:
                chosen += [] if n in chosen else [n]
            elif n not in STANDARD_METRICS:
                raise EventMapError(f"event or metric {n!r} is not in map {self.name!r} (try: hwprof events show {self.name})")
        return [self.events[n] for n in chosen if n in self.events]


def _raw(path: Path) -> dict:
    """A map file's TOML, parsed once per version of the file (a hybrid check loads every map and its parents)."""
    try:
        stamp = path.stat().st_mtime_ns
        return copy.deepcopy(_parsed(str(path), stamp))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise EventMapError(f"{path}: {exc}") from None


@lru_cache(maxsize=256)
def _parsed(path: str, stamp: int) -> dict:
    return tomllib.loads(Path(path).read_text())


def _parse_event(d: dict, path: Path) -> Event:
    if "name" not in d:
        raise EventMapError(f"{path}: an event without a name")
    enc, raw = d.get("encoding") or {}, d.get("raw") or {}
    if not all(isinstance(v, int) for v in (*enc.values(), *raw.values())):
        raise EventMapError(f"{_line_of(path, d['name'])}: event {d['name']}: encoding fields must be integers")
    return Event(name=d["name"], perf=d.get("perf", ""), encoding=tuple(enc.items()), raw=tuple(raw.items()),
                 kind=d.get("kind", "core"),
                 fixed=bool(d.get("fixed", False)), unit=d.get("unit", ""), desc=d.get("desc", ""))


def available(directory: Path | None = None) -> list[str]:
    """Names of every map file in the events folder."""
    return sorted(p.stem for p in (directory or events_dir()).glob("*.toml") if p.stem != CATALOGUE)


def is_path(name: str) -> bool:
    """True when a map is named by its file (a path or a .toml name) rather than by its name."""
    return name.endswith(".toml") or "/" in name


def _locate(name: str, directory: Path | None, near: Path | None) -> Path:
    """The file of map `name`: a path as given; else beside the map that names it, else in the folder."""
    if is_path(name):
        path = Path(name).expanduser()
        if not path.is_file():
            raise EventMapError(f"{path}: no such event map file")
        return path
    folders = [f for f in (near, directory or events_dir()) if f is not None]
    for folder in folders:
        if (folder / f"{name}.toml").is_file():
            return folder / f"{name}.toml"
    known = ", ".join(available(folders[-1]))
    raise EventMapError(f"no event map {name!r} in {' or '.join(map(str, dict.fromkeys(folders)))} (known: {known})")


def _line_of(path: Path, name: str) -> str:
    """'FILE:LINE' of the entry `name = "..."` in a map file (the file alone when it cannot be found)."""
    try:
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if re.match(rf'\s*name\s*=\s*"{re.escape(name)}"', line):
                return f"{path}:{i}"
    except OSError:
        pass
    return str(path)


# The shape of a map file: key -> the type its value must have (lists hold tables or strings, as named).
_SHAPE = {"name": str, "title": str, "extends": list, "abstract": bool, "pmu": str, "gp_counters": int,
          "perf_table": str, "sources": list, "match": dict, "event": list, "metric": list, "unavailable": dict}


_KIND = {str: "a string", list: "a list", dict: "a table", int: "an integer", bool: "a boolean", float: "a number"}


def _check_shape(raw: dict, path: Path) -> None:
    """One line for a key of the wrong type, before anything reads it."""
    for key, kind in _SHAPE.items():
        if key in raw and not isinstance(raw[key], kind):
            raise EventMapError(f"{path}: {key!r} must be {_KIND[kind]}, not {_KIND.get(type(raw[key]), 'that')}")
    lists = {"extends": str, "sources": str, "event": dict, "metric": dict}
    for key, kind in lists.items():
        if any(not isinstance(v, kind) for v in raw.get(key, [])):
            raise EventMapError(f"{path}: every entry of {key!r} must be a {'table' if kind is dict else 'string'}")
    for arch in ("x86", "arm"):
        patterns = raw.get("match", {}).get(arch, [])
        if not isinstance(patterns, list) or any(not isinstance(v, str) for v in patterns):
            raise EventMapError(f"{path}: [match] {arch} must be a list of strings")
    for section, texts in (("event", ("name", "perf", "kind", "unit", "desc")),
                           ("metric", ("name", "formula", "unit", "desc"))):
        for entry in raw.get(section, []):
            def where() -> str:      # FILE:LINE, looked up only for an error
                return _line_of(path, entry["name"]) if isinstance(entry.get("name"), str) else str(path)
            bad = [k for k in texts if k in entry and not isinstance(entry[k], str)]
            if bad:
                raise EventMapError(f"{where()}: {section} {bad[0]!r} must be a string")
            for key in ("encoding", "raw"):
                if key in entry and not isinstance(entry[key], dict):
                    raise EventMapError(f"{where()}: {key} must be a table")
            if "fixed" in entry and not isinstance(entry["fixed"], bool):
                raise EventMapError(f"{where()}: 'fixed' must be true or false")
    if any(not isinstance(v, str) for v in raw.get("unavailable", {}).values()):
        raise EventMapError(f"{path}: every [unavailable] reason must be a string")


def load(name: str, directory: Path | None = None, _seen: tuple = (), _near: Path | None = None) -> EventMap:
    """Load one map by name (from the events folder) or by path, everything it extends resolved (the child
    wins on a clash). A map loaded by path finds its parents beside it first, then in the events folder."""
    path = _locate(name, directory, _near)
    try:
        return _load(path, directory, _seen)
    except RecursionError:
        raise EventMapError(f"{path}: a formula nests too deeply to read") from None


def _load(path: Path, directory: Path | None, _seen: tuple) -> EventMap:
    key = str(path.resolve())
    if key in _seen:
        raise EventMapError(f"event map {path.stem!r} extends itself through "
                            f"{' -> '.join(Path(s).stem for s in _seen)}")
    raw = _raw(path)
    _check_shape(raw, path)
    result = EventMap(name=raw.get("name", path.stem), title=raw.get("title", ""), pmu=raw.get("pmu"),
                      gp_counters=int(raw.get("gp_counters", 4)), abstract=bool(raw.get("abstract", False)),
                      extends=list(raw.get("extends", [])), x86=list(raw.get("match", {}).get("x86", [])),
                      arm=list(raw.get("match", {}).get("arm", [])), sources=list(raw.get("sources", [])),
                      perf_table=str(raw.get("perf_table", "")), path=path)
    for parent_name in result.extends:
        parent = load(parent_name, directory, _seen + (key,), path.parent)
        result.events.update(parent.events)
        result.metrics.update(parent.metrics)
        result.unavailable.update(parent.unavailable)
        result.pmu = result.pmu if "pmu" in raw else parent.pmu
    for d in raw.get("event", []):
        ev = _parse_event(d, path)
        result.events[ev.name] = ev
    for d in raw.get("metric", []):
        if "name" not in d or "formula" not in d:
            raise EventMapError(f"{_line_of(path, d.get('name', ''))}: a metric needs a name and a formula")
        try:
            formula = Formula(d["formula"])
        except EventMapError as exc:
            raise EventMapError(f"{_line_of(path, d['name'])}: metric {d['name']}: {exc}") from None
        result.metrics[d["name"]] = Metric(d["name"], formula, d.get("unit", ""), d.get("desc", ""))
        result.unavailable.pop(d["name"], None)
    # This file's own word wins: a metric it says the core lacks is dropped even if a parent defines it.
    for metric, why in (raw.get("unavailable") or {}).items():
        result.metrics.pop(metric, None)
        result.unavailable[metric] = str(why)
    return result


def candidates(cpu: CpuId, directory: Path | None = None) -> list[EventMap]:
    """Every concrete map that matches this identity (two on a hybrid CPU: one per core PMU)."""
    return [m for m in (load(n, directory) for n in available(directory))
            if not m.abstract and m.name != GENERIC and m.matches(cpu)]


def for_cpu(cpu: CpuId, directory: Path | None = None, core_pmu: str | None = None) -> EventMap:
    """The map for this CPU, else the generic one.

    Where two maps match one identity (a hybrid CPU), `core_pmu` (the core PMU whose CPUs hold the
    pinned CPU, e.g. cpu_atom) chooses; without it the first map is taken, as perf's default PMU would.
    """
    found = candidates(cpu, directory)
    if core_pmu:
        found = [m for m in found if m.pmu == core_pmu] or found
    return found[0] if found else load(GENERIC, directory)


def for_logical_cpu(index: int, directory: Path | None = None, sysfs: Path = SYSFS_PMUS,
                    cpuinfo: str | None = None) -> EventMap:
    """The map for logical CPU `index` of this machine: its own identity, and its core PMU on a hybrid CPU."""
    return for_cpu(identify(index, cpuinfo), directory, core_pmu_of(index, sysfs))


def microarch_name(cpu: CpuId, emap: EventMap | None = None, directory: Path | None = None) -> str:
    """What to call the CPU's microarchitecture: its map's name, else perf's table name, else 'unknown'."""
    if emap is not None and emap.name != GENERIC:
        return emap.name
    return microarch_of(cpu, directory) or "unknown"


def identity_report(cpu: CpuId, directory: Path | None = None) -> dict:
    """For one CPU identity: perf's table, the microarchitecture name and every map (one per core PMU) that applies."""
    maps = candidates(cpu, directory)
    table = microarch_of(cpu, directory)
    return {"key": cpu.key, "model_name": cpu.model_name, "arch": cpu.arch, "perf_table": table,
            "microarch": maps[0].name if maps else (table or "unknown"),
            "maps": [{"name": m.name, "title": m.title, "pmu": m.pmu or "", "perf_table": m.perf_table,
                      "unavailable": sorted(m.unavailable)} for m in maps]}


@dataclass(frozen=True)
class CatalogueRow:
    """One row of perf's mapfile: an identity pattern and the pmu-events table it selects."""

    arch: str          # x86 | arm
    pattern: str       # x86: regex over the perf id; arm: implementer:part
    table: str


def catalogue(directory: Path | None = None) -> tuple[CatalogueRow, ...]:
    """perf's mapfile rows (events/cpus.toml), in order; empty when the file is absent."""
    path = (directory or events_dir()) / f"{CATALOGUE}.toml"
    if not path.exists():
        return ()
    return _catalogue(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _catalogue(path: Path, mtime: int) -> tuple[CatalogueRow, ...]:
    raw = _raw(path)
    return tuple([CatalogueRow("x86", r["pattern"], r["table"]) for r in raw.get("x86", [])]
                 + [CatalogueRow("arm", r["midr"].lower(), r["table"]) for r in raw.get("arm", [])])


def microarch_of(cpu: CpuId, directory: Path | None = None) -> str:
    """The name of the CPU's microarchitecture as perf's tables call it ('' when perf knows none)."""
    for row in catalogue(directory):
        if identity_matches(cpu, [row.pattern] if row.arch == "x86" else [], [row.pattern] if row.arch == "arm" else []):
            return row.table
    return ""


def lint(directory: Path | None = None, paths: list[Path] | None = None) -> list[str]:
    """Problems in map files (every one in the folder, or the `paths` given): bad TOML, duplicates, unknown
    formula names, missing or unknown encoding fields; each problem starts with FILE[:LINE]."""
    directory = directory or events_dir()
    files = [Path(p) for p in paths] if paths else [directory / f"{n}.toml" for n in available(directory)]
    problems = []
    for path in files:
        try:
            raw = _raw(path)
            resolved = load(str(path), directory)
        except EventMapError as exc:
            problems.append(str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}")
            continue
        where = lambda entry="": _line_of(path, entry) if entry else str(path)  # noqa: E731
        problems += [f"{where(entry)}: {p}" for check in (_lint_names, _lint_events, _lint_match, _lint_unavailable)
                     for entry, p in check(raw, resolved)]
        problems += [f"{where(m.name)}: metric {m.name}: unknown event {n!r}" for m in resolved.metrics.values()
                     for n in m.formula.names if n not in resolved.events]
    return problems


def _lint_names(raw: dict, resolved: EventMap) -> list[tuple[str, str]]:
    out = [] if raw.get("name", resolved.path.stem) == resolved.path.stem else \
        [("", f"name {raw.get('name')!r} differs from the file name")]
    for section in ("event", "metric"):
        seen = set()
        for d in raw.get(section, []):
            n = d.get("name", "")
            if not _NAME.fullmatch(n or ""):
                out.append((n, f"{section} name {n!r} is not of the form [A-Za-z_][A-Za-z0-9_.]*"))
            if n in seen:
                out.append((n, f"duplicate {section} {n!r}"))
            seen.add(n)
    return out


def _lint_events(raw: dict, resolved: EventMap) -> list[tuple[str, str]]:
    out = []
    fields = ARM_FIELDS if resolved.is_arm else X86_FIELDS
    for d in raw.get("event", []):
        name = d.get("name", "")
        what = f"event {name}"
        for key in list(d.get("encoding") or {}) + list(d.get("raw") or {}):
            if key not in fields:
                out.append((name, f"{what}: encoding field {key!r} is not a perf format field ({', '.join(fields)})"))
        kind = d.get("kind", "core")
        if kind not in KINDS:
            out.append((name, f"{what}: unknown kind {kind!r}"))
        if kind == "core" and not d.get("encoding"):
            out.append((name, f"{what}: no raw encoding"))
        if kind == "core" and d.get("encoding") and "event" not in d["encoding"]:
            out.append((name, f"{what}: encoding has no event code"))
        if kind != "core" and not d.get("perf"):
            out.append((name, f"{what}: a {kind} event needs its perf name"))
    return out


def _lint_match(raw: dict, resolved: EventMap) -> list[tuple[str, str]]:
    out = [] if isinstance(raw.get("perf_table", ""), str) else [("", "perf_table must be a string")]
    for pattern in raw.get("match", {}).get("x86", []):
        try:
            re.compile(pattern)
        except re.error as exc:
            out.append(("", f"bad x86 pattern {pattern!r}: {exc}"))
    return out


def _lint_unavailable(raw: dict, resolved: EventMap) -> list[tuple[str, str]]:
    out = []
    own = {d.get("name") for d in raw.get("metric", [])}
    for metric in raw.get("unavailable") or {}:
        if metric not in STANDARD_METRICS:
            out.append(("", f"[unavailable] {metric!r} is not a standard metric ({', '.join(STANDARD_METRICS)})"))
        if metric in own:
            out.append((metric, f"{metric!r} is both defined and listed as unavailable"))
    return out
