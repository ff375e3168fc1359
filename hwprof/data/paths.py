"""Where hwprof's data files, build cache and results live."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def events_dir() -> Path:
    """The folder of event maps (HWPROF_EVENTS_DIR overrides the repository's events/)."""
    return Path(os.environ.get("HWPROF_EVENTS_DIR") or REPO_ROOT / "events")


def targets_dir() -> Path:
    """The folder of runtime target data files (HWPROF_TARGETS_DIR overrides targets/)."""
    return Path(os.environ.get("HWPROF_TARGETS_DIR") or REPO_ROOT / "targets")


def cache_dir() -> Path:
    """Where built workloads and the native helper are cached (HWPROF_CACHE, else ~/.cache/hwprof)."""
    base = os.environ.get("HWPROF_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "hwprof")
    return Path(base)


def default_results() -> Path:
    """The default results store: results/default in the repository, or HWPROF_RESULTS."""
    return Path(os.environ.get("HWPROF_RESULTS") or REPO_ROOT / "results" / "default")
