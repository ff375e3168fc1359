"""An installed hwprof finds its data: the wheel carries events/, targets/ and campaigns/ and runs outside the
checkout (a fresh venv elsewhere, the checkout's own dependencies reused through a .pth path, not installed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _sources(dest: Path) -> Path:
    """The checkout's files (tracked, and new ones not ignored) copied to dest, so building writes nothing here."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict]:
    """A venv outside the checkout with the hwprof wheel installed; returns (its bin folder, an environment)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = _sources(tmp / "src")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"), str(src)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp / "dist").glob("hwprof-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    # The dependencies (wasmtime, pandas, ...) from this environment: a plain path in a .pth file adds the
    # folder but does not run its .pth files, so the checkout's editable hwprof stays out.
    (purelib / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                           "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HWPROF_") or k == "HWPROF_CACHE"}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return venv / "bin", env


def _run(bin_dir: Path, env: dict, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(bin_dir / "hwprof"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def test_the_wheel_ships_the_data_folders(installed, tmp_path):
    bin_dir, env = installed
    where = subprocess.run([str(bin_dir / "python"), "-c", "import hwprof, hwprof.data.paths as p; "
                            "print(hwprof.__file__); print(p.events_dir()); print(p.in_checkout())"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert not where[0].startswith(str(REPO)) and where[2] == "False"
    shipped = Path(where[1])
    assert (shipped / "emeraldrapids.toml").is_file() and (shipped / "cpus.toml").is_file()
    for folder, name in (("targets", "wasmtime-cli.toml"), ("campaigns", "quick.toml")):
        assert (shipped.parent / folder / name).is_file()
    lint = _run(bin_dir, env, tmp_path, "events", "lint")
    assert lint.returncode == 0 and "no problems" in lint.stdout
    dry = _run(bin_dir, env, tmp_path, "campaign", "quick", "--dry-run")
    assert dry.returncode == 0 and "cells" in dry.stdout, dry.stderr


def test_installed_doctor_and_collect_run_outside_the_checkout(installed, tmp_path):
    bin_dir, env = installed
    doctor = _run(bin_dir, env, tmp_path, "doctor", "--json")
    assert doctor.returncode == 0, doctor.stderr
    report = json.loads(doctor.stdout)
    assert "/shipped/events/" in report["event_map"] and report["runtimes"]["wasmtime"][0].isdigit()
    got = _run(bin_dir, env, tmp_path, "collect", "2mm", "--size", "mini", "-n", "1", "--warmup", "0", "-q", "--json")
    assert got.returncode == 0, got.stderr
    out = json.loads(got.stdout)
    assert Path(out["results"]) == tmp_path / "results" / "default"
    run = json.loads(Path(out["run_files"][0]).read_text())
    assert run["provenance"]["pinning"]["checksum"] == "17079.477272727261"
