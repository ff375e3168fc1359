"""The command line through Typer's CliRunner: the main job, --json, every bad input, help texts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hwprof
from hwprof.cli import app

runner = CliRunner()


def run(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def test_collect_2mm_prints_a_table_and_stores_every_repetition(store):
    res = run("collect", "--runtime", "wasmtime", "2mm", "--size", "mini", "-n", "3", "--results", store)
    assert res.exit_code == 0, res.output
    assert "2mm (mini) on wasmtime" in res.output
    for phase in ("bootstrap", "compile", "instantiate", "execute"):
        assert phase in res.output
    frame = hwprof.load_results(store)
    assert sorted(frame.repetition.unique()) == [0, 1, 2]
    assert set(frame.session_state) == {"complete"}
    assert set(frame.phase) == {"bootstrap", "compile", "instantiate", "execute"}


@pytest.mark.quick
def test_collect_json_is_machine_readable(store):
    res = run("collect", "gemm", "-s", "mini", "-n", "2", "--warmup", "0", "--json", "-q", "--results", store)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["provenance"]["workload"] == "gemm" and doc["provenance"]["kernel"]
    wall = [s for s in doc["summary"] if s["phase"] == "execute" and s["name"] == "wall_time"]
    assert wall and wall[0]["n"] == 2 and wall[0]["mean"] > 0


@pytest.mark.parametrize("case, args, message", [
    ("missing file", ["/no/such/file.wasm"], "no such file"),
    ("not wasm", ["{not_wasm}"], "not a WebAssembly module"),
    ("truncated", ["{truncated}"], "compile failed"),
    ("trap", ["{trap}"], "wasm trap: wasm `unreachable` instruction executed"),
    ("never ends", ["{forever}", "--timeout", "2"], "timed out after 2 s"),
    ("no _start", ["{no_start}"], "exports no _start"),
    ("unknown runtime", ["2mm", "--runtime", "nosuch"], "unknown runtime 'nosuch'"),
    ("unknown event", ["2mm", "-e", "nosuch"], "'nosuch' is not in map"),
    ("unknown map", ["2mm", "--event-map", "nosuch"], "no event map 'nosuch'"),
    ("unknown backend", ["2mm", "-b", "nosuch"], "unknown backend 'nosuch'"),
    ("unknown size", ["2mm", "-s", "huge"], "unknown size 'huge'"),
    ("unknown workload", ["nosuch"], "unknown workload 'nosuch'"),
    ("bad cpu", ["2mm", "--cpu", "999"], "CPU 999 is not available"),
])
def test_bad_input_gives_one_line_and_nonzero_exit(case, args, message, bad_modules, store):
    args = [a.format(**{k: str(v) for k, v in bad_modules.items()}) for a in args]
    res = run("collect", "-s", "mini", "-n", "1", "--warmup", "0", "-q", "--results", store, *args)
    assert res.exit_code != 0, case
    errors = [ln for ln in res.output.splitlines() if ln.startswith("hwprof: error:")]
    assert len(errors) == 1 and message in errors[0], res.output
    # Nothing half-written looks complete: a failed session says so, and no run claims success.
    if (store / "runs").exists():
        frame = hwprof.load_results(store)
        assert "complete" not in set(frame.session_state)
        assert set(frame.status) == {"error"}


def test_perf_not_permitted_is_one_clear_line(tmp_path, store):
    """The real perf, denied perf_event_open by a seccomp filter, as an unprivileged user would be."""
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    src = Path(__file__).parent / "data" / "deny_perf_event_open.c"
    deny = tmp_path / "deny"
    subprocess.run([cc, "-O2", "-o", str(deny), str(src)], check=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper = bindir / "perf"
    wrapper.write_text(f"#!/bin/sh\nexec {deny} {shutil.which('perf')} \"$@\"\n")
    wrapper.chmod(0o755)
    env = {"PATH": f"{bindir}:{os.environ['PATH']}"}
    res = run("collect", "2mm", "-s", "mini", "-n", "1", "-q", "--results", store, env=env)
    assert res.exit_code != 0
    assert "perf is not permitted to count" in res.output and "perf_event_paranoid" in res.output, res.output


def test_perf_missing_says_how_to_install(tmp_path, store):
    res = run("collect", "2mm", "-s", "mini", "-q", "--results", store, env={"PATH": str(tmp_path)})
    assert res.exit_code != 0 and "apt-get install linux-perf" in res.output


def test_doctor_text_and_json():
    res = run("doctor", "--json")
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["cpu"]["key"] and doc["microarch"] and "hardware_pmu" in doc["perf"]
    assert doc["runtimes"]["wasmtime"][0].isdigit()
    assert doc["runtimes"]["wavm"].startswith("not available: wavm is not installed")
    text = run("doctor")
    assert text.exit_code == 0 and "hardware PMU" in text.output and "microarch" in text.output


def test_events_lint_show_list():
    assert run("events", "lint").exit_code == 0
    show = run("events", "show", "skylake")
    assert show.exit_code == 0 and "IDQ.DSB_UOPS" in show.output and "cpu/event=0x79,umask=0x8/" in show.output
    assert "skylake" in run("events", "list").output
    assert run("events", "show", "nosuch").exit_code != 0


def _commands():
    import typer.main

    group = typer.main.get_command(app)
    for name, cmd in group.commands.items():
        yield (name,), cmd
        for sub, subcmd in getattr(cmd, "commands", {}).items():
            yield (name, sub), subcmd


@pytest.mark.quick
def test_every_command_has_help_text():
    paths = list(_commands())
    assert len(paths) >= 7
    for path, cmd in paths:
        assert (cmd.help or "").strip(), path
        res = run(*path, "--help")
        assert res.exit_code == 0 and "Usage" in res.output, path


def test_help_is_fast_because_heavy_imports_are_lazy():
    code = "import sys, hwprof.cli; print(sorted(m for m in ('pandas', 'plotly', 'numpy', 'wasmtime') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_module_sees_no_host_files_unless_given_a_folder(tmp_path, store):
    wasm = tmp_path / "read_file.wasm"
    src = Path(__file__).parent / "data" / "read_file.c"
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2", "-s", "-o", str(wasm),
                    str(src)], check=True)
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "in.txt").write_text("12345")
    denied = run("collect", wasm, "-n", "1", "--warmup", "0", "-q", "--results", store, "-e", "task_clock")
    assert denied.exit_code != 0 and "the module exited with status 1" in denied.output
    given = run("collect", wasm, "-n", "1", "--warmup", "0", "-q", "--results", store, "-e", "task_clock",
                "--dir", f"{folder}:/data", "--json")
    assert given.exit_code == 0, given.output
    assert json.loads(given.stdout)["summary"]


def test_an_event_perf_cannot_count_is_one_line(tmp_path, store):
    events = tmp_path / "events"
    events.mkdir()
    (events / "generic.toml").write_text(
        'name = "generic"\n[[event]]\nname = "bogus"\nperf = "no-such-event-anywhere"\nkind = "software"\n')
    res = run("collect", "2mm", "-s", "mini", "-n", "1", "-q", "--results", store,
              env={"HWPROF_EVENTS_DIR": str(events)})
    assert res.exit_code != 0
    errors = [ln for ln in res.output.splitlines() if ln.startswith("hwprof: error:")]
    assert len(errors) == 1 and "perf cannot count event 'no-such-event-anywhere'" in errors[0], res.output


def test_a_killed_collect_keeps_finished_repetitions_and_claims_nothing_more(store):
    """kill -9 the controller mid-collect: finished repetitions load, the session is not complete, no orphans."""
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "hwprof", "collect", "2mm", "-s", "mini", "-n", "50",
                             "--warmup", "0", "-q", "-e", "task_clock", "--results", str(store)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs = store / "runs"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(runs.glob("*.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)
    frame = hwprof.load_results(store)
    reps = sorted(frame.repetition.unique())
    assert 2 <= len(reps) < 50 and reps == list(range(len(reps)))
    assert set(frame.session_state) == {"killed"}      # its file says running; its process is gone
    assert frame.groupby("repetition").size().nunique() == 1     # every stored repetition is whole
    assert _hosts_of(proc.pid) == []


def _hosts_of(controller: int) -> list[int]:
    """Processes still alive that the killed controller started (they carry its pid in their environment)."""
    mine = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"HWPROF_CONTROLLER_PID={controller:010d}".encode() in env:     # measure.py pads it to 10 digits
            mine.append(int(entry.name))
    return mine
