"""The front-end model on constructed streams (answers computed by hand) and its data files' validation."""

import dataclasses
import re
import shutil
import subprocess

import pytest

from hwprof.frontend import uarch
from hwprof.frontend.model import MODEL_NAME, MODEL_VERSION, Block, FrontendCounts, simulate

SKL = uarch.load("skylake")


def block(address, n, size=4, uops=1, branch_last=False):
    """n instructions of `size` bytes and `uops` uops each from `address`; the last one a branch if asked."""
    return Block(address, (size,) * n, (uops,) * n, (False,) * (n - 1) + (branch_last,))


def counts(hits, misses, ihits, imisses, instructions):
    return FrontendCounts(dsb_hits=hits, dsb_misses=misses, l1i_hits=ihits, l1i_misses=imisses,
                          instructions=instructions)


def test_small_hot_loop_hits_the_dsb_after_the_first_iteration():
    # 4 instructions x 4 bytes at 0x1000 (one 32-byte window, one line); the jcc ends at 0x100f, no boundary.
    # 10 iterations: DSB 4 uops miss, then 9 x 4 = 36 hit; L1I 1 miss, 9 hits.
    got = simulate([block(0x1000, 4, branch_last=True)], [0] * 10, SKL)
    assert got == counts(36, 4, 9, 1, 40)
    assert got.dsb_miss_rate == pytest.approx(0.1)
    assert got.dsb_to_l1i_ref_ratio == pytest.approx(4.0)
    assert MODEL_NAME and MODEL_VERSION


def test_loop_over_dsb_capacity_misses_every_time_and_one_at_capacity_hits():
    # One block per 32-byte window: 4 instructions x 8 bytes, 4 uops -> 1 way. 288 windows = 9 per DSB set of
    # 8 ways: cyclic LRU, every lookup misses: 3 x 288 x 4 = 3456 uops. L1I: one lookup per block, 3 x 288 = 864;
    # 288 x 32 B = 144 lines, at most 3 per L1I set: 144 misses, 720 hits. With 256 windows (8 per set): DSB
    # 1024 misses then 2 x 1024 hits; L1I 768 lookups, 128 misses, 640 hits.
    over = [block(0x10000 + 32 * k, 4, size=8) for k in range(288)]
    assert simulate(over, list(range(288)) * 3, SKL) == counts(0, 3456, 720, 144, 3456)
    fits = over[:256]
    assert simulate(fits, list(range(256)) * 3, SKL) == counts(2048, 1024, 640, 128, 3072)


def test_window_needing_more_than_three_ways_is_decoded_every_time():
    # 8 instructions x 4 bytes in one window: 3+3+3+2+2+2+2+2 = 19 uops -> ceil(19/6) = 4 ways > 3: never
    # cached, 10 x 19 = 190 from MITE. With 18 uops (last one 1) -> 3 ways: 18 miss, 9 x 18 = 162 hit.
    many = Block(0x3000, (4,) * 8, (3, 3, 3, 2, 2, 2, 2, 2))
    assert simulate([many], [0] * 10, SKL) == counts(0, 190, 9, 1, 80)
    fits = Block(0x3000, (4,) * 8, (3, 3, 3, 2, 2, 2, 2, 1))
    assert simulate([fits], [0] * 10, SKL) == counts(162, 18, 9, 1, 80)


def test_jump_ending_on_a_32_byte_boundary_with_the_erratum_rule_on_and_off():
    # 7 x 4-byte uops, then a 4-byte jcc at 0x201c-0x201f: ends on the boundary. Rule on: the window is never
    # cached: 10 x 8 = 80 MITE uops. Rule off: 8 miss, 72 hit.
    loop = [block(0x2000, 8, branch_last=True)]
    assert simulate(loop, [0] * 10, SKL) == counts(0, 80, 9, 1, 80)
    off = dataclasses.replace(SKL, jcc_erratum=False)
    assert simulate(loop, [0] * 10, off) == counts(72, 8, 9, 1, 80)


def test_macro_fused_pair_crossing_a_boundary_counts_whole():
    # 7 x 4 bytes, a 2-byte nop at 0x201c, cmp at 0x201e (3 bytes, 1 uop), jcc at 0x2021 (2 bytes, fused: 0).
    # The jcc alone crosses nothing, the pair crosses 0x2020: both windows uncacheable: 10 x 9 uops from MITE.
    # Lines: all in 0x2000-0x203f, one line. Rule off: window 0x2000 (9 uops, 2 ways) caches: 9 miss, 81 hit.
    pair = Block(0x2000, (4,) * 7 + (2, 3, 2), (1,) * 9 + (0,), (False,) * 9 + (True,))
    assert simulate([pair], [0] * 10, SKL) == counts(0, 90, 9, 1, 100)
    off = dataclasses.replace(SKL, jcc_erratum=False)
    assert simulate([pair], [0] * 10, off) == counts(81, 9, 9, 1, 100)


