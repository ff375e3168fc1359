"""Event maps: per-microarchitecture event encodings and metric formulas, loaded from events/*.toml."""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from hwprof.data.cpu import CpuId
from hwprof.data.paths import events_dir

GENERIC = "generic"
KINDS = ("core", "generic", "software", "simulated")
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
    path: Path | None = None

    def matches(self, cpu: CpuId) -> bool:
        """True when this map's [match] patterns cover the CPU, as perf's mapfile would."""
        if cpu.perf_id:
            # perf compares patterns with a stepping to the full id and the others to the id without it;
            # a pattern can only fully match one of the two shapes, so trying both is the same rule.
            full = cpu.perf_id
            short = full.rsplit("-", 1)[0] if cpu.stepping is not None else full
            if any(re.fullmatch(p, full, flags=re.IGNORECASE) or re.fullmatch(p, short, flags=re.IGNORECASE)
                   for p in self.x86):
                return True
        if cpu.midr_key:
            return any(p.lower() == cpu.midr_key for p in self.arm)
        return False

    def select(self, names: list[str] | None) -> list[Event]:
        """The events to count: the named ones (metrics expand to their events), or all of them."""
        if not names:
            return list(self.events.values())
        chosen: list[str] = []
        for n in names:
            if n in self.metrics:
                chosen += [e for e in self.metrics[n].formula.names if e not in chosen]
            elif n in self.events:
                chosen += [] if n in chosen else [n]
            else:
                raise EventMapError(f"event or metric {n!r} is not in map {self.name!r} (try: hwprof events show {self.name})")
        return [self.events[n] for n in chosen if n in self.events]


def _raw(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise EventMapError(f"{path}: {exc}") from None


def _parse_event(d: dict, where: str) -> Event:
    if "name" not in d:
        raise EventMapError(f"{where}: an event without a name")
    enc, raw = d.get("encoding") or {}, d.get("raw") or {}
    if not all(isinstance(v, int) for v in (*enc.values(), *raw.values())):
        raise EventMapError(f"{where}: event {d['name']}: encoding fields must be integers")
    return Event(name=d["name"], perf=d.get("perf", ""), encoding=tuple(enc.items()), raw=tuple(raw.items()),
                 kind=d.get("kind", "core"),
                 fixed=bool(d.get("fixed", False)), unit=d.get("unit", ""), desc=d.get("desc", ""))


def available(directory: Path | None = None) -> list[str]:
    """Names of every map file in the events folder."""
    return sorted(p.stem for p in (directory or events_dir()).glob("*.toml"))


def load(name: str, directory: Path | None = None, _seen: tuple = ()) -> EventMap:
    """Load one map by name, with everything it extends resolved (the child wins on a clash)."""
    directory = directory or events_dir()
    path = directory / f"{name}.toml"
    if not path.exists():
        raise EventMapError(f"no event map {name!r} in {directory} (known: {', '.join(available(directory))})")
    if name in _seen:
        raise EventMapError(f"event map {name!r} extends itself through {' -> '.join(_seen)}")
    raw = _raw(path)
    result = EventMap(name=raw.get("name", name), title=raw.get("title", ""), pmu=raw.get("pmu"),
                      gp_counters=int(raw.get("gp_counters", 4)), abstract=bool(raw.get("abstract", False)),
                      extends=list(raw.get("extends", [])), x86=list(raw.get("match", {}).get("x86", [])),
                      arm=list(raw.get("match", {}).get("arm", [])), sources=list(raw.get("sources", [])), path=path)
    for parent_name in result.extends:
        parent = load(parent_name, directory, _seen + (name,))
        result.events.update(parent.events)
        result.metrics.update(parent.metrics)
        result.pmu = result.pmu if "pmu" in raw else parent.pmu
    for d in raw.get("event", []):
        ev = _parse_event(d, str(path))
        result.events[ev.name] = ev
    for d in raw.get("metric", []):
        result.metrics[d["name"]] = Metric(d["name"], Formula(d["formula"]), d.get("unit", ""), d.get("desc", ""))
    return result


def for_cpu(cpu: CpuId, directory: Path | None = None) -> EventMap:
    """The map for this CPU: the first concrete map that matches, else the generic one."""
    for name in available(directory):
        m = load(name, directory)
        if not m.abstract and name != GENERIC and m.matches(cpu):
            return m
    return load(GENERIC, directory)


def lint(directory: Path | None = None) -> list[str]:
    """Problems in every map file: bad TOML, duplicates, unknown formula names, missing encodings."""
    directory = directory or events_dir()
    problems = []
    for name in available(directory):
        path = directory / f"{name}.toml"
        try:
            raw = _raw(path)
            if raw.get("name", name) != name:
                problems.append(f"{name}: name {raw.get('name')!r} differs from the file name")
            for section in ("event", "metric"):
                seen = set()
                for d in raw.get(section, []):
                    n = d.get("name", "")
                    if not _NAME.fullmatch(n or ""):
                        problems.append(f"{name}: {section} name {n!r} is not of the form [A-Za-z_][A-Za-z0-9_.]*")
                    if n in seen:
                        problems.append(f"{name}: duplicate {section} {n!r}")
                    seen.add(n)
            for d in raw.get("event", []):
                kind = d.get("kind", "core")
                if kind not in KINDS:
                    problems.append(f"{name}: event {d.get('name')}: unknown kind {kind!r}")
                if kind == "core" and not d.get("encoding"):
                    problems.append(f"{name}: event {d.get('name')}: no raw encoding")
                if kind == "core" and d.get("encoding") and "event" not in d["encoding"]:
                    problems.append(f"{name}: event {d.get('name')}: encoding has no event code")
                if kind != "core" and not d.get("perf"):
                    problems.append(f"{name}: event {d.get('name')}: a {kind} event needs its perf name")
            for pattern in raw.get("match", {}).get("x86", []):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    problems.append(f"{name}: bad x86 pattern {pattern!r}: {exc}")
            resolved = load(name, directory)
            for metric in resolved.metrics.values():
                for n in metric.formula.names:
                    if n not in resolved.events:
                        problems.append(f"{name}: metric {metric.name}: unknown event {n!r}")
        except EventMapError as exc:
            problems.append(f"{name}: {exc}")
    return problems
