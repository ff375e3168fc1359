"""The results store: one JSON file per repetition, written atomically, safe for concurrent writers."""

from __future__ import annotations

import errno
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

from hwprof.data.schema import COLUMNS, FORMAT_VERSION, PROVENANCE_COLUMNS, Record

RUNS = "runs"
SESSIONS = "sessions"


class StoreError(Exception):
    """A results store or file that cannot be read or written."""


class NewerFormatError(StoreError):
    """A run file written by a newer hwprof: never skipped (its data would silently go missing)."""


def no_room(exc: OSError) -> str:
    """Why a store write failed, in the words a user acts on."""
    return "no space left on its device" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))


def stamp() -> str:
    """Now, in UTC, as every hwprof file writes it."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def new_id() -> str:
    """A sortable id unique across processes and machines: UTC time plus random bits."""
    now = time.time()
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}-" + uuid.uuid4().hex[:10]


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write a text file so that readers see either nothing or the whole file (mode 0644 less the umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o644 & ~umask)     # mkstemp's 0600 would hide a report from everyone else
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: str | os.PathLike, doc: dict) -> Path:
    """Write doc as JSON so that readers see either nothing or the whole file."""
    return atomic_write_text(path, json.dumps(doc, indent=1, sort_keys=True))


class ResultStore:
    """A folder of results: runs/<run_id>.json (records) and sessions/<session_id>.json (state)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def write_run(self, session_id: str, provenance: dict, records: list[Record], run_id: str | None = None,
                  timeline: list[dict] | None = None) -> Path:
        """Persist one repetition's records (and its processes' timeline) at once; returns the file written."""
        run_id = run_id or new_id()
        doc = {
            "format_version": FORMAT_VERSION,
            "run_id": run_id,
            "session_id": session_id,
            "timestamp": stamp(),
            "provenance": provenance,
            "records": [r.to_dict() for r in records],
        }
        if timeline:
            doc["timeline"] = timeline
        path = self.root / RUNS / f"{run_id}.json"
        atomic_write_json(path, doc)
        return path

    def write_session(self, session_id: str, state: str, **info) -> Path:
        """Record a collect session's state: running, complete, failed or interrupted (with who writes it, so
        a session left `running` by a killed process is told apart later: see session_state)."""
        doc = {"format_version": FORMAT_VERSION, "session_id": session_id, "state": state,
               "updated": stamp(), "pid": os.getpid(), "host": os.uname().nodename, "boot_id": boot_id(), **info}
        path = self.root / SESSIONS / f"{session_id}.json"
        atomic_write_json(path, doc)
        return path

    def run_files(self) -> list[Path]:
        """Every finished run file, oldest first."""
        return sorted((self.root / RUNS).glob("*.json"))


def read_run(path: str | os.PathLike) -> dict:
    """Read one run file, checking its format version."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise StoreError(f"{path}: not a readable hwprof run file ({exc})") from None
    if not isinstance(doc, dict):
        raise StoreError(f"{path}: not an hwprof run file (its JSON is a {type(doc).__name__}, not an object)")
    version = doc.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        if isinstance(version, int):
            raise NewerFormatError(f"{path}: format_version {version} is newer than this hwprof reads "
                                   f"({FORMAT_VERSION}); upgrade hwprof")
        raise StoreError(f"{path}: no format_version: not an hwprof run file")
    try:
        doc["records"] = [Record.from_dict(r) for r in doc.get("records", [])]
    except (TypeError, ValueError, AttributeError) as exc:
        raise StoreError(f"{path}: a record does not fit hwprof's row type ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc.get("provenance", {}), dict):
        raise StoreError(f"{path}: its provenance is not an object")
    return doc


KILLED = "killed"   # a session whose file says running but whose process is gone (SIGKILL, power loss)


def boot_id() -> str:
    """This boot's id (a pid is only meaningful within one boot of one machine)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def session_state(doc: dict) -> str:
    """A session's state, `killed` when it says running but its process no longer exists on this machine."""
    state = doc.get("state", "")
    if state != "running" or not doc.get("pid"):
        return state
    if doc.get("host") != os.uname().nodename:
        return state                      # another machine's session: nothing to check from here
    if doc.get("boot_id") and doc["boot_id"] != boot_id():
        return KILLED                     # written before this boot
    try:
        os.kill(int(doc["pid"]), 0)
    except ProcessLookupError:
        return KILLED
    except PermissionError:
        pass
    return state


def _session_states(root: Path) -> dict[str, str]:
    states = {}
    for p in (root / SESSIONS).glob("*.json"):
        try:
            d = json.loads(p.read_text())
            states[d["session_id"]] = session_state(d)
        except (OSError, ValueError, KeyError):
            continue
    return states


class SkippedRunWarning(UserWarning):
    """A run file of a store that could not be read and was left out (load with strict=True to refuse)."""


def iter_rows(path: str | os.PathLike, strict: bool = False):
    """Yield one flat dict per record of a store folder or a single run file.

    A store's run file that cannot be read (truncated by a crash, edited by hand) is left out with a
    SkippedRunWarning naming it; `strict` refuses the store instead. A single file asked for by name is
    always read strictly.
    """
    import warnings

    path = Path(path)
    if path.is_file():
        files, states, strict = [path], {}, True
    elif path.is_dir():
        root = path.parent if path.name == RUNS else path
        files, states = ResultStore(root).run_files(), _session_states(root)
    else:
        raise StoreError(f"{path}: no such results store or run file")
    for f in files:
        try:
            doc = read_run(f)
        except NewerFormatError:
            raise
        except (StoreError, TypeError, ValueError, KeyError, AttributeError) as exc:
            message = str(exc) if isinstance(exc, StoreError) else f"{f}: not a readable hwprof run file ({exc})"
            if strict:
                raise StoreError(message) from None
            warnings.warn(f"skipped {message}", SkippedRunWarning, stacklevel=2)
            continue
        prov = doc.get("provenance", {})
        base = {"run_id": doc.get("run_id", f.stem), "timestamp": doc.get("timestamp", ""),
                "session_id": doc.get("session_id", ""), "session_state": states.get(doc.get("session_id"), "")}
        base.update({k: prov.get(k, "") for k in PROVENANCE_COLUMNS})
        for r in doc["records"]:
            yield {**base, **r.to_dict()}


def load_results(path: str | os.PathLike, strict: bool = False):
    """Load a store folder (or one run file) as a pandas DataFrame with one row per record (unreadable run
    files of a store are skipped with a SkippedRunWarning; strict=True refuses them); attrs["results"] names it."""
    import pandas as pd

    rows = list(iter_rows(path, strict))
    columns = list(COLUMNS) + ["session_id", "session_state"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    frame.attrs["results"] = str(path)    # where the rows came from, for a reader of run-level provenance
    return frame