def test_loop_over_more_windows_of_one_set_than_it_has_ways():
    # 9 blocks 1024 bytes apart (32 windows x 32 B): all in DSB set 0, 1 way each, 8 ways: all miss,
    # 5 x 9 x 4 = 180. Their lines are 16 apart: L1I sets 0, 16, 32, 48 (at most 3 lines each): 9 misses,
    # 36 hits. With 8 blocks: 32 miss, 4 x 32 = 128 hit.
    nine = [block(0x10000 + 1024 * k, 4, branch_last=True) for k in range(9)]
    assert simulate(nine, list(range(9)) * 5, SKL) == counts(0, 180, 36, 9, 180)
    assert simulate(nine[:8], list(range(8)) * 5, SKL) == counts(128, 32, 32, 8, 160)


def test_loop_larger_than_the_l1i_misses_every_line_and_one_that_fits_hits():
    # One 64-byte block per line (16 x 4 bytes). 36 KiB = 576 lines, 9 per set of 8 ways: every lookup misses
    # (2 x 576 = 1152). 32 KiB = 512 lines, 8 per set: 512 misses then 2 x 512 hits. DSB: 2 windows per line,
    # 8 uops (2 ways) each; 16 windows x 2 ways per set is already over 8 ways: every uop from MITE.
    big = [block(0x400000 + 64 * k, 16) for k in range(576)]
    assert simulate(big, list(range(576)) * 2, SKL) == counts(0, 18432, 0, 1152, 18432)
    assert simulate(big[:512], list(range(512)) * 3, SKL) == counts(0, 24576, 1024, 512, 24576)


def test_l1i_eviction_drops_the_lines_dsb_windows():
    # A at 0x100000 (L1I set 0, DSB set 0); B1..B8 at +k*4096+32 (L1I set 0, DSB set 1). 9 lines cycle through
    # 8 ways: every line is evicted before reuse, so with inclusion every DSB window is dropped too: 3 x 9 x 4
    # = 108 MITE uops. Without inclusion the 9 windows (8 in set 1) stay: 36 miss, 72 hit. L1I: 27 misses.
    blocks = [block(0x100000, 4)] + [block(0x100000 + 4096 * k + 32, 4) for k in range(1, 9)]
    order = list(range(9)) * 3
    assert simulate(blocks, order, SKL) == counts(0, 108, 0, 27, 108)
    loose = dataclasses.replace(SKL, dsb_inclusive_of_l1i=False)
    assert simulate(blocks, order, loose) == counts(72, 36, 0, 27, 108)


def test_block_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="equally long"):
        Block(0, (4, 4), (1,))


@pytest.mark.parametrize("name,capacity", [("skylake", 1536), ("icelake", 2304), ("goldencove", 4096),
                                           ("zen2", 4096), ("zen3", 4096), ("zen4", 6912)])
def test_every_data_file_loads_with_its_published_capacity(name, capacity):
    u = uarch.load(name)
    assert u.dsb_sets * u.dsb_ways * u.dsb_uops_per_way == capacity
    assert u.l1i_sets * u.l1i_ways * u.l1i_line_bytes == u.l1i_size_bytes == 32768
    assert all(s.strip() for s in u.sources.values()) and u.assumptions


def test_only_skylake_has_the_jcc_rule():
    assert [n for n in uarch.names() if uarch.load(n).jcc_erratum] == ["skylake"]


def _write(tmp_path, text):
    path = tmp_path / "x.toml"
    path.write_text(text)
    return path


def _skylake_text():
    return (uarch.UARCH_DIR / "skylake.toml").read_text()


def test_missing_source_is_a_one_line_error(tmp_path):
    text = _skylake_text().replace('\nways = "Intel Optimization Reference Manual (248966), \'Decoded', '\nx = "')
    with pytest.raises(uarch.UarchError, match=r"\[dsb.sources\] has no source for ways$"):
        uarch.load(_write(tmp_path, text))


def test_bad_value_and_unknown_name_are_one_line_errors(tmp_path):
    with pytest.raises(uarch.UarchError, match="sets must be a positive integer, got 0"):
        uarch.load(_write(tmp_path, _skylake_text().replace("sets = 32", "sets = 0")))
    with pytest.raises(uarch.UarchError, match="max_ways_per_window .9. exceeds ways"):
        uarch.load(_write(tmp_path, _skylake_text().replace("max_ways_per_window = 3", "max_ways_per_window = 9")))
    with pytest.raises(uarch.UarchError, match="unknown microarchitecture 'pentium'"):
        uarch.load("pentium")


def test_replacement_is_lru_not_fifo():
    # Order 0..7, 0, 8, 0 over one set's 8 ways. LRU: re-touching 0 makes 1 the victim of 8, so the last 0 hits;
    # FIFO would evict 0 and miss. DSB (blocks 1024 B apart, set 0, 4 uops): 9 x 4 = 36 miss, 2 x 4 = 8 hit;
    # their lines sit in 4 L1I sets (at most 3 each): 9 misses, 2 hits.
    order = list(range(8)) + [0, 8, 0]
    dsb_set = [block(0x10000 + 1024 * k, 4) for k in range(9)]
    assert simulate(dsb_set, order, SKL) == counts(8, 36, 2, 9, 44)
    # L1I (blocks 4096 B apart, L1I set 0): 9 misses, 2 hits.
    l1i_set = [block(0x10000 + 4096 * k, 4) for k in range(9)]
    got = simulate(l1i_set, order, SKL)
    assert (got.l1i_hits, got.l1i_misses) == (2, 9)


