"""The VTune backend against VTune's documented command line and report format (VTune cannot run here).

Where the formats come from (Intel VTune Profiler User Guide, 2023.0 to 2025.x, intel.com/content/www/us/en/docs/vtune-profiler/user-guide/):
  run-runsa-runss-custom-analysis-command-line.html  vtune -collect-with runsa -knob event-config=EV1,EV2 -- target
  collect-with.html                                 modifiers -result-dir, -start-paused, [no-]summary
  pausing-collection-from-the-command-line.html     -start-paused; resumed by the ITT pause/resume API
  collection-control-api.html                       __itt_pause / __itt_resume
  csv-delimiter.html, format.html, report-output.html  -format csv -csv-delimiter comma -report-output FILE;
                                                    sample output: a header row, then one comma-separated row per group
  column.html                                       hw-events columns are titled "Hardware Event Count:<EVENT>:Self",
                                                    grouping columns (Function, Module, ...) come first;
                                                    "vtune: Using result path '...'" precedes a report on stdout
  group-by.html, filtering-and-grouping-reports.html  -group-by process (grouping columns show up first)
  show-as.html                                      -show-as events: samples x sample-after value
The ITT side follows ittapi's ittnotify_static.c / ittnotify_config.h and its reference collector
(github.com/intel/ittapi, src/ittnotify_refcol/itt_refcol_impl.c). These tests are not the only proof: the
C helper was also run against that reference collector, built from ittapi's source.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hwprof import native
from hwprof.backends import BackendError, Pass, Probe
from hwprof.backends.vtune import (ESTIMATE_NOTE, RESULT_DIR, STATUS, VTuneBackend, counts_for_pass,
                                   parse_hw_events_csv, scope_problem)
from hwprof.data import schema
from hwprof.events import Event, EventMap

INST = Event("INST_RETIRED.ANY", "inst_retired.any", (("event", 0xC0),), fixed=True, unit="instructions")
CLK = Event("CPU_CLK_UNHALTED.THREAD", "cpu_clk_unhalted.thread", (("event", 0x3C),), fixed=True, unit="cycles")
DSB = Event("IDQ.DSB_UOPS", "idq.dsb_uops", (("event", 0x79), ("umask", 0x08)), unit="uops")
MITE = Event("IDQ.MITE_UOPS", "idq.mite_uops", (("event", 0x79), ("umask", 0x04)), unit="uops")

# -group-by process, as csv-delimiter.html's sample (header row, one row per group) with column.html's titles.
BY_PROCESS = textwrap.dedent("""\
    Process,Hardware Event Count:INST_RETIRED.ANY:Self,Hardware Event Count:CPU_CLK_UNHALTED.THREAD:Self,Hardware Event Count:IDQ.DSB_UOPS:Self,Hardware Event Count:IDQ.MITE_UOPS:Self
    python3.11,6390000000,2632500000,1200000,
    wasmtime-worker,1370000000,860000000,800000,
    """)

# The default grouping (function), as the report is printed to stdout: vtune's message first, then the table.
BY_FUNCTION = textwrap.dedent("""\
    vtune: Using result path '/tmp/w/vtune-result'
    Function,Module,Hardware Event Count:INST_RETIRED.ANY:Self,Hardware Event Count:CPU_CLK_UNHALTED.THREAD:Self,Function (Full),Source File,Start Address
    "wasm[0]::function[12], loop",jit,4000000,2000000,"wasm[0]::function[12], loop",[Unknown],0x7f3a10
    _PyEval_EvalFrameDefault,libpython3.11.so.1.0,1000000,3000000,_PyEval_EvalFrameDefault,ceval.c,0x4c2b82
    """)


def execute_pass(*events: Event) -> Pass:
    return Pass(("execute",), events or (INST, CLK, DSB), "execute")


def fake_vtune(directory: Path, csv_text: str) -> Path:
    """A stand-in `vtune` that prints a version and writes `csv_text` where -report-output points."""
    (directory / "report.csv").write_text(csv_text)
    script = directory / "vtune"
    script.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        echo "$@" >> "{directory}/calls"
        if [ "$1" = "--version" ]; then echo "Intel(R) VTune(TM) Profiler 2025.0.0 (build 629235)"; exit 0; fi
        while [ $# -gt 0 ]; do
          if [ "$1" = "-report-output" ]; then cp "{directory}/report.csv" "$2"; fi
          shift
        done
        """))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_parse_hw_events_csv_documented_format():
    totals = parse_hw_events_csv(BY_PROCESS)
    assert totals["INST_RETIRED.ANY"] == 6390000000 + 1370000000
    assert totals["CPU_CLK_UNHALTED.THREAD"] == 2632500000 + 860000000
    assert totals["IDQ.DSB_UOPS"] == 2000000
    assert totals["IDQ.MITE_UOPS"] is None


