"""Faults a long measurement meets: SIGTERM/SIGHUP, SIGKILL of the controller, a full disk. Each is caused for
real here (signals to a real `hwprof collect`, a tmpfs that fills up) and must end cleanly and leave nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hwprof import scratch
from hwprof.data.store import load_results

HWPROF = [sys.executable, "-m", "hwprof"]


def _descendants_of(controller: int) -> list[int]:
    """Processes started by hwprof's controller `controller` (they carry its pid in HWPROF_CONTROLLER_PID)."""
    tag = f"HWPROF_CONTROLLER_PID={controller:010d}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if tag in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _wait_for_execute(controller: subprocess.Popen, marker: str, timeout: float = 120) -> int:
    """Wait until a measured process whose command line holds `marker` has been running for a second."""
    deadline = time.monotonic() + timeout
    first_seen: dict[int, float] = {}
    while time.monotonic() < deadline:
        assert controller.poll() is None, controller.stderr.read()
        for pid in _descendants_of(controller.pid):
            if marker in _cmdline(pid):
                first_seen.setdefault(pid, time.monotonic())
                if time.monotonic() - first_seen[pid] > 1.0:
                    return pid
        time.sleep(0.05)
    raise AssertionError(f"no measured process running {marker!r} within {timeout} s")


# (target, what its measured process's command line holds). matmul 2000 runs for seconds under each.
TARGETS = [("wasmtime", "wasmtime_host"), ("node", "node_host.mjs"), ("wasmer", "wasmer_host"),
           ("wasm2c-llvm", "workload.exe"), ("native", "matmul"), ("wasmtime-cli", "wasmtime run")]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