def test_blocks_from_stream_groups_back_to_back_instructions():
    from hwprof.frontend.blocks import blocks_from_stream
    # 0x10,0x14,0x18 run back to back, then a jump back to 0x10 (same block again), then 0x40 alone.
    blocks, order = blocks_from_stream([0x10, 0x14, 0x18, 0x10, 0x14, 0x18, 0x40], [4, 4, 2, 4, 4, 2, 3])
    assert [(b.address, b.sizes) for b in blocks] == [(0x10, (4, 4, 2)), (0x40, (3,))]
    assert order.tolist() == [0, 0, 1]
    with pytest.raises(ValueError, match="equal length"):
        blocks_from_stream([1, 2], [1])


LOOP_C = "int main(void){ volatile long s = 0; for (long i = 0; i < 20000; i++) s += i; return (int)(s & 1); }\n"


@pytest.mark.skipif(shutil.which("valgrind") is None or shutil.which("cc") is None, reason="needs valgrind and cc")
def test_l1i_misses_agree_with_cachegrind_i1_on_a_real_trace(tmp_path):
    from hwprof.frontend.blocks import blocks_from_stream
    (tmp_path / "loop.c").write_text(LOOP_C)
    subprocess.run(["cc", "-O1", "-o", tmp_path / "loop", tmp_path / "loop.c"], check=True)
    subprocess.run(["valgrind", "--tool=lackey", "--trace-mem=yes", f"--log-file={tmp_path / 'lackey'}",
                    tmp_path / "loop"], check=True)
    cg = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=yes", "--I1=32768,8,64",
                         f"--cachegrind-out-file={tmp_path / 'cg'}", tmp_path / "loop"],
                        capture_output=True, text=True, check=True).stderr
    refs = int(re.search(r"I\s+refs:\s+([\d,]+)", cg).group(1).replace(",", ""))
    i1_misses = int(re.search(r"I1\s+misses:\s+([\d,]+)", cg).group(1).replace(",", ""))
    fetches = [line[3:].split(",") for line in (tmp_path / "lackey").read_text().splitlines() if line.startswith("I ")]
    addresses, sizes = [int(a, 16) for a, _ in fetches], [int(n) for _, n in fetches]
    blocks, order = blocks_from_stream(addresses, sizes)
    got = simulate(blocks, order, SKL)
    # Same stream, same geometry, both LRU: equal except that cachegrind counts an instruction straddling two
    # lines as at most one miss where the model counts each line, so the model may exceed it by the straddles.
    straddles = sum((a >> 6) != ((a + n - 1) >> 6) for a, n in zip(addresses, sizes))
    assert got.instructions == refs
    assert i1_misses <= got.l1i_misses <= i1_misses + straddles
    assert got.l1i_misses - i1_misses <= 0.01 * i1_misses


def test_block_from_disassembly_uses_uops_toml_with_macro_fusion():
    from hwprof.codegen.disasm import disassemble
    # add rax, 1; cmp rax, rbx; jne back: cmp+jne macro-fuse (the jne counts 0), the jne is the branch.
    code = bytes.fromhex("4883c001" "4839d8" "75f7")
    b = Block.from_instructions(disassemble(code, "x86_64", 0x2000))
    assert b == Block(0x2000, (4, 3, 2), (1, 1, 0), (False, False, True))


def test_a_three_way_window_evicts_as_many_lru_windows_as_it_needs():
    # A0..A7 (4 uops, 1 way each) fill DSB set 0; B (13 x 2-byte 1-uop instructions: ceil(13/6) = 3 ways) must
    # evict A0, A1 and A2. Then A3..A7 and B hit, A2 misses. DSB: misses 8 x 4 + 13 + 4 = 49, hits 5 x 4 + 13 = 33.
    # L1I: 16 lookups of 9 lines 16 apart (4 L1I sets, at most 3 each): 9 misses, 7 hits.
    blocks = [block(0x10000 + 1024 * k, 4) for k in range(8)] + [block(0x10000 + 1024 * 8, 13, size=2)]
    order = list(range(8)) + [8] + list(range(3, 8)) + [8, 2]
    assert simulate(blocks, order, SKL) == counts(33, 49, 7, 9, 4 * 14 + 2 * 13)


def test_metrics_use_the_event_maps_names_and_bad_order_is_an_error():
    got = simulate([block(0x1000, 4)], [0, 0], SKL).metrics()
    assert got == {"dsb_hits": 4, "dsb_misses": 4, "l1i_hits": 1, "l1i_misses": 1, "dsb_miss_rate": 0.5,
                   "dsb_to_l1i_ref_ratio": 4.0}
    assert simulate([block(0x1000, 4)], [], SKL).metrics()["dsb_miss_rate"] is None
    with pytest.raises(ValueError, match="outside 0..0"):
        simulate([block(0x1000, 4)], [0, 1], SKL)
