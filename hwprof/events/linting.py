"""`hwprof events lint`: every name, encoding, pattern and formula in map files checked, each problem at FILE:LINE."""

from __future__ import annotations

import re
from pathlib import Path

from hwprof.data.paths import events_dir
from hwprof.events.files import available, line_of, read_toml
from hwprof.events.loading import load
from hwprof.events.model import EventMap
from hwprof.events.standard import ARM_FIELDS, KINDS, STANDARD_METRICS, X86_FIELDS, EventMapError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def lint(directory: Path | None = None, paths: list[Path] | None = None) -> list[str]:
    """Problems in map files (every one in the folder, or the `paths` given): bad TOML, duplicates, unknown
    formula names, missing or unknown encoding fields; each problem starts with FILE[:LINE]."""
    directory = directory or events_dir()
    files = [Path(p) for p in paths] if paths else [directory / f"{n}.toml" for n in available(directory)]
    problems = []
    for path in files:
        try:
            raw = read_toml(path)
            resolved = load(str(path), directory)
        except EventMapError as exc:
            problems.append(str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}")
            continue
        where = lambda entry="": line_of(path, entry) if entry else str(path)  # noqa: E731
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
