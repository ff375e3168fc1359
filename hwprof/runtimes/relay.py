"""The relay: `python -m hwprof.runtimes.relay RESULT STDOUT -- COMMAND...`.

It runs a command-line runtime whose workload was built with WASI markers (hwprof_bench.h): each marker
is a tagged line on the runtime's stderr, and the workload waits for one byte on its stdin. The relay
reads that stderr, turns each marker into phase edges through the C helper (so perf's control, VTune's
pause/resume and the marks work as for a host of ours), answers on stdin, and passes every other stderr
byte through. Phases: startup (from starting the command to bench.start) and execute (bench.start to
bench.end). While the runtime works, the relay sleeps in a blocking read.
"""

import json
import os
import subprocess
import sys

TAG = b"\x1b[hwprof-marker:"


def relay(child, pc, result) -> None:
    """Read the child's stderr to its end, acting on markers and passing the rest through."""
    from hwprof.native import thread_affinities

    pending = b""
    seen = ""
    while True:
        chunk = os.read(child.stderr.fileno(), 65536)
        if not chunk:
            break
        pending += chunk
        while True:
            at = pending.find(TAG)
            if at < 0 or len(pending) < at + len(TAG) + 3:
                keep = len(TAG) + 2 if at < 0 else len(pending) - at
                out, pending = pending[:len(pending) - keep], pending[len(pending) - keep:]
                os.write(2, out)
                break
            os.write(2, pending[:at])
            what = pending[at + len(TAG):at + len(TAG) + 1]
            pending = pending[at + len(TAG) + 3:]
            if what == b"S" and not seen:
                pc.end("startup")
                result["threads"] = thread_affinities(child.pid)
                result["stage"] = "execute"
                pc.begin("execute")
            elif what == b"E" and seen == "S":
                pc.end("execute")
                result["stage"] = "done"
            else:
                result["error"] = f"marker {what!r} out of order after {seen or 'nothing'!r}"
            seen += what.decode(errors="replace")
            child.stdin.write(b"k")
            child.stdin.flush()
    os.write(2, pending)


def main(argv: list[str]) -> int:
    result_path, stdout_path = argv[:2]
    command = argv[argv.index("--") + 1:]
    from hwprof.native import PhaseControl, tie_to_controller
    from hwprof.pinning import die_with_parent

    if not tie_to_controller():
        return 4

    pc = PhaseControl()
    result = {"stage": "startup", "exit_code": None, "error": None, "boundary": "relayed-markers",
              "affinity": sorted(os.sched_getaffinity(0)), "threads": {}}
    with open(stdout_path, "w") as out:
        pc.begin("startup")
        child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.PIPE,
                                 preexec_fn=die_with_parent)
        relay(child, pc, result)
        child.stdin.close()
        child.wait()
    result["exit_code"] = child.returncode
    if result["stage"] == "startup":
        pc.end("startup")
        result["error"] = result["error"] or (
            "no bench.start marker arrived: the module has no WASI markers (hwprof build --target wasm-wasi-markers)"
            if child.returncode == 0 else f"the runtime exited with status {child.returncode}")
    elif result["stage"] == "execute":
        pc.end("execute")
        result["error"] = result["error"] or f"the runtime exited with status {child.returncode} before bench.end"
    result["marks"] = pc.marks()
    with open(result_path, "w") as f:
        json.dump(result, f)
    return 0 if not result["error"] else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
