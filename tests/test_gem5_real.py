"""`hwprof gem5-sweep` in a real gem5: the shared v24.0.0.1 gem5.fast (../shared/gem5/, found by
hwprof.gem5.gem5_sim.shared_gem5) on the smallest case, one point of 2mm mini each. Skipped, with the reason,
where that gem5 is absent or its libraries do not load (setup.sh installs them); the stand-in tests in
test_gem5_sweep.py cover such machines.
"""

from __future__ import annotations

import subprocess

import pytest

from hwprof.data import schema
from hwprof.gem5 import gem5_sim
from hwprof.gem5 import stats as gem5_stats
from hwprof.gem5.sweep import SweepConfig, run_sweep


def _real_gem5() -> tuple[str | None, str]:
    """(the shared gem5, '') when it is there and starts, else (None, why not)."""
    gem5 = gem5_sim.shared_gem5()
    if not gem5:
        return None, f"no gem5 at {gem5_sim.SHARED_GEM5}"
    try:
        done = subprocess.run([gem5, "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{gem5} does not start: {exc}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        return None, f"{gem5} does not start (scripts/setup.sh installs its libraries): {last}"
    return gem5, ""


GEM5, WHY_NOT = _real_gem5()
pytestmark = pytest.mark.skipif(GEM5 is None, reason=WHY_NOT)


def _sweep(tmp_path, **fields):
    config = SweepConfig(workloads=("2mm",), size="mini", outdir=tmp_path / "sweep", results=tmp_path / "results",
                         workers=1, timeout=120, **fields)
    return config, run_sweep(config)


def _values(result) -> dict[str, float | None]:
    return {r.name: r.value for r in result.records}


def _roi_block(config, target: str, key: str) -> dict[str, float]:
    m5out = config.outdir / "gem5" / "2mm-mini" / target / key / "m5out"
    return gem5_stats.roi(gem5_stats.parse(m5out / "stats.txt"))


def test_real_gem5_runs_an_l1i_point_of_the_native_build(tmp_path):
    config, result = _sweep(tmp_path, kind="l1i", sizes=("16KiB",), targets=("native",))
    assert result.failed == [] and result.ran == 1
    got = _values(result)
    assert {r.status for r in result.records} == {schema.OK}     # every metric read, the zero-miss L1D too
    block = _roi_block(config, "native", "l1i-16KiB")
    assert got["instructions"] == block["board.processor.cores.core.commitStats0.numInsts"]
    # The region of interest: the kernel only. simInsts also counts start-up and the inputs' set-up.
    assert 0 < got["instructions"] < block["simInsts"]
    assert round(got["ipc"], 6) == block["board.processor.cores.core.ipc"]
    assert 0 < got["l1i_miss_rate"] < 0.05


def test_real_gem5_runs_a_branch_predictor_point_of_the_wasm2c_build(tmp_path):
    config, result = _sweep(tmp_path, kind="bp", predictors=("BiModeBP",), targets=("wasm2c",))
    assert result.failed == [] and result.ran == 1
    got = _values(result)
    assert 0 < got["cond_mispredicted"] < got["cond_branches"]
    block = _roi_block(config, "wasm2c", "bp-BiModeBP")
    assert got["cond_branches"] == block["board.processor.cores.core.branchPred.condPredicted"]
    config_ini = (config.outdir / "gem5" / "2mm-mini" / "wasm2c" / "bp-BiModeBP" / "m5out" / "config.ini").read_text()
    assert "type=BiModeBP" in config_ini and "globalPredictorSize=2048" in config_ini


def test_real_gem5_restores_a_checkpoint_at_the_region_of_interest(tmp_path):
    _, full = _sweep(tmp_path / "full", kind="l1i", sizes=("8KiB",), targets=("native",))
    _, restored = _sweep(tmp_path / "cpt", kind="l1i", sizes=("8KiB",), targets=("native",), checkpoint=True)
    assert restored.failed == [] and restored.ran == 2                # the checkpoint run, then the point
    # Restored at work_begin: the same kernel, give or take the work_begin instruction itself.
    assert abs(_values(restored)["instructions"] - _values(full)["instructions"]) <= 2