def test_parse_hw_events_csv_function_grouping_on_stdout_documented_format():
    totals = parse_hw_events_csv(BY_FUNCTION)
    assert totals == {"INST_RETIRED.ANY": 5000000.0, "CPU_CLK_UNHALTED.THREAD": 5000000.0}


def test_parse_hw_events_csv_self_column_wins_documented_format():
    text = ("Function Stack,Hardware Event Count:INST_RETIRED.ANY:Total,Hardware Event Count:INST_RETIRED.ANY:Self\n"
            "Total,100,0\nmain,100,60\nhelper,40,40\n")
    assert parse_hw_events_csv(text) == {"INST_RETIRED.ANY": 100.0}


def test_parse_hw_events_csv_other_delimiter_documented_format():
    text = BY_PROCESS.replace(",", "\t")
    assert parse_hw_events_csv(text, "\t")["INST_RETIRED.ANY"] == 7760000000


def test_parse_hw_events_csv_without_event_columns_documented_format():
    assert parse_hw_events_csv("Module,Process,CPU Time\nworker3.so,main,10.735\n") == {}


def test_empty_values_are_not_counted_documented_format():
    counts = {c.event: c for c in counts_for_pass(parse_hw_events_csv(BY_PROCESS), execute_pass(INST, MITE))}
    assert counts["IDQ.MITE_UOPS"].status == schema.NOT_COUNTED
    assert counts["IDQ.MITE_UOPS"].value is None
    assert "empty" in counts["IDQ.MITE_UOPS"].note
    assert counts["INST_RETIRED.ANY"].status == schema.OK
    assert counts["INST_RETIRED.ANY"].value == 7760000000


def test_not_numbers_are_not_counted_documented_format():
    text = "Process,Hardware Event Count:IDQ.DSB_UOPS:Self\npython3.11,N/A\nworker,\n"
    (count,) = counts_for_pass(parse_hw_events_csv(text), execute_pass(DSB))
    assert (count.value, count.status) == (None, schema.NOT_COUNTED)


def test_zero_samples_stay_a_measured_zero_documented_format():
    text = "Process,Hardware Event Count:IDQ.DSB_UOPS:Self\npython3.11,0\n"
    (count,) = counts_for_pass(parse_hw_events_csv(text), execute_pass(DSB))
    assert (count.value, count.status) == (0.0, schema.OK)


def test_event_name_matching_documented_format():
    # Columns come in VTune's order, not the pass's; a column VTune did not print is not counted.
    one_pass = execute_pass(DSB, Event("IDQ.MS_UOPS", encoding=(("event", 0x79), ("umask", 0x30))), CLK)
    counts = counts_for_pass(parse_hw_events_csv(BY_PROCESS), one_pass)
    assert [c.event for c in counts] == ["IDQ.DSB_UOPS", "IDQ.MS_UOPS", "CPU_CLK_UNHALTED.THREAD"]
    assert [c.value for c in counts] == [2000000, None, 3492500000]
    assert counts[1].status == schema.NOT_COUNTED and "no column" in counts[1].note
    assert counts[0].note == ESTIMATE_NOTE and counts[0].unit == "uops"
    lower = counts_for_pass({"idq.dsb_uops": 5.0}, execute_pass(DSB))
    assert lower[0].value == 5.0


