"""What disturbed a repetition (steal, other tasks on the measured CPU, switches, frequency), and the machine's
noise sources in doctor. Verdicts rest on constructed readings or on a load this test makes itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from typer.testing import CliRunner

from hwprof import noise
from hwprof.cli import app
from hwprof.collect import CollectConfig, collect
from hwprof.data.store import load_results, read_run

STAT = """cpu  100 0 50 1000 5 0 0 0 0 0
cpu0 60 0 30 500 2 0 0 0 0 0
cpu1 40 1 20 500 3 4 5 7 0 0
intr 12345
"""


@pytest.mark.quick
def test_proc_stat_busy_and_steal_of_one_cpu():
    assert noise._cpu_jiffies(1, STAT) == (40 + 1 + 20 + 4 + 5, 7)
    assert noise._cpu_jiffies(5, STAT) == (0, 0)


def _proc(wall, busy, steal, own, inv=0):
    return {"wall_s": wall, "busy_s": busy, "steal_s": steal, "own_cpu_s": own, "voluntary_switches": 1,
            "involuntary_switches": inv, "mhz": [2400.0, 2401.0]}


@pytest.mark.quick
def test_a_quiet_repetition_is_not_flagged():
    s = noise.summarize([_proc(0.5, 0.5, 0.0, 0.49), _proc(0.3, 0.3, 0.0, 0.3)])
    assert s["disturbed"] == "" and s["steal_pct"] == 0.0 and s["foreign_cpu_pct"] == 0.0   # within tick slack
    # Ten short passes, each a tick off at both edges: tick quantization alone, not foreign load.
    assert noise.summarize([_proc(0.02, 0.04, 0.0, 0.02)] * 10)["disturbed"] == ""
    assert s["processes"] == 2 and s["mhz_min"] == 2400.0 and s["mhz_max"] == 2401.0


@pytest.mark.quick
def test_steal_and_foreign_load_flag_a_repetition_with_the_reason():
    s = noise.summarize([_proc(1.0, 1.0, 0.05, 0.6, inv=40)])
    assert "steal 5.0%" in s["disturbed"] and "other tasks used 38.0%" in s["disturbed"]   # 40% less 2 ticks
    assert s["involuntary_switches"] == 40


def test_a_share_over_too_few_ticks_is_kept_but_never_flags():
    s = noise.summarize([_proc(0.05, 0.05, 0.01, 0.0)])    # 5 ticks at 100 Hz
    assert s["steal_pct"] == 20.0 and s["disturbed"] == ""
    assert noise.summarize([])["steal_pct"] is None


def test_a_cpu_hog_on_the_measured_cpu_flags_the_repetition_and_it_stays(store):
    cpu = sorted(os.sched_getaffinity(0))[-1]
    hog = subprocess.Popen([sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"])
    try:
        result = collect(CollectConfig("2mm", size="small", repetitions=2, warmup=0, cpu=cpu, results=store,
                                       events=("task_clock",), count_phases=("execute",)))
    finally:
        hog.kill()
        hog.wait()
    assert result.disturbed == 2
    for path in result.run_files:
        prov = read_run(path)["provenance"]
        assert "other tasks used" in prov["disturbed"] and prov["noise"]["foreign_cpu_pct"] > noise.FOREIGN_PCT
    frame = load_results(store)
    assert len(frame) and frame["disturbed"].str.contains("other tasks used").all()


@pytest.mark.quick
def test_an_isolated_cpu_is_not_reported_as_a_noise_source(tmp_path, monkeypatch):
    """On a machine without isolcpus the doctor test above cannot tell; a stand-in sysfs can (it once compared a
    CPU's number as text with a set of numbers, so every CPU was reported as not isolated)."""
    (tmp_path / "isolated").write_text("0-1,3\n")
    monkeypatch.setattr(noise, "SYS_CPU", tmp_path)
    assert "CPU isolation" not in {n["source"] for n in noise.sources(3, settle_s=0)}
    assert "CPU isolation" in {n["source"] for n in noise.sources(2, settle_s=0)}


def test_doctor_lists_noise_sources_with_a_fix_each():
    res = CliRunner().invoke(app, ["doctor", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    found = {n["source"]: n for n in report["noise"]}
    assert "steal time" in found                        # said whether it reads 0 or not
    isolated = noise._cpulist(noise._read(noise.SYS_CPU / "isolated"))
    assert ("CPU isolation" in found) == (report["cpu"]["index"] not in isolated)
    assert all(n["state"] and n["fix"] for n in found.values())
    text = CliRunner().invoke(app, ["doctor"]).output
    assert "noise" in text and "fix:" in text