@pytest.mark.parametrize("runtime, marker", TARGETS)
def test_killing_the_controller_in_execute_leaves_no_measured_process(runtime, marker, sig, tmp_path):
    ctl = subprocess.Popen([*HWPROF, "collect", "matmul", "--size", "2000", "-r", runtime, "-n", "1", "--warmup", "0",
                            "-q", "--count-phases", "execute", "-e", "task_clock", "--results", str(tmp_path / "r")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_execute(ctl, marker)
        os.kill(ctl.pid, sig)
        ctl.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _descendants_of(ctl.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = [(p, _cmdline(p)) for p in _descendants_of(ctl.pid)]
        assert not survivors, survivors
    finally:
        if ctl.poll() is None:
            ctl.kill()
        for pid in _descendants_of(ctl.pid):
            os.kill(pid, signal.SIGKILL)
    if sig == signal.SIGTERM:
        assert ctl.returncode == 143 and "interrupted by SIGTERM" in ctl.stderr.read()


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_end_a_collect_like_ctrl_c(sig, code, tmp_path):
    store = tmp_path / "r"
    ctl = subprocess.Popen([*HWPROF, "collect", "2mm", "--size", "large", "-n", "20", "--warmup", "0", "-q",
                            "--count-phases", "execute", "-e", "task_clock", "--results", str(store)],
                           stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((store / "runs").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)             # one repetition finished: the next is in flight
    os.kill(ctl.pid, sig)
    err = ctl.communicate(timeout=60)[1]
    assert ctl.returncode == code and f"interrupted by {signal.Signals(sig).name}" in err
    assert len(err.strip().splitlines()) == 1
    (session,) = [json.loads(p.read_text()) for p in (store / "sessions").glob("*.json")]
    assert session["state"] == "interrupted" and session["runs"] >= 1
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob(f"hwprof-{ctl.pid}-*"))   # its scratch folder went


def test_a_session_left_running_by_sigkill_is_reported_killed_and_its_scratch_swept(tmp_path):
    store = tmp_path / "r"
    ctl = subprocess.Popen([*HWPROF, "collect", "2mm", "--size", "large", "-n", "20", "--warmup", "0", "-q",
                            "--count-phases", "execute", "-e", "task_clock", "--results", str(store)])
    deadline = time.monotonic() + 120
    while not list((store / "runs").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(ctl.pid, signal.SIGKILL)
    ctl.wait()
    (session,) = [json.loads(p.read_text()) for p in (store / "sessions").glob("*.json")]
    assert session["state"] == "running"                     # nobody could write more
    frame = load_results(store)
    assert set(frame["session_state"]) == {"killed"} and frame["run_id"].nunique() >= 1
    left = list(Path(os.environ.get("TMPDIR", "/tmp")).glob(f"hwprof-{ctl.pid}-*"))
    assert left                                              # SIGKILL leaves it ...
    assert set(left) <= set(scratch.sweep_stale())           # ... and the next start removes it
    assert not any(p.exists() for p in left)


def test_a_full_disk_is_one_line_and_the_runs_before_it_load(tmp_path):
    """A 64 KiB tmpfs (in a private mount namespace) fills after a few run files."""
    full = tmp_path / "small"
    full.mkdir()
    unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-Urm"]
    script = (f"mount -t tmpfs -o size=64k hwprof-full {full} || exit 99; "
              f"{' '.join(HWPROF)} collect 2mm --size mini -n 30 --warmup 0 -q --count-phases execute "
              f"-e task_clock --results {full}/store 2>{tmp_path}/err.txt; echo $? > {tmp_path}/rc.txt; "
              f"{sys.executable} -c 'import hwprof, json; f = hwprof.load_results(\"{full}/store\"); "
              f"print(json.dumps([f.run_id.nunique(), sorted(set(f.session_state))]))' > {tmp_path}/load.txt")
    done = subprocess.run([*unshare, "sh", "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode != 99, "could not mount a tmpfs: " + done.stderr
    err = (tmp_path / "err.txt").read_text().strip()
    assert (tmp_path / "rc.txt").read_text().strip() == "2"
    assert len(err.splitlines()) == 1 and "no space left on its device" in err and f"{full}/store" in err, err
    kept, states = json.loads((tmp_path / "load.txt").read_text())
    assert 1 <= kept < 30 and f"{kept} repetition(s) were stored" in err


def test_two_collects_on_one_cpu_are_told_and_auto_picks_a_free_one(tmp_path):
    from hwprof import pinning

    cpu = sorted(os.sched_getaffinity(0))[-1]
    if pinning.owner(cpu) is not None:
        pytest.skip(f"another hwprof (pid {pinning.owner(cpu)}) is measuring on CPU {cpu} already")
    first = subprocess.Popen([*HWPROF, "collect", "2mm", "--size", "large", "-n", "20", "--warmup", "0", "-q",
                              "--count-phases", "execute", "-e", "task_clock", "--cpu", str(cpu),
                              "--results", str(tmp_path / "a")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while pinning.owner(cpu) != first.pid and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pinning.owner(cpu) == first.pid
        second = subprocess.run([*HWPROF, "collect", "2mm", "--size", "mini", "-n", "1", "--warmup", "0", "-q",
                                 "-e", "task_clock", "--cpu", str(cpu), "--results", str(tmp_path / "b")],
                                capture_output=True, text=True, timeout=300)
        assert second.returncode == 0 and f"another hwprof (pid {first.pid}) is measuring on CPU {cpu}" in second.stderr
        if len(os.sched_getaffinity(0)) > 1:
            auto = subprocess.run([*HWPROF, "collect", "2mm", "--size", "mini", "-n", "1", "--warmup", "0", "-q",
                                   "-e", "task_clock", "--cpu", "auto", "--json", "--results", str(tmp_path / "c")],
                                  capture_output=True, text=True, timeout=300)
            assert auto.returncode == 0 and "another hwprof" not in auto.stderr
            assert json.loads(auto.stdout)["provenance"]["cpu_index"] != cpu
    finally:
        first.kill()
        first.wait()
    assert pinning.owner(cpu) is None            # a killed holder's claim goes with it
