"""Command-line runtimes described by data files in targets/ (one TOML file per runtime).

A file gives the launch template, the version probe and what the runtime can mark. Such a runtime
cannot define the `bench` imports, so it runs the workload's WASI-marker build: bench.start/bench.end
write a tagged line to stderr and wait on stdin, and hwprof's relay (relay.py) turns them into phase
edges. It separates two phases: startup (exec until bench.start: process bootstrap, compilation
and instantiation together) and execute.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from hwprof.data.paths import targets_dir
from hwprof.runtimes import Job, Outcome, Prepared, RuntimeError_, read_outcome

FIELDS = {"name": str, "title": str, "command": list, "version": list, "install": str, "flags": str}
# {wasm} is the module, {args} its arguments, {artefact} what the optional `prepare` command wrote.
PLACEHOLDERS = ("{args}",)


def available(directory: Path | None = None) -> list[str]:
    """Names of the runtimes described in targets/."""
    return sorted(p.stem for p in (directory or targets_dir()).glob("*.toml"))


def validate(path: Path) -> dict:
    """Read and check one target file; any problem is one error naming the file."""
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RuntimeError_(f"{path}: not a valid target file: {exc}") from None
    for key, kind in FIELDS.items():
        if key not in doc:
            raise RuntimeError_(f"{path}: missing {key!r}")
        if not isinstance(doc[key], kind):
            raise RuntimeError_(f"{path}: {key!r} must be a {kind.__name__}")
    if doc["name"] != path.stem:
        raise RuntimeError_(f"{path}: name {doc['name']!r} differs from the file name")
    if not doc["command"] or not all(isinstance(a, str) for a in doc["command"] + doc["version"]):
        raise RuntimeError_(f"{path}: 'command' and 'version' must be non-empty lists of strings")
    text = " ".join(doc["command"])
    for p in PLACEHOLDERS:
        if p not in text:
            raise RuntimeError_(f"{path}: 'command' must place {p}")
    if "{wasm}" not in text and "{artefact}" not in text:
        raise RuntimeError_(f"{path}: 'command' must place {{wasm}} (or {{artefact}} with a prepare command)")
    if "prepare" in doc and ("{artefact}" not in " ".join(doc["prepare"]) or "{wasm}" not in " ".join(doc["prepare"])):
        raise RuntimeError_(f"{path}: 'prepare' must read {{wasm}} and write {{artefact}}")
    return doc


def load(name: str, directory: Path | None = None) -> "CliRuntime":
    """The runtime described by targets/NAME.toml."""
    path = (directory or targets_dir()) / f"{name}.toml"
    return CliRuntime(validate(path), path)


class CliRuntime:
    """A runtime driven through its command line, with phase edges relayed from WASI markers."""

    phases = ("startup", "execute")
    modes = ("cold",)
    target = "wasm-wasi-markers"

    def __init__(self, doc: dict, path: Path):
        self.doc = doc
        self.path = path
        self.name = doc["name"]

    def probe(self) -> str:
        """The runtime's version line, or a clear 'not installed'."""
        exe = self.doc["command"][0]
        if not shutil.which(exe):
            raise RuntimeError_(f"{self.name} is not installed ({exe!r} not on PATH): {self.doc['install']}")
        done = subprocess.run(self.doc["version"], capture_output=True, text=True, timeout=30)
        text = (done.stdout or done.stderr).strip()
        return text.splitlines()[0] if text else "unknown version"

    def flags(self) -> str:
        """What the file says about the runtime's settings."""
        return self.doc["flags"]

    def prepare(self, workload, workdir: Path) -> Prepared | None:
        """The file's ahead-of-time command (e.g. an AOT compiler), measured whole as aot_compile."""
        if "prepare" not in self.doc:
            return None
        artefact = workdir / "module.aot"
        argv = [a.replace("{wasm}", str(workload.wasm)).replace("{artefact}", str(artefact))
                for a in self.doc["prepare"]]
        return Prepared("aot_compile", argv, artefact)

    def command(self, job: Job) -> list[str]:
        """The relay around the runtime's command; bare for a whole-run pass (stop_after "total")."""
        artefact = str(job.prepared.artefact) if job.prepared else ""
        argv = []
        for part in self.doc["command"]:
            if part == "{args}":
                argv += list(job.args)
            else:
                argv.append(part.replace("{wasm}", str(job.wasm)).replace("{artefact}", artefact))
        if job.stop_after == "total":
            return argv   # no relay: the markers find stdin closed and go on at once
        return [sys.executable, "-m", "hwprof.runtimes.relay", str(job.workdir / "result.json"),
                str(job.workdir / "stdout.txt"), "--"] + argv

    def outcome(self, job: Job) -> Outcome:
        """What the relay reported."""
        return read_outcome(job)
