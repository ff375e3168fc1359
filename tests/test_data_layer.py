"""The data layer: records, the store (atomic, concurrent, versioned) and CPU identification."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

import hwprof
from hwprof.data import schema
from hwprof.data.cpu import identify, parse_cpuinfo
from hwprof.data.schema import Record
from hwprof.data.store import ResultStore, StoreError, read_run

pytestmark = pytest.mark.quick   # part of the quick subset: python -m pytest -m quick


def rec(rep=0, name="task_clock", value=1.5, status=schema.OK, phase="execute"):
    return Record("wasmtime", "50.0.1", "opt_level=speed", "2mm", "mini", "cold", rep, phase, name,
                  schema.EVENT, value, "msec", status, "perf")


def test_unmeasured_record_carries_no_value():
    with pytest.raises(ValueError):
        rec(value=0.0, status=schema.NOT_SUPPORTED)
    with pytest.raises(ValueError):
        rec(value=float("nan"))
    assert rec(value=None, status=schema.NOT_SUPPORTED).value is None


def test_store_round_trip_and_load_results(tmp_path):
    store = ResultStore(tmp_path)
    records = [rec(0), rec(0, "cycles", None, schema.NOT_SUPPORTED)]
    path = store.write_run("s1", {"machine": "m", "cpu": "c", "microarch": "icelake"}, records)
    assert read_run(path)["records"] == records
    frame = hwprof.load_results(tmp_path)
    assert list(frame["name"]) == ["task_clock", "cycles"]
    assert frame["value"].isna().tolist() == [False, True]
    assert set(frame["microarch"]) == {"icelake"}
    assert set(schema.RECORD_FIELDS) <= set(frame.columns)


def test_partial_files_are_never_loaded(tmp_path):
    store = ResultStore(tmp_path)
    store.write_run("s1", {}, [rec()])
    (tmp_path / "runs" / ".half-written.json.tmp").write_text('{"format_version": 1, "records": [')
    assert len(hwprof.load_results(tmp_path)) == 1


def test_newer_format_is_refused_with_one_line(tmp_path):
    p = tmp_path / "runs" / "x.json"
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps({"format_version": schema.FORMAT_VERSION + 1, "records": []}))
    with pytest.raises(StoreError, match="newer than this hwprof reads"):
        hwprof.load_results(tmp_path)


def test_unknown_fields_from_a_newer_writer_are_ignored(tmp_path):
    p = tmp_path / "runs" / "x.json"
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps({"format_version": 1, "records": [{**rec().to_dict(), "future_field": 3}]}))
    assert hwprof.load_results(tmp_path)["name"].tolist() == ["task_clock"]


def _writer(args):
    root, tag = args
    store = ResultStore(root)
    for i in range(25):
        store.write_run(tag, {"machine": tag}, [rec(i), rec(i, "page_faults", float(i))])


def test_two_processes_writing_one_store_corrupt_nothing(tmp_path):
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(_writer, [(tmp_path, "a"), (tmp_path, "b")])
    frame = hwprof.load_results(tmp_path)
    assert len(frame) == 100
    assert frame.groupby("machine").size().to_dict() == {"a": 50, "b": 50}
    assert frame["run_id"].nunique() == 50


X86 = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 158
model name\t: Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz
stepping\t: 10

processor\t: 1
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 158
model name\t: Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz
stepping\t: 10
"""

# A Jetson TX2: two Denver 2 cores (NVIDIA, 0x4e:0x003) and four Cortex-A57 (0x41:0xd07).
TX2 = "\n\n".join(
    f"processor\t: {i}\nBogoMIPS\t: 62.50\nCPU implementer\t: {impl}\nCPU architecture: 8\n"
    f"CPU variant\t: 0x{var}\nCPU part\t: {part}\nCPU revision\t: {rev}"
    for i, (impl, var, part, rev) in enumerate(
        [("0x41", 1, "0xd07", 3), ("0x4e", 0, "0x003", 0), ("0x4e", 0, "0x003", 0)] + [("0x41", 1, "0xd07", 3)] * 3))


def test_cpu_identity_x86():
    cpu = parse_cpuinfo(X86, "x86_64")[1]
    assert (cpu.vendor, cpu.family, cpu.model, cpu.stepping) == ("GenuineIntel", 6, 158, 10)
    assert cpu.perf_id == "GenuineIntel-6-9E-A"


