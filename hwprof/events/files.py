"""Map files: where a map named by name or path lives, its TOML (parsed once per version), and FILE:LINE."""

from __future__ import annotations

import copy
import re
import tomllib
from functools import lru_cache
from pathlib import Path

from hwprof.data.paths import events_dir
from hwprof.events.standard import CATALOGUE, EventMapError


def read_toml(path: Path) -> dict:
    """A map file's TOML, parsed once per version of the file (a hybrid check loads every map and its parents)."""
    try:
        stamp = path.stat().st_mtime_ns
        return copy.deepcopy(_parsed(str(path), stamp))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise EventMapError(f"{path}: {exc}") from None


@lru_cache(maxsize=256)
def _parsed(path: str, stamp: int) -> dict:
    return tomllib.loads(Path(path).read_text())


def available(directory: Path | None = None) -> list[str]:
    """Names of every map file in the events folder."""
    return sorted(p.stem for p in (directory or events_dir()).glob("*.toml") if p.stem != CATALOGUE)


def is_path(name: str) -> bool:
    """True when a map is named by its file (a path or a .toml name) rather than by its name."""
    return name.endswith(".toml") or "/" in name


def locate(name: str, directory: Path | None, near: Path | None) -> Path:
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


def line_of(path: Path, name: str) -> str:
    """'FILE:LINE' of the entry `name = "..."` in a map file (the file alone when it cannot be found)."""
    try:
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if re.match(rf'\s*name\s*=\s*"{re.escape(name)}"', line):
                return f"{path}:{i}"
    except OSError:
        pass
    return str(path)
