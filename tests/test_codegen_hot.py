"""The execute phase's hot code (hwprof.codegen.hot): callgrind's format by hand and from real valgrind runs."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import wasmtime

from hwprof import workloads
from hwprof.backends.cachegrind import CachegrindBackend
from hwprof.backends import Pass
from hwprof.codegen import callgrind, hot, metrics
from hwprof.codegen import module as wasm_module
from hwprof.codegen.sources import Subject
from hwprof.runtimes.wasm2c import wabt

VALGRIND = pytest.mark.skipif(shutil.which("valgrind") is None,
                              reason="valgrind is not installed (apt-get install valgrind)")
ISA = {"x86_64": "x86_64", "aarch64": "aarch64"}.get(platform.machine())

# The format document's features, costs worked out by hand (events Ir Dr):
#   main: 0x1000 3/1, 0x1004 2/0, 0x1006 1/0, 0x1010 5/0       -> 11 Ir, 1 Dr (the call's 500/100 is inclusive)
#   work: 0x2000 100/40 + 7/1, 0x2003 50/20, 0x2005 1/0        -> 158 Ir, 61 Dr
#   memcpy in libc: 0x500 9/9                                   -> everything: 178 Ir, 71 Dr
HAND = """# callgrind format
version: 1
pid: 4242
positions: instr line
events: Ir Dr
summary: 999 999

ob=(1) /bin/prog
fl=(1) prog.c
fn=(1) main
0x1000 10 3 1
+4 * 2
cfn=(2) work
calls=2 +4092 20
* * 500 100
+2 11 1
fn=(2)
0x2000 20 100 40
fi=(2) inline.h
+3 +1 50 20
jcnd=49/50 -3 20
* *
+2 * 1
jcnd=10/11 -2 21
* *
-5 * 7 1
jcnd=100 60 +5 20
* *
jump=4 +16 22
* *
ob=(2) /lib/libc.so
fn=(3) memcpy
0x500 0 9 9
ob=(1)
fn=(1)
0x1010 12 5

