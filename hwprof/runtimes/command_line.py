"""Command-line runtimes described by data files in targets/ (one TOML file per runtime).

A file gives the launch template, the version probe and what the runtime can mark. Such a runtime
cannot define the `bench` imports, so it runs the workload's WASI-marker build: bench.start/bench.end
write a tagged line to stderr and wait on stdin, and hwprof's relay (relay.py) turns them into phase
edges. It separates two phases: startup (exec until bench.start: process bootstrap, compilation
and instantiation together) and execute. A module without markers is measured whole, as `total`.

Optional keys say how the command line passes what a user gives the module: `[inputs]` holds argv
pieces for env, dirs, invoke, unknown-imports and memory_limit, `[features]` one per wasm proposal,
all placed at `{options}`; `python_package` names the PyPI package whose folder holds the executable
(used before PATH, so a console-script wrapper, which would add Python's start-up, is never run).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from hwprof.data.paths import targets_dir
from hwprof.runtimes import INPUTS, Ahead, Job, Outcome, Prepared, RuntimeTargetError, read_outcome
from hwprof.workloads.module import FEATURES

FIELDS = {"name": str, "title": str, "command": list, "version": list, "install": str, "flags": str}
# Optional: python_package (str), prepare (list), [inputs], [features], confines_links (bool: the runtime keeps
# a preopened folder's links inside it; otherwise hwprof refuses folders holding a link that leads out).
# {wasm} is the module, {args} its arguments, {artefact} what the optional `prepare` command wrote,
# {options} where the [inputs] and [features] pieces go.
PLACEHOLDERS = ("{args}",)
# [inputs] keys: the INPUTS a template can pass (args always; stdin is the process's own), plus the limit.
TEMPLATE_INPUTS = ("env", "dirs", "invoke", "unknown-imports", "memory_limit")


def available(directory: Path | None = None) -> list[str]:
    """Names of the runtimes described in targets/."""
    return sorted(p.stem for p in (directory or targets_dir()).glob("*.toml"))


def validate(path: Path) -> dict:
    """Read and check one target file; any problem is one error naming the file."""
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RuntimeTargetError(f"{path}: not a valid target file: {exc}") from None
    for key, kind in FIELDS.items():
        if key not in doc:
            raise RuntimeTargetError(f"{path}: missing {key!r}")
        if not isinstance(doc[key], kind):
            raise RuntimeTargetError(f"{path}: {key!r} must be a {kind.__name__}")
    if doc["name"] != path.stem:
        raise RuntimeTargetError(f"{path}: name {doc['name']!r} differs from the file name")
    if not doc["command"] or not all(isinstance(a, str) for a in doc["command"] + doc["version"]):
        raise RuntimeTargetError(f"{path}: 'command' and 'version' must be non-empty lists of strings")
    text = " ".join(doc["command"])
    for p in PLACEHOLDERS:
        if p not in text:
            raise RuntimeTargetError(f"{path}: 'command' must place {p}")
    if "{wasm}" not in text and "{artefact}" not in text:
        raise RuntimeTargetError(f"{path}: 'command' must place {{wasm}} (or {{artefact}} with a prepare command)")
    for key, kind in (("prepare", list), ("python_package", str), ("confines_links", bool)):
        if key in doc and not isinstance(doc[key], kind):
            raise RuntimeTargetError(f"{path}: {key!r} must be a {kind.__name__}")
    if "prepare" in doc and not all(isinstance(a, str) for a in doc["prepare"]):
        raise RuntimeTargetError(f"{path}: 'prepare' must be a list of strings")
    if "prepare" in doc and ("{artefact}" not in " ".join(doc["prepare"]) or "{wasm}" not in " ".join(doc["prepare"])):
        raise RuntimeTargetError(f"{path}: 'prepare' must read {{wasm}} and write {{artefact}}")
    for table, known in (("inputs", TEMPLATE_INPUTS), ("features", tuple(FEATURES))):
        entries = doc.get(table, {})
        if not isinstance(entries, dict):
            raise RuntimeTargetError(f"{path}: [{table}] must be a table")
        for key, pieces in entries.items():
            if key not in known:
                raise RuntimeTargetError(f"{path}: [{table}] {key!r} is not one of {', '.join(known)}")
            if not isinstance(pieces, list) or not all(isinstance(a, str) for a in pieces):
                raise RuntimeTargetError(f"{path}: [{table}] {key} must be a list of strings")
    if (doc.get("inputs") or doc.get("features")) and "{options}" not in doc["command"]:
        raise RuntimeTargetError(f"{path}: 'command' must place {{options}} for its [inputs] and [features]")
    return doc


def load(name: str, directory: Path | None = None) -> "CliRuntime":
    """The runtime described by targets/NAME.toml."""
    path = (directory or targets_dir()) / f"{name}.toml"
    return CliRuntime(validate(path), path)


class CliRuntime:
    """A runtime driven through its command line, with phase edges relayed from WASI markers."""

    phases = ("startup", "execute")
    modes = ("cold",)
    flavour = "wasm-wasi-markers"
    OPTIONS: tuple[str, ...] = ()
    stdin_via_process = True    # a module measured whole reads the runtime's own stdin (the relay needs it otherwise)

    def __init__(self, doc: dict, path: Path):
        self.doc = doc
        self.path = path
        self.ahead = Ahead("aot_compile") if "prepare" in doc else None
        self.name = doc["name"]
        given = doc.get("inputs", {})
        self.accepts = frozenset({"args", "stdin"} | {k for k in given if k in INPUTS})   # never args-with-invoke:
        # after --invoke the command line's arguments are the export's
        self.limits = {k: f"{path.name} says no way to pass it to {doc['command'][0]}"
                       for k in INPUTS if k not in self.accepts}
        self.features = frozenset(doc.get("features", {}))
        self.confines_links = bool(doc.get("confines_links", False))

    def executable(self) -> str:
        """The runtime's executable: in its Python package's folder, else on PATH (raises when neither)."""
        exe = self.doc["command"][0]
        package = self.doc.get("python_package")
        spec = importlib.util.find_spec(package) if package else None
        for folder in (spec.submodule_search_locations or []) if spec else []:
            candidate = Path(folder) / exe
            if candidate.is_file():
                if not os.access(candidate, os.X_OK):
                    raise RuntimeTargetError(f"{candidate} is not executable (its wheel dropped the mode bit): "
                                        f"chmod +x {candidate} (scripts/setup.sh does)")
                return str(candidate)
        found = shutil.which(exe)
        if not found:
            raise RuntimeTargetError(f"{self.name} is not installed ({exe!r} not on PATH): {self.doc['install']}")
        return found

    def probe(self) -> str:
        """The runtime's version line, or a clear 'not installed'."""
        exe = self.executable()
        argv = [exe if a == self.doc["command"][0] else a for a in self.doc["version"]]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
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
        argv = [a.replace("{wasm}", str(workload.program)).replace("{artefact}", str(artefact))
                for a in self.doc["prepare"]]
        return Prepared(argv, artefact)

    def options(self, job: Job) -> list[str]:
        """The [inputs] and [features] pieces for one job, in a fixed order."""
        given = self.doc.get("inputs", {})

        def fill(slot: str, **values) -> list[str]:
            out = []
            for piece in given.get(slot, []):
                for name, value in values.items():
                    piece = piece.replace("{" + name + "}", str(value))
                out.append(piece)
            return out

        argv = []
        for key, value in job.inputs.env:
            argv += fill("env", key=key, value=value)
        for host, guest in job.dirs:
            argv += fill("dirs", host=host, guest=guest)
        if job.inputs.invoke:
            argv += fill("invoke", export=job.inputs.invoke)
        if job.inputs.unknown_imports:
            argv += fill("unknown-imports")
        if job.memory_limit:
            argv += fill("memory_limit", bytes=job.memory_limit)
        for feature in job.features:
            argv += self.doc["features"][feature]
        return argv

    def command(self, job: Job) -> list[str]:
        """The relay around the runtime's command; bare for a whole-run pass (stop_after "total")."""
        artefact = str(job.prepared.artefact) if job.prepared else ""
        exe = self.executable()
        args = [v for _, v in job.inputs.invoke_args] if job.inputs.invoke else list(job.args)
        argv = []
        for i, part in enumerate(self.doc["command"]):
            if i == 0:
                argv.append(exe)
            elif part == "{args}":
                argv += args
            elif part == "{options}":
                argv += self.options(job)
            else:
                argv.append(part.replace("{wasm}", str(job.program)).replace("{artefact}", artefact))
        if job.stop_after == "total":
            return argv   # no relay: the markers find stdin closed and go on at once
        return [sys.executable, "-m", "hwprof.runtimes.relay", str(job.workdir / "result.json"),
                str(job.workdir / "stdout.txt"), "--"] + argv

    def environment(self, job: Job) -> dict[str, str]:
        """Nothing beyond the measured process's environment."""
        return {}

    def outcome(self, job: Job) -> Outcome:
        """What the relay reported."""
        return read_outcome(job)
