"""The memory limit holds on every target the same way: a module asking for more gets a failed allocation
(memory.grow returns -1, malloc NULL), never more memory, and the limit is kept in each run's provenance."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hwprof.collect import CollectConfig, CollectError, collect
from hwprof.data.store import read_run

DATA = Path(__file__).parent / "data" / "modules"
LIMIT = 128 << 20


@pytest.fixture(scope="module")
def grow(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("grow") / "grow.wasm"
    done = subprocess.run([sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2", "-s", "-o", str(out),
                           str(DATA / "grow.c")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


def _ask(grow, runtime, store, mib) -> tuple[str, dict]:
    result = collect(CollectConfig(str(grow), runtime=runtime, repetitions=1, warmup=0, results=store, args=(str(mib),),
                                   memory_limit=LIMIT, events=("task_clock",), count_phases=("execute",)))
    prov = read_run(result.run_files[0])["provenance"]
    return prov["pinning"]["checksum"], prov


# wasmer-sdk has no memory limit: hwprof bounds the host's data with RLIMIT_DATA (limit + 64 MiB of headroom
# for the runtime itself), so only a request well past the limit is sure to be refused there.
PAST = {"wasmer": 512}


@pytest.mark.parametrize("runtime", ["wasmtime", "wasmtime-winch", "wasmtime-pulley", "node", "wasmer", "wasm2c-llvm",
                                     "wasmtime-cli"])
def test_every_target_refuses_memory_past_the_limit(runtime, grow, store):
    got, prov = _ask(grow, runtime, store, 32)
    assert got.startswith("got 32") and prov["memory_limit"] == LIMIT
    refused, _ = _ask(grow, runtime, store, PAST.get(runtime, 136))
    assert refused == "refused"


def test_a_limit_past_what_wasm32_can_hold_is_refused(grow, store):
    with pytest.raises(CollectError, match="more than a wasm32 memory can hold"):
        collect(CollectConfig(str(grow), results=store, memory_limit=8 << 30))


@pytest.mark.parametrize("limit", [0, -5 << 30, 1000])
def test_a_limit_below_one_page_is_refused_there_is_no_unlimited(limit, grow, store):
    with pytest.raises(CollectError, match="less than one wasm page"):
        collect(CollectConfig(str(grow), results=store, memory_limit=limit))
