"""Loading a map file: its shape checked, its events and metrics read, and everything it `extends` resolved."""

from __future__ import annotations

from pathlib import Path

from hwprof.events.files import line_of, locate, read_toml
from hwprof.events.formula import Formula
from hwprof.events.model import Event, EventMap, Metric
from hwprof.events.standard import EventMapError

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
                return line_of(path, entry["name"]) if isinstance(entry.get("name"), str) else str(path)
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


def _parse_event(d: dict, path: Path) -> Event:
    if "name" not in d:
        raise EventMapError(f"{path}: an event without a name")
    enc, raw = d.get("encoding") or {}, d.get("raw") or {}
    if not all(isinstance(v, int) for v in (*enc.values(), *raw.values())):
        raise EventMapError(f"{line_of(path, d['name'])}: event {d['name']}: encoding fields must be integers")
    return Event(name=d["name"], perf=d.get("perf", ""), encoding=tuple(enc.items()), raw=tuple(raw.items()),
                 kind=d.get("kind", "core"),
                 fixed=bool(d.get("fixed", False)), unit=d.get("unit", ""), desc=d.get("desc", ""))


def load(name: str, directory: Path | None = None, _seen: tuple = (), _near: Path | None = None) -> EventMap:
    """Load one map by name (from the events folder) or by path, everything it extends resolved (the child
    wins on a clash). A map loaded by path finds its parents beside it first, then in the events folder."""
    path = locate(name, directory, _near)
    try:
        return _load(path, directory, _seen)
    except RecursionError:
        raise EventMapError(f"{path}: a formula nests too deeply to read") from None


def _load(path: Path, directory: Path | None, _seen: tuple) -> EventMap:
    key = str(path.resolve())
    if key in _seen:
        raise EventMapError(f"event map {path.stem!r} extends itself through "
                            f"{' -> '.join(Path(s).stem for s in _seen)}")
    raw = read_toml(path)
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
            raise EventMapError(f"{line_of(path, d.get('name', ''))}: a metric needs a name and a formula")
        try:
            formula = Formula(d["formula"])
        except EventMapError as exc:
            raise EventMapError(f"{line_of(path, d['name'])}: metric {d['name']}: {exc}") from None
        result.metrics[d["name"]] = Metric(d["name"], formula, d.get("unit", ""), d.get("desc", ""))
        result.unavailable.pop(d["name"], None)
    # This file's own word wins: a metric it says the core lacks is dropped even if a parent defines it.
    for metric, why in (raw.get("unavailable") or {}).items():
        result.metrics.pop(metric, None)
        result.unavailable[metric] = str(why)
    return result
