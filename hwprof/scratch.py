"""Scratch folders for measured processes: named by the controller's pid, so the next start removes the ones
a killed controller (SIGKILL, power loss) could not."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

_NAME = re.compile(r"hwprof-(?:[a-z]+-)?(\d+)-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(folder: Path | None = None) -> list[Path]:
    """Remove scratch folders whose controller is gone; returns what was removed."""
    folder = Path(folder or tempfile.gettempdir())
    removed = []
    for path in folder.glob("hwprof-*"):
        m = _NAME.match(path.name)
        if m and path.is_dir() and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def make(kind: str = "") -> Path:
    """A new scratch folder for this controller (stale ones from dead controllers are removed first)."""
    sweep_stale()
    return Path(tempfile.mkdtemp(prefix=f"hwprof-{kind + '-' if kind else ''}{os.getpid()}-"))
