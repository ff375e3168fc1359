"""The content-hashed build cache: every built artefact (workloads, helpers, hosts, answers) kept by the digest
of what went into it, written atomically so a crash or a concurrent build never leaves half a file."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Callable, Iterable

from hwprof.data.paths import cache_dir

Part = str | bytes | Path


def digest(parts: Iterable[Part], length: int = 16) -> str:
    """sha256 of the parts in order (a path counts by its name and bytes), as `length` hex digits."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            h.update(part.name.encode() + part.read_bytes())
        else:
            h.update(part if isinstance(part, bytes) else part.encode())
    return h.hexdigest()[:length]


def path(kind: str, name: str) -> Path:
    """Where the artefact `name` of `kind` lives in the cache."""
    return cache_dir() / kind / name


def build(kind: str, name: str, make: Callable[[Path], None], record: dict | None = None) -> Path:
    """The cached artefact `name` of `kind`, made by `make(tmp)` into a temporary path when absent.

    `make` writes a file or a folder at tmp; it is moved into place in one step (a concurrent build of the
    same artefact wins or loses as a whole). `record` is written beside it as NAME.json (how it was built).
    """
    out = path(kind, name)
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    _remove(tmp)
    try:
        make(tmp)
        if record is not None:
            out.with_name(out.name + ".json").write_text(json.dumps(record, indent=1))
        os.replace(tmp, out)
    except OSError:
        if not out.exists():      # another process built it first: theirs stands; otherwise the error stands
            _remove(tmp)
            raise
    except BaseException:
        _remove(tmp)
        raise
    _remove(tmp)
    return out


def read_json(kind: str, name: str) -> dict | None:
    """A cached JSON answer, or None when absent or unreadable."""
    try:
        return json.loads(path(kind, name).read_text())
    except (OSError, ValueError):
        return None


def write_json(kind: str, name: str, value: dict) -> None:
    """Keep a JSON answer; a full or read-only cache is not an error (the answer is asked again next time)."""
    out = path(kind, name)
    tmp = out.with_name(f".{out.name}.{os.getpid()}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(value))
        os.replace(tmp, out)
    except OSError:
        tmp.unlink(missing_ok=True)


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)
