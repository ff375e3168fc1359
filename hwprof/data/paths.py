"""Where hwprof's data files, build cache and results live.

In a source checkout the data folders are the repository's own events/, targets/ and campaigns/; an
installed wheel carries copies of them in hwprof/shipped/ (setup.py's build step puts them there).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE.parent
SHIPPED = PACKAGE / "shipped"
DATA_FOLDERS = ("events", "targets", "campaigns")


def in_checkout() -> bool:
    """True when hwprof runs from its source tree (not from an installed wheel)."""
    return (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "events").is_dir()


def data_dir(name: str) -> Path:
    """One of DATA_FOLDERS: the checkout's, else the copy shipped inside the installed package."""
    return REPO_ROOT / name if in_checkout() else SHIPPED / name


def events_dir() -> Path:
    """The folder of event maps (HWPROF_EVENTS_DIR overrides events/)."""
    return Path(os.environ.get("HWPROF_EVENTS_DIR") or data_dir("events"))


def targets_dir() -> Path:
    """The folder of runtime target data files (HWPROF_TARGETS_DIR overrides targets/)."""
    return Path(os.environ.get("HWPROF_TARGETS_DIR") or data_dir("targets"))


def campaigns_dir() -> Path:
    """The folder of shipped campaign specs (campaigns/)."""
    return data_dir("campaigns")


def cache_dir() -> Path:
    """Where built workloads and the native helper are cached (HWPROF_CACHE, else ~/.cache/hwprof)."""
    base = os.environ.get("HWPROF_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "hwprof")
    return Path(base)


def results_root() -> Path:
    """Where results stores go by default: the checkout's results/, else ./results (collect's own default store
    can be moved with HWPROF_RESULTS, see default_results)."""
    return REPO_ROOT / "results" if in_checkout() else Path.cwd() / "results"


def default_results() -> Path:
    """The default results store: results/default, or HWPROF_RESULTS."""
    return Path(os.environ.get("HWPROF_RESULTS") or results_root() / "default")
