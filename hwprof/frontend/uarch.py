"""Front-end geometries per microarchitecture (hwprof/frontend/uarch/*.toml), loaded and validated.

Each file has [dsb], [l1i] and [jcc_erratum] tables of facts, each with a [<table>.sources] entry naming its
public source (or starting "assumption:"), [assumptions].list of what the model leaves out, and event_maps:
the event maps (events/*.toml) of the CPUs whose front end it describes, so a model can be matched to the CPU
that measured.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

UARCH_DIR = Path(__file__).with_name("uarch")
_FACTS = {
    "dsb": {"sets": int, "ways": int, "uops_per_way": int, "window_bytes": int, "max_ways_per_window": int,
            "inclusive_of_l1i": bool},
    "l1i": {"size_bytes": int, "ways": int, "line_bytes": int},
    "jcc_erratum": {"applies": bool, "boundary_bytes": int},
}


class UarchError(ValueError):
    """A front-end data file that is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Uarch:
    """One microarchitecture's front-end geometry, as the model uses it."""

    name: str
    title: str
    dsb_sets: int
    dsb_ways: int
    dsb_uops_per_way: int
    dsb_window_bytes: int
    dsb_max_ways_per_window: int
    dsb_inclusive_of_l1i: bool
    l1i_size_bytes: int
    l1i_ways: int
    l1i_line_bytes: int
    jcc_erratum: bool
    jcc_boundary_bytes: int
    sources: dict
    assumptions: tuple[str, ...]
    event_maps: tuple[str, ...] = ()     # events/*.toml names of the CPUs with this front end

    @property
    def l1i_sets(self) -> int:
        """Number of L1I sets."""
        return self.l1i_size_bytes // (self.l1i_ways * self.l1i_line_bytes)


def names() -> list[str]:
    """The microarchitectures that have a data file."""
    return sorted(p.stem for p in UARCH_DIR.glob("*.toml"))


def load(name_or_path: str | Path) -> Uarch:
    """The Uarch of a name (skylake, zen3, ...) or a .toml path; UarchError with a one-line reason otherwise."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = UARCH_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise UarchError(f"unknown microarchitecture {name_or_path!r}; known: {', '.join(names())}")
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise UarchError(f"{path.name}: cannot read: {e}") from None
    return _validate(data, path.name)


def _validate(data: dict, where: str) -> Uarch:
    for key in ("name", "title"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise UarchError(f"{where}: {key!r} must be a non-empty string")
    values, sources = {}, {}
    for table, facts in _FACTS.items():
        got = data.get(table)
        if not isinstance(got, dict):
            raise UarchError(f"{where}: missing table [{table}]")
        unknown = set(got) - set(facts) - {"sources"}
        if unknown:
            raise UarchError(f"{where}: [{table}] has unknown keys: {', '.join(sorted(unknown))}")
        cited = got.get("sources", {})
        for key, kind in facts.items():
            value = got.get(key)
            if type(value) is not kind or (kind is int and value <= 0):
                raise UarchError(f"{where}: [{table}] {key} must be a {'positive integer' if kind is int else 'boolean'}"
                                 f", got {value!r}")
            if not isinstance(cited.get(key), str) or not cited[key].strip():
                raise UarchError(f"{where}: [{table}.sources] has no source for {key}")
            values[f"{table}_{key}"], sources[f"{table}.{key}"] = value, cited[key]
    assumptions = data.get("assumptions", {}).get("list")
    if not isinstance(assumptions, list) or not all(isinstance(a, str) for a in assumptions):
        raise UarchError(f"{where}: [assumptions] list must be a list of strings")
    maps = data.get("event_maps", [data["name"]])
    if not isinstance(maps, list) or not maps or not all(isinstance(m, str) and m for m in maps):
        raise UarchError(f"{where}: event_maps must be a non-empty list of event map names")
    u = Uarch(name=data["name"], title=data["title"], event_maps=tuple(maps), jcc_erratum=values.pop("jcc_erratum_applies"),
              jcc_boundary_bytes=values.pop("jcc_erratum_boundary_bytes"), sources=sources,
              assumptions=tuple(assumptions), **values)
    _check_geometry(u, where)
    return u


def _check_geometry(u: Uarch, where: str) -> None:
    def power_of_two(n: int) -> bool:
        return n & (n - 1) == 0
    if not power_of_two(u.l1i_line_bytes) or not power_of_two(u.dsb_window_bytes):
        raise UarchError(f"{where}: line_bytes and window_bytes must be powers of two")
    if u.l1i_size_bytes % (u.l1i_ways * u.l1i_line_bytes):
        raise UarchError(f"{where}: l1i size {u.l1i_size_bytes} is not a multiple of ways x line_bytes")
    if u.dsb_window_bytes > u.l1i_line_bytes:
        raise UarchError(f"{where}: dsb window_bytes ({u.dsb_window_bytes}) larger than the l1i line "
                         f"({u.l1i_line_bytes}) is not supported")
    if u.dsb_max_ways_per_window > u.dsb_ways:
        raise UarchError(f"{where}: dsb max_ways_per_window ({u.dsb_max_ways_per_window}) exceeds ways ({u.dsb_ways})")
