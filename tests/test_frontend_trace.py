"""hwprof.frontend.trace against real valgrind: a C loop whose block stream is known by construction."""

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from hwprof.frontend import trace

pytestmark = pytest.mark.skipif(not (shutil.which("valgrind") and shutil.which("cc")
                                     and Path("/usr/include/valgrind/callgrind.h").exists()),
                                reason="needs valgrind, its headers and a C compiler")

# The phase is work(N) between two callgrind requests, as hwprof's phase helper issues them (toggle; toggle,
# dump); work(3) before and many work(5) after run the same loop outside the phase.
PROGRAM = r"""
#include <valgrind/callgrind.h>
volatile int sink;
__attribute__((noinline)) void work(int n) { for (int i = 0; i < n; i++) sink += i; }
int main(void) {
    work(3);
    CALLGRIND_TOGGLE_COLLECT;
    work(N);
    CALLGRIND_TOGGLE_COLLECT;
    CALLGRIND_DUMP_STATS_AT("execute");
    for (int k = 0; k < 20000; k++) work(5);   /* outlives the reader's lag */
    return 0;
}
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    d = tmp_path_factory.mktemp("trace")
    (d / "loop.c").write_text(PROGRAM)
    built = {}
    for n in (100, 1000):
        exe = d / f"loop{n}"
        subprocess.run(["cc", "-O1", f"-DN={n}", "-o", str(exe), str(d / "loop.c")], check=True)
        built[n] = exe
    return built


def _loop_block(t: trace.PhaseTrace) -> int:
    """The block that ends in a jump back to its own start: the loop body."""
    import capstone
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    for a, b in t.blocks.items():
        last = list(md.disasm(b.code, a))[-1]
        if last.mnemonic.startswith("j") and last.op_str == hex(a):
            return a
    raise AssertionError("no self-looping block in the phase")


@pytest.mark.parametrize("n", [100, 1000])
def test_loop_block_runs_n_minus_one_times(program, n):
    t = trace.run([str(program[n])])
    loop = _loop_block(t)
    # the first iteration runs in the block that enters the loop; every later one starts the loop block
    assert t.counts()[loop] == n - 1
    assert t.mismatches == 0
    assert all(sum(b.lengths) == b.size for b in t.blocks.values())


def test_phase_matches_callgrinds_instruction_count(program, tmp_path):
    t = trace.run([str(program[1000])])
    out = tmp_path / "cg.out"
    subprocess.run(["valgrind", "--tool=callgrind", "--collect-atstart=no", f"--callgrind-out-file={out}",
                    str(program[1000])], check=True, capture_output=True)
    ir = max(int(line.split()[1]) for p in tmp_path.glob("cg.out*") for line in p.read_text().splitlines()
             if line.startswith("summary:"))
    # callgrind counts each request's 5-instruction magic sequence as one instruction
    assert abs(t.instructions - ir) <= 8
    assert t.blocks[t.order[-1]].request          # the phase ends with the block holding the end request


def test_block_decoding_stops_at_a_branch_and_at_a_request():
    import capstone
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    code = bytes.fromhex("4801d8" "75fb" "90")                 # add rax, rbx; jne back; nop
    b = trace.decode_block(0x1000, code, md)
    assert b.lengths == (3, 2) and not b.falls_through
    r = trace.decode_block(0x2000, bytes.fromhex("90") + trace.MAGIC + bytes.fromhex("90"), md)
    assert r.request and r.size == 20 and r.falls_through


def test_no_phase_is_a_clear_error():
    with pytest.raises(trace.TraceError, match="no counted phase"):
        trace.read_stream(io.BytesIO(b"not a lackey line\n"))


def test_a_traced_loop_runs_through_the_model_from_the_dsb_after_its_first_pass(program):
    """The traced phase as the model's input: every uop delivered once, the hot loop from the DSB (JCC rule off,
    so the loop's layout cannot take its window away), and only cold L1I misses (the code is a few lines)."""
    import dataclasses

    import numpy as np

    from hwprof.frontend import stream, uarch

    t = trace.run([str(program[1000])])
    blocks, order = stream.model_input(t)
    assert len(order) == len(t.order) and sum(len(blocks[i].sizes) for i in order) == t.instructions
    skylake = dataclasses.replace(uarch.load("skylake"), jcc_erratum=False)
    got = stream.simulate(t, skylake)
    uops = sum(sum(blocks[i].uops) for i in order)
    assert got.instructions == t.instructions and got.dsb_hits + got.dsb_misses == uops
    lines = {a // 64 for b in blocks for a in range(b.address, b.address + sum(b.sizes))}
    assert got.l1i_misses == len(lines)
    loop = blocks[int(np.bincount(order).argmax())]
    assert got.dsb_misses <= uops - sum(loop.uops) * (t.counts()[_loop_block(t)] - 1)   # all but its first pass hit