totals: 178 71
"""


@pytest.mark.quick
def test_documented_format_by_hand_self_costs_exclude_calls_and_read_relative_positions():
    prof = callgrind.parse(HAND)
    assert prof.events == ("Ir", "Dr") and prof.pid == 4242 and prof.totals == [178, 71]
    main, work = prof.functions[("/bin/prog", "main")], prof.functions[("/bin/prog", "work")]
    assert main.cost == [11, 1] and main.by_address == {0x1000: [3, 1], 0x1004: [2, 0], 0x1006: [1, 0],
                                                        0x1010: [5, 0]}
    assert work.cost == [158, 61] and work.by_address == {0x2000: [107, 41], 0x2003: [50, 20], 0x2005: [1, 0]}
    assert prof.functions[("/lib/libc.so", "memcpy")].cost == [9, 9]
    assert prof.total() == 178 and prof.total("Dr") == 71
    assert prof.jumps == [callgrind.Jump(0x2003, 0x2000, 49, 50), callgrind.Jump(0x2005, 0x2003, 10, 11),
                          callgrind.Jump(0x2000, 0x2005, 60, 100), callgrind.Jump(0x2000, 0x2010, 4, 4)]


@pytest.mark.quick
def test_hottest_function_and_loop_of_a_profile_by_hand():
    prof = callgrind.parse(HAND)
    work = hot.ModuleFunction(7, "", 158, {0x2000: 107, 0x2003: 50, 0x2005: 1})
    main = hot.ModuleFunction(3, "main", 11, {0x1000: 3, 0x1004: 2, 0x1006: 1, 0x1010: 5})
    profile = hot.ExecuteProfile("hand", prof, [work, main])
    names = wasm_module.ModuleFunctions(2, 8, {7: "work"})
    assert hot.hottest(profile, names) == (7, "work", 158 / 178)
    assert hot.hottest(profile) == (7, "", 158 / 178)
    # The back edge 0x2003 -> 0x2000 (49 taken) beats 0x2005 -> 0x2003 (10); forward jumps (60) are no loops.
    assert hot.hottest_loop(profile, work) == hot.Loop(0x2000, 0x2003, 49, 157)
    assert hot.hottest_loop(profile, main) is None
    # Valgrind writes one record per superblock a jump was translated in: an edge's records are summed, so two
    # records of 0x2005 -> 0x2003 (30 + 30) now beat the single 49 of 0x2003 -> 0x2000.
    prof.jumps += [callgrind.Jump(0x2005, 0x2003, 30, 30), callgrind.Jump(0x2005, 0x2003, 20, 20)]
    assert hot.hottest_loop(profile, work) == hot.Loop(0x2003, 0x2005, 60, 51)


@pytest.mark.quick
def test_wasm2c_symbols_map_to_the_module_index_space(tmp_path):
    """Every function wasm2c (the real tool) wrote for a module with names, unnamed functions and exports."""
    wasm = wasmtime.wat2wasm("""(module
      (import "env" "f" (func $imported))
      (memory (export "memory") 1)
      (func $kernel_2mm (export "run") (result i32) i32.const 1)
      (func $a.b (result i32) i32.const 2)
      (func $x0x41y (result i32) i32.const 3)
      (func (result i32) i32.const 4)
      (func $_start (export "_start"))
      (func (export "exported_noname") (result i32) i32.const 6))""")
    (tmp_path / "m.wasm").write_bytes(wasm)
    subprocess.run([str(wabt().get_executable("wasm2c")), str(tmp_path / "m.wasm"), "--module-name=workload",
                    "-o", str(tmp_path / "m.c")], check=True)
    defined = set(re.findall(r"^\w[\w* ]* (w2c_workload_\w+)\(w2c_workload\*", (tmp_path / "m.c").read_text(),
                             re.MULTILINE))
    code = hot._Code(wasm_module.read(wasm), hot.exports(wasm))
    found = {s: hot._wasm2c(code, "", s, 0) for s in defined}
    assert {s: (h[0], h[1]) for s, h in found.items() if h} == {
        "w2c_workload_kernel_2mm": (1, "kernel_2mm"), "w2c_workload_run": (1, "kernel_2mm"),
        "w2c_workload_a0x2Eb": (2, "a.b"), "w2c_workload_x0x0x341y": (3, "x0x41y"), "w2c_workload_f4": (4, "f4"),
        "w2c_workload_0x5Fstart": (5, "_start"), "w2c_workload_0x5Fstart_0": (5, "_start"),
        "w2c_workload_exported_noname": (6, "exported_noname"),
        "w2c_workload_exported_noname_0": (6, "exported_noname")}
    assert hot._wasm2c(code, "", "w2c_workload_memory", 0) is None      # an exported memory's getter
    assert hot._wasm2c(code, "", "w2c_env_f", 0) is None                  # the host's import, not the module


@pytest.mark.quick
def test_the_backend_asks_for_instructions_only_when_told():
    plain = CachegrindBackend().prepare(["prog"], Pass(("execute",), (), "execute"), Path("/tmp"))
    assert "--dump-instr=no" in plain.argv and not any(a.startswith("--collect-jumps") for a in plain.argv)
    assert "HWPROF_PERF_MAP" not in plain.env
    told = CachegrindBackend(per_instruction=True).prepare(["prog"], Pass(("execute",), (), "execute"), Path("/tmp"))
    # valgrind takes the last of a repeated option: the later --dump-instr=yes is the one that counts.
    assert told.argv.index("--dump-instr=yes") > told.argv.index("--dump-instr=no")
    assert "--collect-jumps=yes" in told.argv and told.env["HWPROF_PERF_MAP"] == "1"


@pytest.mark.quick
def test_the_wasmtime_host_writes_a_perf_map_only_when_asked():
    from hwprof.runtimes.wasmtime_host import make_engine

    path = Path(f"/tmp/perf-{os.getpid()}.map")
    path.unlink(missing_ok=True)
    wasm = wasmtime.wat2wasm('(module (func $sum (export "sum") (result i32) i32.const 1))')
    try:
        wasmtime.Module(make_engine(wasmtime, {}), wasm)
        assert not path.exists()
        wasmtime.Module(make_engine(wasmtime, {"profiler": "perfmap"}), wasm)
        ranges = hot.perf_map(path.read_text())
        assert [r[2] for r in ranges if "trampoline" not in r[2]] == ["sum"] and all(r[1] > r[0] for r in ranges)
    finally:
        path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def native_2mm() -> Path:
    return workloads.build("2mm", "mini", flavour="native").program


@VALGRIND
@pytest.mark.skipif(ISA is None, reason=f"no disassembler here for {platform.machine()}")
def test_real_callgrind_output_every_address_is_an_instruction_and_costs_sum_to_totals(native_2mm, tmp_path):
    out = tmp_path / "callgrind.out"
    subprocess.run(["valgrind", "--tool=callgrind", "--dump-instr=yes", "--collect-jumps=yes",
                    f"--callgrind-out-file={out}", str(native_2mm)], check=True, capture_output=True)
    prof = callgrind.parse(out.read_text())
    assert prof.totals and prof.total() == prof.totals[0] > 0
    assert all(sum(a[0] for a in f.by_address.values()) == f.cost[0] for f in prof.functions.values())
    from elftools.elf.elffile import ELFFile

    with open(native_2mm, "rb") as f:
        text = ELFFile(f).get_section_by_name(".text")
        code, base = text.data(), text["sh_addr"]
    decoded = {i.address: i for i in metrics.disassemble(code, ISA, base)}
    ours = [a for (obj, _), f in prof.functions.items() if obj == str(native_2mm) for a in f.by_address
            if base <= a < base + len(code)]
    assert len(ours) > 1000 and all(a in decoded for a in ours)      # relative positions decoded right
    inside = [j for j in prof.jumps if j.source in decoded]
    assert inside and all(decoded[j.source].jump for j in inside)    # every jump's source is a jump instruction
    assert all(j.taken <= j.executed for j in prof.jumps)


def _profile(target: str):
    w = workloads.resolve("2mm", "mini")
    subject = Subject(w.program, w)
    return subject, hot.execute_profile(subject, target)


def _check_hottest(subject, profile) -> hot.ModuleFunction:
    index, name, share = hot.hottest(profile, subject.functions())
    top = profile.functions[0]
    assert share > 0.5 and (index, share) == (top.index, top.count / profile.total)
    assert all(sum(f.by_address.values()) == f.count for f in profile.functions)
    assert profile.total == profile.profile.totals[0]
    loop = hot.hottest_loop(profile, top)
    assert loop is not None and loop.start < loop.end and loop.start in top.by_address
    assert loop.iterations > 100 and 0 < loop.instructions <= top.count
    return top


@VALGRIND
def test_wasm2c_hottest_function_holds_the_kernel():
    subject, profile = _profile("wasm2c-llvm")
    top = _check_hottest(subject, profile)
    functions = subject.functions()
    assert top.index in functions.indices()
    # Unnamed (a module without a name section): named as wasm2c names it, from its export or its index.
    assert top.name == (functions.name(top.index) or next(
        (n for n, i in hot.exports(subject.bytes()).items() if i == top.index), f"f{top.index}"))


@VALGRIND
def test_native_hottest_function_holds_the_kernel(native_2mm):
    subject, profile = _profile("native")
    top = _check_hottest(subject, profile)
    symbols = subprocess.run(["nm", str(native_2mm)], capture_output=True, text=True).stdout
    if symbols.strip():
        assert top.name in ("kernel_2mm", "main")                   # kernel_2mm, or main where it was inlined
        named = {n: i for i, n in subject.functions().names.items()}
        assert top.index == named.get(top.name)      # the wasm build's index of that C function (None: no names)
    else:
        assert top.index is None and top.name.startswith("0x")    # stripped: callgrind names it by address


@VALGRIND
def test_wasmtime_hottest_function_through_its_perf_map():
    subject, profile = _profile("wasmtime")
    top = _check_hottest(subject, profile)
    assert top.index in subject.functions().indices() and top.start is not None
    if subject.functions().has_names:
        assert top.name in ("kernel_2mm", "main")                   # as natively: the C function holding the kernel
    assert min(top.by_address) >= top.start
    assert not list(Path("/tmp").glob(f"perf-{profile.profile.pid}.map"))    # the run's map was removed
