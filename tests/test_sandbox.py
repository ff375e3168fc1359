"""The sandbox rule on every target: a preopened folder is a jail. No link may lead a module out of it, and no
module may make one. Tried with real links to /etc and to the folder's parent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hwprof.collect import CollectConfig, CollectError, collect
from hwprof.data.store import read_run
from hwprof.sandbox import risky_links

DATA = Path(__file__).parent / "data" / "modules"


@pytest.fixture(scope="module")
def jail_wasm(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("jail") / "jail.wasm"
    done = subprocess.run([sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2", "-s", "-o", str(out),
                           str(DATA / "jail.c")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture
def folder(tmp_path) -> Path:
    """HOST/share with a file, an inside link, a link to /etc and one to the folder's parent (holding a secret)."""
    (tmp_path / "secret.txt").write_text("beside the folder\n")
    share = tmp_path / "share"
    share.mkdir()
    (share / "in.txt").write_text("hello\n")
    (share / "inside").symlink_to("in.txt")
    return share


def _run(wasm, runtime, share, store, *args):
    result = collect(CollectConfig(str(wasm), runtime=runtime, repetitions=1, warmup=0, results=store,
                                   dirs=((str(share), "/data"),), args=args, events=("task_clock",),
                                   count_phases=("execute",)))
    return read_run(result.run_files[0])["provenance"]["pinning"]["checksum"]


def test_links_that_lead_or_could_be_moved_out_are_found_and_descending_ones_are_not(folder):
    assert risky_links(folder) == []
    (folder / "sub").mkdir()
    (folder / "sub" / "down").symlink_to("../in.txt")      # inside today, outside once moved to the top
    (folder / "sub" / "deeper").symlink_to("x/y")          # descends: inside wherever it goes
    (folder / "linkdir").symlink_to("/etc")
    (folder / "linkup").symlink_to("..")
    (folder / "dangling").symlink_to("../nowhere")
    found = dict(risky_links(folder))
    assert set(found) == {str(folder / n) for n in ("linkdir", "linkup", "dangling", "sub/down")}
    assert found[str(folder / "linkdir")] == "/etc"


@pytest.mark.parametrize("runtime", ["wasmtime", "wasmtime-cli"])
def test_wasmtime_targets_confine_links_themselves(runtime, jail_wasm, folder, store):
    (folder / "linkdir").symlink_to("/etc")
    (folder / "linkup").symlink_to("..")
    assert _run(jail_wasm, runtime, folder, store, "read", "/data/inside") == "read 6"
    for escape in ("/data/linkdir/passwd", "/data/linkup/secret.txt"):
        assert _run(jail_wasm, runtime, folder, store, "read", escape).startswith("denied")


@pytest.mark.parametrize("runtime", ["node", "node-liftoff", "node-turbofan", "wasmer"])
def test_targets_that_follow_links_refuse_a_folder_with_one_leading_out(runtime, jail_wasm, folder, store):
    assert _run(jail_wasm, runtime, folder, store, "read", "/data/inside") == "read 6"   # inside links are fine
    (folder / "linkup").symlink_to("..")
    with pytest.raises(CollectError, match=f"--dir {folder} holds a link that leads out of it: {folder}/linkup -> "
                                           rf"\.\.; the {runtime} target would follow it"):
        _run(jail_wasm, runtime, folder, store, "read", "/data/linkup/secret.txt")


@pytest.mark.parametrize("runtime", ["wasmtime", "wasmtime-winch", "node"])
def test_no_module_may_make_a_link_in_a_preopened_folder(runtime, jail_wasm, folder, store):
    assert _run(jail_wasm, runtime, folder, store, "link", "../..", "/data/up") == "link Operation not permitted"
    assert not os.path.lexists(folder / "up")


def test_a_link_another_runtime_made_is_refused_by_the_next_node_run(jail_wasm, folder, store):
    """wasmtime's own CLI lets a module make a link (it only refuses to follow it out): node must not follow it."""
    assert _run(jail_wasm, "wasmtime-cli", folder, store, "link", "../..", "/data/up") == "link made"
    assert _run(jail_wasm, "wasmtime-cli", folder, store, "read", "/data/up/etc/passwd").startswith("denied")
    with pytest.raises(CollectError, match="holds a link that leads out of it"):
        _run(jail_wasm, "node", folder, store, "read", "/data/up/etc/passwd")
