"""The one sandbox rule for every target: a preopened folder is a jail.

A module sees only the folders given with --dir; inside them, no link may lead out. Wasmtime (embedded and
its CLI) enforces this itself (cap-std refuses a path that resolves outside the folder, EPERM). Targets whose
runtime follows links wherever they point (Node's WASI, wasmer-sdk's copy of the folder) get a check before
every run instead: a folder holding a link that leaves it is refused, naming the link. Inside the hosts hwprof
runs, creating a symbolic link is refused (EPERM), so a module cannot plant such a link during a run either.
"""

from __future__ import annotations

import os
from pathlib import Path


class SandboxError(Exception):
    """A folder that cannot be given to a module on this target without letting it out."""


def escaping_links(folder: str | os.PathLike, limit: int = 100_000) -> list[tuple[str, str]]:
    """Symbolic links under `folder` that resolve outside it (or dangle towards outside): [(link, target)]."""
    root = Path(folder).resolve()
    found = []
    seen = 0
    for here, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            seen += 1
            if seen > limit:
                return found
            path = Path(here) / name
            if path.is_symlink():
                target = Path(os.path.realpath(path))
                if target != root and root not in target.parents:
                    found.append((str(path), os.readlink(path)))
    return found


def check_jail(runtime_name: str, confines_links: bool, dirs) -> None:
    """Refuse, in one line, a folder with a link out of it for a target that would follow it."""
    if confines_links:
        return
    for host, _guest in dirs:
        links = escaping_links(host)
        if links:
            link, target = links[0]
            more = f" (and {len(links) - 1} more)" if len(links) > 1 else ""
            raise SandboxError(f"--dir {host} holds a link that leads out of it: {link} -> {target}{more}; the "
                               f"{runtime_name} target would follow it, so hwprof refuses the folder (remove the "
                               "link, or use a wasmtime target, which confines links)")
