"""Command-line runtimes as data files: validation, 'not installed', and a real CLI run through the relay
with WASI markers (tests/data/pywasi_run.py stands in for a CLI runtime, as none is installed here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import DATA
from hwprof import runtimes
from hwprof.collect import CollectConfig, CollectError, collect
from hwprof.data import schema
from hwprof.runtimes import RuntimeTargetError, command_line

SHIPPED = Path(__file__).resolve().parents[1] / "targets"


@pytest.fixture
def targets(tmp_path, monkeypatch):
    folder = tmp_path / "targets"
    folder.mkdir()
    text = (DATA / "targets" / "pywasi.toml").read_text()
    text = text.replace("TESTS_DATA", str(DATA)).replace('"python3"', f'"{sys.executable}"')
    (folder / "pywasi.toml").write_text(text)
    monkeypatch.setenv("HWPROF_TARGETS_DIR", str(folder))
    return folder


def test_every_shipped_target_file_is_valid():
    names = command_line.available(SHIPPED)
    assert {"wasmtime-cli", "wasmer-singlepass", "wasmer-cranelift", "wasmer-llvm", "wavm", "iwasm", "wasmedge",
            "lucet"} <= set(names)
    for name in names:
        runtime = command_line.load(name, SHIPPED)
        assert runtime.phases == ("startup", "execute")


def test_a_runtime_not_on_path_says_so_and_how_to_get_it(monkeypatch):
    monkeypatch.setenv("HWPROF_TARGETS_DIR", str(SHIPPED))
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(RuntimeTargetError, match="wavm is not installed"):
        runtimes.get("wavm").probe()


@pytest.mark.parametrize("broken, message", [
    ('name = "bad"\n', "missing 'title'"),
    ('name = "other"\ntitle = "t"\ncommand = ["x", "{wasm}", "{args}"]\nversion = ["x"]\n'
     'install = "i"\nflags = "f"\n', "differs from the file name"),
    ('name = "bad"\ntitle = "t"\ncommand = ["x", "{wasm}"]\nversion = ["x"]\ninstall = "i"\nflags = "f"\n',
     "must place {args}"),
    ('name = "bad"\ntitle = ', "not a valid target file"),
])
def test_a_broken_target_file_is_one_error_naming_the_file(tmp_path, broken, message):
    (tmp_path / "bad.toml").write_text(broken)
    with pytest.raises(RuntimeTargetError, match=message) as err:
        command_line.load("bad", tmp_path)
    assert str(tmp_path / "bad.toml") in str(err.value)


def test_cli_runtime_phases_relayed_from_wasi_markers(targets, store):
    result = collect(CollectConfig("2mm", runtime="pywasi", size="mini", results=store, repetitions=2, warmup=0,
                                   events=("task_clock",)))
    recs = result.records
    startup = [r.value for r in recs if r.phase == "startup" and r.name == "task_clock"]
    execute = [r.value for r in recs if r.phase == "execute" and r.name == "task_clock"]
    assert len(startup) == len(execute) == 2
    # Start-up (a Python process importing wasmtime, compiling) dwarfs the MINI kernel.
    assert max(execute) * 20 < min(startup)
    assert {r.boundary for r in recs if r.phase == "execute"} == {"relayed-markers"}
    assert {r.runtime for r in recs} == {"pywasi"} and all(r.runtime_version.startswith("pywasi") for r in recs)


def test_cli_runtime_under_cachegrind_is_one_whole_phase(targets, store):
    result = collect(CollectConfig("atax", runtime="pywasi", size="mini", backend="cachegrind", results=store,
                                   repetitions=1, warmup=0, events=("Ir",)))
    phases = {r.phase for r in result.records}
    assert phases == {"total"}
    assert any("cannot see its relayed markers" in n for n in result.notes)
    ir = [r.value for r in result.records if r.name == "Ir" and r.status == schema.OK]
    assert ir and ir[0] > 1e6


def test_a_cli_runtime_failure_is_one_line(targets, store, bad_modules):
    # A module without markers is run whole; its trap is what the runtime printed last, on one line.
    with pytest.raises(CollectError, match=r"failed \(exit 1\):.*wasm trap: wasm `unreachable` instruction") as err:
        collect(CollectConfig(str(bad_modules["trap"]), runtime="pywasi", results=store, repetitions=1, warmup=0,
                              events=("task_clock",)))
    assert "\n" not in str(err.value)
