"""A module's output is kept up to a bound: the start and the end of each stream, the middle counted and
dropped with a note, and the controller's memory does not grow with what the module prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hwprof.capture import Capture

DATA = Path(__file__).parent / "data" / "modules"


@pytest.fixture(scope="module")
def chatter(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("chatter") / "chatter.wasm"
    done = subprocess.run([sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2", "-s", "-o", str(out),
                           str(DATA / "chatter.c")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


def test_a_capture_keeps_the_start_and_the_end_and_counts_the_rest(tmp_path):
    cap = Capture(tmp_path / "out.txt", limit=1000)
    for i in range(3):                     # three writers in turn, as warm invocations reopen the stream
        with open(tmp_path / "out.txt", "w") as f:
            f.write(f"writer {i}\n" + "y" * 100_000 + f"\nend of writer {i}\n")
    got = cap.stop()
    text = (tmp_path / "out.txt").read_text()
    assert (tmp_path / "out.txt").is_file() and text.startswith("writer 0\n") and text.endswith("end of writer 2\n")
    assert got.total == 3 * len("writer 0\n" + "y" * 100_000 + "\nend of writer 0\n")
    assert got.dropped == got.total - 1000 - (64 << 10) and "bytes dropped here" in text
    assert "dropped" in got.note()


def _collect(chatter: Path, runtime: str, store: Path, mib_out: int, mib_err: int = 0) -> dict:
    """collect in a fresh controller; returns its JSON output, run file and own peak RSS (KiB)."""
    code = (f"import json, resource\nfrom hwprof.collect import CollectConfig, collect\n"
            f"r = collect(CollectConfig({str(chatter)!r}, runtime={runtime!r}, repetitions=1, warmup=0, "
            f"results={str(store)!r}, args=({str(mib_out)!r}, {str(mib_err)!r}), events=('task_clock',), "
            f"count_phases=('execute',), max_output=1 << 20))\n"
            f"print(json.dumps({{'run': str(r.run_files[0]), "
            f"'rss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["doc"] = json.loads(Path(out["run"]).read_text())
    return out


@pytest.mark.parametrize("runtime", ["wasmtime", "node", "wasmtime-cli"])
def test_a_module_printing_hundreds_of_mib_costs_the_controller_nothing(runtime, chatter, tmp_path):
    quiet = _collect(chatter, runtime, tmp_path / "quiet", 0)
    loud = _collect(chatter, runtime, tmp_path / "loud", 300, 50)
    pin = loud["doc"]["provenance"]["pinning"]
    assert pin["checksum"] == str(350 * 1024)                      # the last line survives in the kept tail
    out_file = "process-stdout.txt" if runtime == "wasmtime-cli" else "stdout.txt"
    assert pin["output"][out_file]["bytes"] > 300 << 20 and pin["output"][out_file]["dropped"] > 290 << 20
    notes = [r["note"] for r in loud["doc"]["records"] if r["name"] == "wall_time" and r["phase"] in ("execute", "total")]
    assert notes and all("dropped" in n for n in notes)
    assert loud["rss_kib"] < quiet["rss_kib"] + 40 * 1024, (quiet["rss_kib"], loud["rss_kib"])
