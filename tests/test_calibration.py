"""The calibration loop: a fixed native kernel (deterministic result), slowed on purpose by a duty-cycled
real-time hog pinned to its CPU (the host taking the CPU away, as a hypervisor does), and the threshold of
noise.summarize at its edges on constructed readings. Nothing here asserts that this machine is quiet."""

from __future__ import annotations

import os
import time

import pytest
from hogs import hogging

from hwprof import calibration, noise


def _proc(before, after, wall=0.0):
    return {"calibration_before_ns": before, "calibration_after_ns": after, "wall_s": wall, "busy_s": wall,
            "steal_s": 0.0, "own_cpu_s": wall, "voluntary_switches": 0, "involuntary_switches": 0, "mhz": []}


@pytest.fixture
def kernel():
    if calibration.kernel() is None:
        pytest.skip("no C compiler to build the calibration kernel")
    return calibration.kernel()


def test_the_kernel_returns_the_same_state_every_call_and_depends_on_its_length(kernel):
    first = calibration.run()
    assert first is not None and all(calibration.run() == first for _ in range(3))
    assert calibration.run(10) != first and calibration.run(0) == 0x9E3779B97F4A7C15   # the loop really runs


@pytest.mark.skipif(os.uname().machine not in ("x86_64", "aarch64"),
                    reason="the kernel reads a time-stamp counter on x86-64 and aarch64 only")
def test_each_calibration_reads_the_time_stamp_counter_against_the_monotonic_clock(kernel):
    first, second = calibration.stamp(), calibration.stamp()
    assert first is not None and second[1] > first[1] and second[0] >= first[0]   # the counter moves on
    assert 0 < first[2] < 1_000_000                                               # a bracket of ticks, not ms
    got = calibration.measure(max(os.sched_getaffinity(0)))
    assert got.ns > 0 and got.tsc_per_ns is not None and 0.001 < got.tsc_per_ns < 10   # 1 MHz .. 10 GHz
    assert calibration.time_ns(None) > 0                                           # the old call still works


def test_timing_restores_the_threads_affinity(kernel):
    old = os.sched_getaffinity(0)
    cpu = max(old)
    assert calibration.time_ns(cpu) > 0
    assert os.sched_getaffinity(0) == old


def test_a_cpu_taken_away_during_the_loop_shows_a_slowdown_and_flags_the_repetition(kernel):
    cpu = max(os.sched_getaffinity(0))
    quiet = min(calibration.time_ns(cpu) for _ in range(5))
    with hogging(cpu):
        time.sleep(0.1)
        disturbed = calibration.time_ns(cpu)
    ref = noise.QuietReference()
    noise.summarize([_proc(quiet, quiet, 0.01)], ref)
    s = noise.summarize([_proc(quiet, disturbed, 0.01)], ref)
    assert s["calibration_ns_min"] == quiet
    assert s["calibration_slowdown"] > 1.5, (quiet, disturbed)
    assert "calibration loop ran" in s["disturbed"]


@pytest.mark.quick
def test_the_threshold_flags_exactly_above_it():
    edge = 1000 * (100 + noise.CALIBRATION_PCT) // 100                      # 25% slower than 1000 ns
    ref = noise.QuietReference()
    at = noise.summarize([_proc(1000, edge)], ref)
    assert at["calibration_slowdown"] == 1 + noise.CALIBRATION_PCT / 100 and at["disturbed"] == ""
    over = noise.summarize([_proc(edge + 1, 1000)], ref)                    # the worse of before and after counts
    assert "calibration loop ran 1.25x its quietest time (> 25% slower)" in over["disturbed"]
    assert noise.summarize([_proc(1100, 1100), _proc(1000, edge + 1)], ref)["disturbed"] != ""   # worst process


@pytest.mark.quick
def test_the_reference_is_the_fastest_seen_so_far():
    ref = noise.QuietReference()
    assert noise.summarize([_proc(2000, 2100)], ref)["calibration_slowdown"] == 1.05   # its own quietest
    s = noise.summarize([_proc(1000, 1000)], ref)
    assert s["calibration_ns_min"] == 1000 and s["calibration_slowdown"] == 1.0
    late = noise.summarize([_proc(2000, 2000)], ref)                       # the same 2000 ns, now 2x the quiet one
    assert late["calibration_ns_min"] == 1000 and late["calibration_slowdown"] == 2.0 and late["disturbed"]


@pytest.mark.quick
def test_no_calibration_is_absent_never_a_number():
    s = noise.summarize([_proc(None, None, 0.5)], noise.QuietReference())
    assert s["calibration_ns_min"] is None and s["calibration_slowdown"] is None and s["disturbed"] == ""
    old = {k: v for k, v in _proc(None, None, 0.5).items() if not k.startswith("calibration")}
    assert noise.summarize([old], noise.QuietReference())["calibration_slowdown"] is None   # stored before it existed
    one = noise.summarize([_proc(None, 1300)], noise.QuietReference())     # one side missing: the other counts
    assert one["calibration_ns_min"] == 1300 and one["calibration_slowdown"] == 1.0


def test_every_measured_process_is_calibrated_before_and_after_and_the_run_says_so(kernel, store):
    from hwprof.collect import CollectConfig, collect
    from hwprof.data.store import read_run

    result = collect(CollectConfig("2mm", size="small", repetitions=1, warmup=0, results=store,
                                   events=("task_clock",), count_phases=("execute",)))
    prov = read_run(result.run_files[0])["provenance"]["noise"]
    assert prov["calibration_ns_min"] > 0 and prov["calibration_slowdown"] >= 1.0, prov
