"""The one sandbox rule for every target: a preopened folder is a jail.

A module sees only the folders given with --dir; inside them, no link may lead out. Wasmtime (embedded and
its CLI) enforces this itself (cap-std refuses a path that resolves outside the folder, EPERM). Targets whose
runtime follows links wherever they point (Node's WASI, wasmer-sdk's copy of the folder) get a check before
every repetition instead: a folder holding a link that leaves it, or whose target is absolute or climbs with
'..' (so that moving it could make it leave), is refused, naming the link. Inside the hosts hwprof runs,
creating a symbolic link is refused (EPERM), so a module cannot plant one during a run; moving the links
that remain cannot take them out, since none climbs.
"""

from __future__ import annotations

import os
from pathlib import Path


class SandboxError(Exception):
    """A folder that cannot be given to a module on this target without letting it out."""


def risky_links(folder: str | os.PathLike, limit: int = 100_000) -> list[tuple[str, str]]:
    """Symbolic links under `folder` that lead, or could be moved to lead, out of it: [(link, target)].

    A link leads out when it resolves outside the folder; it could be moved to when its target is absolute
    or climbs with '..' (a module renaming `sub/up -> ../x` to `up` makes it leave). Links whose relative
    target only descends stay inside wherever they are moved. Raises SandboxError past `limit` entries.
    """
    root = Path(folder).resolve()
    found = []
    seen = 0
    for here, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            seen += 1
            if seen > limit:
                raise SandboxError(f"--dir {folder} holds more than {limit:,} entries: too many to check for links "
                                   "that lead out of it; give a smaller folder")
            path = Path(here) / name
            if not path.is_symlink():
                continue
            text = os.readlink(path)
            target = Path(os.path.realpath(path))
            leaves = target != root and root not in target.parents
            if leaves or os.path.isabs(text) or ".." in Path(text).parts:
                found.append((str(path), text))
    return found


def check_jail(runtime_name: str, confines_links: bool, dirs) -> None:
    """Refuse, in one line, a folder with a link out of it (or one that could be moved out) for a target that
    would follow it."""
    if confines_links:
        return
    for host, _guest in dirs:
        links = risky_links(host)
        if links:
            link, target = links[0]
            more = f" (and {len(links) - 1} more)" if len(links) > 1 else ""
            raise SandboxError(f"--dir {host} holds a link that leads out of it: {link} -> {target}{more}; the "
                               f"{runtime_name} target would follow it, so hwprof refuses the folder (remove the "
                               "link, or use a wasmtime target, which confines links)")