def test_prepare_builds_documented_collect_command(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    vtune = fake_vtune(tmp_path, BY_PROCESS)
    launch = VTuneBackend(vtune=str(vtune)).prepare(["python3", "-m", "host", "job.json"], execute_pass(), tmp_path)
    assert launch.argv == [
        str(vtune), "-collect-with", "runsa",
        "-knob", "event-config=INST_RETIRED.ANY,CPU_CLK_UNHALTED.THREAD,IDQ.DSB_UOPS",
        "-result-dir", str(tmp_path / RESULT_DIR), "-no-summary", "-start-paused",
        "--", "python3", "-m", "host", "job.json"]
    assert launch.env == {"HWPROF_VTUNE": "1", "HWPROF_VTUNE_MASK": "8", "HWPROF_VTUNE_STATUS": str(tmp_path / STATUS)}
    assert launch.workdir == tmp_path


def test_prepare_bootstrap_collects_from_exec_documented_format(tmp_path):
    vtune = fake_vtune(tmp_path, BY_PROCESS)
    launch = VTuneBackend(vtune=str(vtune)).prepare(["host"], Pass(("bootstrap",), (INST,), "bootstrap"), tmp_path)
    assert "-start-paused" not in launch.argv
    assert launch.argv[-2:] == ["--", "host"]
    assert launch.env["HWPROF_VTUNE_MASK"] == "1"


def test_report_command_documented_options(tmp_path):
    assert VTuneBackend().report_command(tmp_path) == [
        "vtune", "-report", "hw-events", "-result-dir", str(tmp_path / RESULT_DIR), "-group-by", "process",
        "-show-as", "events", "-format", "csv", "-csv-delimiter", "comma",
        "-report-output", str(tmp_path / "vtune-hw-events.csv")]


def test_absent_vtune_error_documented_format(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    backend = VTuneBackend()
    for call in (lambda: backend.probe(EventMap("test"), [INST]),
                 lambda: backend.prepare(["host"], execute_pass(), tmp_path)):
        with pytest.raises(BackendError) as err:
            call()
        message = str(err.value)
        assert "\n" not in message
        assert message.startswith("VTune is not installed")
        assert "oneAPI" in message and "setvars.sh" in message and "PATH" in message


def test_probe_records_version_and_keeps_vendor_named_events_documented_format(tmp_path):
    vtune = fake_vtune(tmp_path, BY_PROCESS)
    software = Event("task_clock", "task-clock", kind="software")
    generic = Event("cycles", "cycles", kind="generic")
    probe = VTuneBackend(vtune=str(vtune)).probe(EventMap("test"), [software, INST, generic, DSB])
    assert probe.version == "Intel(R) VTune(TM) Profiler 2025.0.0 (build 629235)"
    assert probe.usable == (INST, DSB)
    assert set(probe.missing) == {"task_clock", "cycles"}


def test_pass_counts_one_phase_documented_format(tmp_path):
    backend = VTuneBackend(vtune=str(fake_vtune(tmp_path, BY_PROCESS)))
    probe = Probe(usable=(INST, CLK, DSB, MITE))
    passes = backend.plan(probe, ("compile", "execute"), gp_counters=1)
    assert [p.phases for p in passes] == [("compile",), ("compile",), ("execute",), ("execute",)]
    assert [tuple(e.name for e in p.events) for p in passes[:2]] == [
        ("INST_RETIRED.ANY", "CPU_CLK_UNHALTED.THREAD", "IDQ.DSB_UOPS"), ("IDQ.MITE_UOPS",)]
    masks = {p.phases[0]: backend.prepare(["host"], p, tmp_path).env["HWPROF_VTUNE_MASK"] for p in passes}
    assert masks == {"compile": "2", "execute": "8"}
    (tmp_path / STATUS).write_text("scoped\n")
    launch = backend.prepare(["host"], passes[0], tmp_path)
    assert {c.phase for c in backend.read(launch, passes[0])} == {"compile"}
    with pytest.raises(BackendError, match="one phase"):
        backend.prepare(["host"], Pass(("compile", "execute"), (INST,), "execute"), tmp_path)


def test_read_runs_documented_report_and_parses_it(tmp_path):
    vtune = fake_vtune(tmp_path, BY_PROCESS)
    backend = VTuneBackend(vtune=str(vtune))
    launch = backend.prepare(["host"], execute_pass(), tmp_path)
    (tmp_path / STATUS).write_text("scoped\n")
    counts = backend.read(launch, execute_pass())
    assert [(c.phase, c.event, c.value, c.status) for c in counts] == [
        ("execute", "INST_RETIRED.ANY", 7760000000, schema.OK),
        ("execute", "CPU_CLK_UNHALTED.THREAD", 3492500000, schema.OK),
        ("execute", "IDQ.DSB_UOPS", 2000000, schema.OK)]
    assert (tmp_path / "calls").read_text().splitlines()[-1] == " ".join(backend.report_command(tmp_path)[1:])


def test_unscoped_phase_is_not_counted_documented_format(tmp_path):
    totals = parse_hw_events_csv(BY_PROCESS)
    problem = scope_problem(tmp_path / STATUS)       # no status file: the helper never ran
    assert "never loaded" in problem
    counts = counts_for_pass(totals, execute_pass(INST), problem)
    assert (counts[0].value, counts[0].status) == (None, schema.NOT_COUNTED)
    assert counts[0].note.startswith("not scoped:")
    # The bootstrap pass was never paused, so its figures are the whole process's, and say so.
    (boot,) = counts_for_pass(totals, Pass(("bootstrap",), (INST,), "bootstrap"), problem)
    assert boot.value == 7760000000 and "whole process" in boot.note
    (tmp_path / STATUS).write_text("unscoped: INTEL_LIBITTNOTIFY64 is not set (the process was not started by VTune)\n")
    assert scope_problem(tmp_path / STATUS).startswith("INTEL_LIBITTNOTIFY64 is not set")
    (tmp_path / STATUS).write_text("scoped\n")
    assert scope_problem(tmp_path / STATUS) == ""


# ---- the C helper's VTune section ------------------------------------------------------------

# What a collector does with the descriptor, after ittapi's reference collector (fill_func_ptr_per_lib):
# look each named function up in itself and store it through func_ptr. It also takes the descriptor's
# mutex, checks the magic bytes and reads api_list_ptr where ittnotify_config.h puts it.
COLLECTOR = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct info { const char *name; void **func_ptr; void *init_func; void *null_func; int group; };
static void note(const char *what) {
    FILE *f = fopen(getenv("FAKE_ITT_LOG"), "a"); fprintf(f, "%s\n", what); fclose(f);
}
void __itt_pause(void) { note("pause"); }
void __itt_resume(void) { note("resume"); }
#ifdef WITH_API_INIT
void __itt_api_init(unsigned char *p, int groups) {
    static const unsigned char magic[8] = {0xED, 0xAB, 0xAB, 0xEC, 0x0D, 0xEE, 0xDA, 0x30};
    pthread_mutex_t *mutex = (pthread_mutex_t *)(p + 56);
    void *lib = *(void **)(p + 96);
    struct info *list = *(struct info **)(p + 120);
    if (memcmp(p, magic, 8) || groups != -1 || pthread_mutex_lock(mutex)) { note("bad descriptor"); return; }
    for (int i = 0; list[i].name; i++) {
        void *fn = dlsym(lib, list[i].name);
        *list[i].func_ptr = fn ? fn : list[i].null_func;
    }
    pthread_mutex_unlock(mutex);
    note("api_init");
}
#endif
"""

DRIVER = """
import ctypes, json, sys
lib = ctypes.CDLL(sys.argv[1])
lib.hwprof_init()
for phase in (1, 3):          # compile, execute
    lib.hwprof_begin(phase)
    lib.hwprof_end(phase)
codes = (ctypes.c_int * 16)()
ns = (ctypes.c_int64 * 16)()
n = lib.hwprof_marks(codes, ns, 16)
print(json.dumps({"state": lib.hwprof_vtune_state(), "codes": list(codes[:n]), "ns": list(ns[:n])}))
"""


def run_helper(tmp_path: Path, env: dict[str, str]) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HWPROF_", "INTEL_LIBITTNOTIFY"))}
    done = subprocess.run([sys.executable, "-c", DRIVER, str(native.build())], env={**clean, **env},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def build_collector(tmp_path: Path, with_api_init: bool) -> Path:
    src = tmp_path / "collector.c"
    src.write_text(COLLECTOR)
    out = tmp_path / ("collector-api-init.so" if with_api_init else "collector-legacy.so")
    argv = native._compiler() + ["-O2", "-shared", "-fPIC", "-o", str(out), str(src)]
    if with_api_init:
        argv.insert(-1, "-DWITH_API_INIT")
    subprocess.run(argv, check=True, capture_output=True)
    return out


def test_phasectl_vtune_without_collector_is_harmless(tmp_path):
    status = tmp_path / "status"
    result = run_helper(tmp_path, {"HWPROF_VTUNE": "1", "HWPROF_VTUNE_MASK": "8", "HWPROF_VTUNE_STATUS": str(status)})
    assert result["state"] == -1
    assert status.read_text().startswith("unscoped: INTEL_LIBITTNOTIFY64 is not set")
    assert result["codes"] == [2, 3, 6, 7]              # begin/end of compile and execute, still marked
    assert result["ns"] == sorted(result["ns"]) and result["ns"][0] > 0


def test_phasectl_vtune_off_by_default(tmp_path):
    result = run_helper(tmp_path, {"HWPROF_VTUNE_STATUS": str(tmp_path / "status")})
    assert result["state"] == 0 and result["codes"] == [2, 3, 6, 7]
    assert not (tmp_path / "status").exists()


@pytest.mark.parametrize("with_api_init", [True, False], ids=["itt-api-init", "legacy-collector"])
def test_phasectl_vtune_resumes_and_pauses_only_its_phase(tmp_path, with_api_init):
    log = tmp_path / "itt.log"
    env = {"HWPROF_VTUNE": "1", "HWPROF_VTUNE_MASK": "8", "HWPROF_VTUNE_STATUS": str(tmp_path / "status"),
           "INTEL_LIBITTNOTIFY64": str(build_collector(tmp_path, with_api_init)), "FAKE_ITT_LOG": str(log)}
    result = run_helper(tmp_path, env)
    assert result["state"] == 1
    assert (tmp_path / "status").read_text() == "scoped\n"
    expected = (["api_init"] if with_api_init else []) + ["resume", "pause"]   # execute only, not compile
    assert log.read_text().splitlines() == expected
    assert result["codes"] == [2, 3, 6, 7]


def test_phasectl_vtune_collector_without_pause_resume_is_reported(tmp_path):
    src = tmp_path / "empty.c"
    src.write_text("int not_a_collector;\n")
    lib = tmp_path / "empty.so"
    subprocess.run(native._compiler() + ["-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    env = {"HWPROF_VTUNE": "1", "HWPROF_VTUNE_MASK": "8", "HWPROF_VTUNE_STATUS": str(tmp_path / "status"),
           "INTEL_LIBITTNOTIFY64": str(lib)}
    result = run_helper(tmp_path, env)
    assert result["state"] == -1 and result["codes"] == [2, 3, 6, 7]
    assert "did not provide __itt_pause" in (tmp_path / "status").read_text()