def test_cpu_identity_arm_mixed_cores():
    cpus = parse_cpuinfo(TX2, "aarch64")
    assert cpus[0].midr_key == "0x41:0xd07" and cpus[1].midr_key == "0x4e:0x003"
    assert cpus[0].midr == "0x00000000411fd073"
    assert identify(2, TX2).midr_key == "0x4e:0x003"


def test_cpu_identity_of_this_machine():
    cpu = identify()
    assert cpu.key and cpu.arch


def test_a_format_1_file_still_loads(tmp_path):
    """tests/data/run-format1.json was written by hwprof's first store format (no `iteration`)."""
    from conftest import DATA

    doc = json.loads((DATA / "run-format1.json").read_text())
    assert doc["format_version"] == 1
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "old.json").write_text(json.dumps(doc))
    frame = hwprof.load_results(tmp_path)
    assert len(frame) == len(doc["records"]) and set(frame.iteration) == {0}
    assert set(frame.phase) == {"bootstrap", "compile", "instantiate", "execute"}


@pytest.mark.parametrize("damage", ["truncated", "not json", "wrong shape"])
def test_an_unreadable_run_file_is_skipped_with_a_warning_or_refused_when_strict(damage, tmp_path):
    from typer.testing import CliRunner

    from hwprof.cli import app
    from hwprof.data.store import SkippedRunWarning

    store = ResultStore(tmp_path)
    good = store.write_run("s1", {"machine": "m", "arch": "x86_64"}, [rec(0)])
    bad = store.write_run("s1", {"machine": "m", "arch": "x86_64"}, [rec(1)])
    text = bad.read_text()
    bad.write_text({"truncated": text[: len(text) // 2], "not json": "\x00\x01garbage",
                    "wrong shape": json.dumps({"format_version": 4, "records": [{"no": "fields"}]})}[damage])
    with pytest.warns(SkippedRunWarning, match=f"skipped {bad}"):
        frame = hwprof.load_results(tmp_path)
    assert list(frame["repetition"]) == [0] and frame["run_id"].iloc[0] == good.stem
    with pytest.raises(StoreError, match=str(bad)):
        hwprof.load_results(tmp_path, strict=True)
    for command in (["compare", str(tmp_path), str(tmp_path)], ["report", str(tmp_path), "-o", str(tmp_path / "r")]):
        got = CliRunner().invoke(app, command)
        assert got.exit_code == 0 and f"hwprof: warning: skipped {bad}" in got.output, got.output
        strict = CliRunner().invoke(app, [*command, "--strict"])
        assert strict.exit_code == 2 and str(bad) in strict.output


def test_phases_header_is_generated_from_the_data_layer():
    """The C helper's phase numbers are the data layer's: the checked-in header is what phases.py generates."""
    from hwprof.data import phases

    header = (Path(__file__).parents[1] / "hwprof" / "native" / "hwprof_phases.h").read_text()
    assert header == phases.c_header()
    enum = header.split("enum {")[1].split("}")[0]
    assert [n.strip() for n in enum.split(",")][:-1] == [f"HWPROF_{p.upper()}" for p in phases.MARKED]


def test_boundary_is_a_closed_set_and_old_free_text_loads():
    from hwprof.data import phases

    row = dict(runtime="r", runtime_version="1", runtime_flags="", workload="w", size="s", invocation="cold",
               repetition=0, phase="execute", name="wall_time", kind=schema.TIME, value=1.0, unit="s")
    with pytest.raises(ValueError, match="unknown boundary"):
        Record(**row, boundary="markers, roughly")
    old = Record.from_dict({**row, "boundary": "markers (relayed from WASI)"})
    assert old.boundary == "relayed-markers" and old.boundary in phases.BOUNDARIES
    with pytest.raises(phases.PhaseError):
        phases.boundary("somewhere")


def test_the_one_size_parser():
    from hwprof.data.units import SizeError, parse_size

    assert [parse_size(t) for t in ("4GiB", "512MiB", "32KiB", "32kB", "64k", "65536", "1.5g", "-1GiB")] == \
        [4 << 30, 512 << 20, 32 << 10, 32 << 10, 64 << 10, 65536, 3 << 29, -(1 << 30)]
    for bad in ("abc", "4TB", "1.5", "", "32 KiBs"):
        with pytest.raises(SizeError):
            parse_size(bad)
