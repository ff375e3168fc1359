"""gem5 configurations (golden files) and SE binaries, without gem5: the configurations are checked against
gem5 v24.0's documented rules, the binaries are built and inspected for their m5 ops. (test_gem5_real.py
runs them in a real gem5 where there is one.)

Regenerate the golden files after a reviewed change:  HWPROF_REGEN_GOLDEN=1 .venv/bin/python -m pytest -q
tests/test_gem5_config.py  (then review `git diff gem5_configs/golden`).
"""

import os
import re
import shutil
import signal
import struct
import subprocess
from pathlib import Path

import pytest

from hwprof.gem5 import GEM5_VERSION
from hwprof.gem5.config import ConfigError, SweepPoint, render_fs, render_se, sweep_points, write_config

pytestmark = pytest.mark.quick   # part of the quick subset: python -m pytest -m quick

GOLDEN = Path(__file__).resolve().parents[1] / "gem5_configs" / "golden"
NATIVE = "/opt/hwprof/gem5/2mm-large-native-x86"
W2C = "/opt/hwprof/gem5/2mm-large-wasm2c-x86"
CASES = {
    "se-l1i.py": lambda: render_se(SweepPoint("l1i", l1i_size="16KiB"), NATIVE, []),
    "se-l1d.py": lambda: render_se(SweepPoint("l1d", l1d_size="64KiB"), W2C, []),
    "se-bp-LocalBP.py": lambda: render_se(SweepPoint("bp", bp="LocalBP"), NATIVE, []),
    "se-bp-BiModeBP.py": lambda: render_se(SweepPoint("bp", bp="BiModeBP"), NATIVE, []),
    "se-bp-TournamentBP.py": lambda: render_se(SweepPoint("bp", bp="TournamentBP"), NATIVE, []),
    "se-checkpoint.py": lambda: render_se(SweepPoint("l1i"), W2C, [], checkpoint="/scratch/ckpt/2mm-wasm2c"),
    "se-restore-l1i.py": lambda: render_se(SweepPoint("l1i", l1i_size="8KiB"), W2C, [],
                                           restore="/scratch/ckpt/2mm-wasm2c"),
    "se-arm-l1i.py": lambda: render_se(SweepPoint("l1i", l1i_size="128KiB"), "/opt/hwprof/gem5/2mm-arm", [],
                                       isa="arm"),
    "fs-readfile.py": lambda: render_fs(SweepPoint("l1i", l1i_size="16KiB"), "/images/vmlinux-5.4.49",
                                        "/images/x86-ubuntu-wasm.img",
                                        "wasmtime run --dir /home/gem5 /home/gem5/2mm.wasm"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendered_configuration_matches_golden_file(name):
    text = CASES[name]()
    if os.environ.get("HWPROF_REGEN_GOLDEN"):
        write_config(text, GOLDEN / name)
    assert (GOLDEN / name).read_text() == text, f"{name} changed: review it, regenerate (see module docstring)"


def test_golden_directory_has_no_stray_files():
    assert sorted(p.name for p in GOLDEN.glob("*.py")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_file_is_python_naming_gem5_version(name):
    text = (GOLDEN / name).read_text()
    compile(text, name, "exec")
    assert f"gem5 v{GEM5_VERSION} standard library" in text
    assert "$" not in text                                  # every template field was filled


def _gem5_bytes(size: str) -> int:
    """gem5's memory size rule, written independently: digits, optional k/Ki/M/Mi/G/Gi, then B."""
    m = re.fullmatch(r"(\d+)(k|Ki|M|Mi|G|Gi)?B", size)
    assert m, f"{size!r} is not a gem5 memory size"
    return int(m.group(1)) * {None: 1, "k": 1024, "Ki": 1024, "M": 2**20, "Mi": 2**20, "G": 2**30, "Gi": 2**30}[m.group(2)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_cache_in_golden_file_obeys_gem5_rules(name):
    text = (GOLDEN / name).read_text()
    caches = re.findall(r"Cache\(size=['\"]([^'\"]+)['\"], assoc=(\d+)", text)
    assert len(caches) == 4                                   # L1I, L1D, L2, I/O cache
    for size, assoc in caches:
        sets = _gem5_bytes(size) / (64 * int(assoc))
        assert sets == int(sets) and int(sets) & (int(sets) - 1) == 0, f"{size}/(64x{assoc}) = {sets}"
    assert not re.search(r"\d+KB", text)
    line = re.search(r"CACHE_LINE = (\d+)", text)
    assert line and line.group(1) == "64"


def test_swept_size_is_in_the_file():
    assert "Cache(size='16KiB', assoc=8" in (GOLDEN / "se-l1i.py").read_text()
    assert "Cache(size='64KiB', assoc=8" in (GOLDEN / "se-l1d.py").read_text()


def _predictor_call(text: str) -> tuple[str, dict[str, int]]:
    body = re.search(r"def branch_predictor\(\):.*?return (\w+)\((.*?)\n    \)", text, re.DOTALL)
    assert body, "no branch_predictor() in the file"
    params = {k: int(v) for k, v in re.findall(r"(\w+)=(?:\w+\()?(\d+)", body.group(2))}
    return body.group(1), params


def test_branch_predictors_match_table_iii():
    """The study: BTB 2048 entries; bi-mode global and choice 2K; tournament local/global/choice 1K/4K/4K."""
    expected = {
        "LocalBP": {"localPredictorSize": 2048, "localCtrBits": 2},
        "BiModeBP": {"globalPredictorSize": 2048, "choicePredictorSize": 2048, "globalCtrBits": 2},
        "TournamentBP": {"localPredictorSize": 1024, "localHistoryTableSize": 1024,
                         "globalPredictorSize": 4096, "choicePredictorSize": 4096},
    }
    for bp, tables in expected.items():
        name, params = _predictor_call((GOLDEN / f"se-bp-{bp}.py").read_text())
        assert name == bp
        assert {k: params[k] for k in tables} == tables
        assert re.search(r"btb=SimpleBTB\(numEntries=2048\)", (GOLDEN / f"se-bp-{bp}.py").read_text())


def test_roi_handlers_and_checkpoint_modes():
    full = (GOLDEN / "se-l1i.py").read_text()
    assert "ExitEvent.WORKBEGIN: at_work_begin, ExitEvent.WORKEND: at_work_end" in full
    assert "m5.stats.reset()" in full and "m5.stats.dump()" in full and "checkpoint=None" in full
    ckpt = (GOLDEN / "se-checkpoint.py").read_text()
    assert 'RUN = "checkpoint"' in ckpt and "CPUTypes.ATOMIC" in ckpt
    restore = (GOLDEN / "se-restore-l1i.py").read_text()
    assert "checkpoint=Path('/scratch/ckpt/2mm-wasm2c')" in restore and "CPUTypes.O3" in restore


def test_fs_configuration_passes_the_command_through_readfile():
    text = (GOLDEN / "fs-readfile.py").read_text()
    script = re.search(r"readfile_contents=('.*?'),\n", text).group(1)
    assert eval(script).splitlines() == ["#!/bin/sh", "m5 workbegin",
                                         "wasmtime run --dir /home/gem5 /home/gem5/2mm.wasm", "m5 workend", "m5 exit"]
    assert "X86Board(" in text and "KernelResource(local_path='/images/vmlinux-5.4.49')" in text
    unwrapped = render_fs(SweepPoint("l1i"), "/k", "/d", "./2mm", wrap_roi=False)
    assert "readfile_contents='#!/bin/sh\\n./2mm\\nm5 exit\\n'" in unwrapped


def test_sweep_points_defaults():
    l1i = sweep_points("l1i")
    sizes = [_gem5_bytes(p.l1i_size) for p in l1i]
    assert len(l1i) >= 5 and sizes == sorted(sizes) and all(s & (s - 1) == 0 for s in sizes)
    assert sizes[0] == 8 * 1024 and sizes[-1] == 128 * 1024
    assert [p.bp for p in sweep_points("bp")] == ["LocalBP", "BiModeBP", "TournamentBP"]
    assert [p.key() for p in sweep_points("l1d", ["16KiB", "32kB"])] == ["l1d-16KiB", "l1d-32kB"]
    assert sweep_points("l1i", ["16KiB"])[0].setting() == "l1i_size=16KiB"
    assert SweepPoint("bp", bp="BiModeBP").setting() == "bp=BiModeBP"
    assert SweepPoint("bp", bp="BiModeBP").key() == "bp-BiModeBP"


@pytest.mark.parametrize("make, words", [
    (lambda: SweepPoint("l1i", l1i_size="32KB"), "32KB"),
    (lambda: SweepPoint("l1d", l1d_size="48KiB"), "power of two"),
    (lambda: SweepPoint("l1i", l1i_size="32KiB", l1i_assoc=3), "power of two"),
    (lambda: SweepPoint("l1i", l1i_assoc=0), "associativity"),
    (lambda: SweepPoint("bp", bp="GShareBP"), "GShareBP"),
    (lambda: SweepPoint("l3"), "l3"),
    (lambda: SweepPoint("bp", btb_entries=3000), "btb_entries"),
    (lambda: SweepPoint("bp", tournament_global_size=5000), "tournament_global_size"),
    (lambda: sweep_points("bp", sizes=["8KiB"]), "bp"),
    (lambda: sweep_points("l1i", predictors=["LocalBP"]), "predictors"),
    (lambda: render_se(SweepPoint("l1i"), "/b", [], isa="mips"), "mips"),
    (lambda: render_se(SweepPoint("l1i"), "/b", [], checkpoint="/c", restore="/c"), "not both"),
    (lambda: render_fs(SweepPoint("l1i"), "/k", "/d", "ls", isa="arm"), "x86"),
    (lambda: render_fs(SweepPoint("l1i"), "/k", "/d", "  "), "command"),
])
def test_bad_input_raises_one_line_config_error(make, words):
    with pytest.raises(ConfigError) as err:
        make()
    assert "\n" not in str(err.value) and words in str(err.value)


def test_write_config_is_atomic(tmp_path):
    path = write_config("print('hi')\n", tmp_path / "sub" / "x.py")
    assert path.read_text() == "print('hi')\n"
    write_config("print('again')\n", path)
    assert path.read_text() == "print('again')\n"
    assert [p.name for p in path.parent.iterdir()] == ["x.py"]


# ---- SE binaries ---------------------------------------------------------------------------------

def _function_bytes(path: Path, name: str) -> bytes:
    """The bytes of a function, from an ELF64 little-endian file's .symtab (any ISA)."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    symtab = next(s for s in sections if s[1] == 2)            # SHT_SYMTAB
    strtab = sections[symtab[6]]
    for off in range(symtab[4], symtab[4] + symtab[5], 24):
        st_name, _info, _other, shndx, value, size = struct.unpack_from("<IBBHQQ", data, off)
        end = data.index(b"\0", strtab[4] + st_name)
        if data[strtab[4] + st_name:end].decode() == name:
            sec = sections[shndx]
            start = sec[4] + value - sec[3]
            return data[start:start + size]
    raise AssertionError(f"{name} not in {path.name}'s symbol table")


M5_OPS = {"x86": (bytes.fromhex("0f045a00"), bytes.fromhex("0f045b00")),
          "arm": ((0xFF5A0110).to_bytes(4, "little"), (0xFF5B0110).to_bytes(4, "little"))}
ARCH_WORDS = {"x86": "x86-64", "arm": "aarch64"}


@pytest.fixture(scope="module")
def binaries_module():
    from hwprof.gem5 import binaries
    return binaries


@pytest.mark.parametrize("isa", ["x86", "arm"])
@pytest.mark.parametrize("kind", ["native", "wasm2c"])
def test_se_binary_is_static_with_m5_work_begin_and_end(binaries_module, kind, isa):
    path = binaries_module.se_binary("2mm", "mini", kind=kind, isa=isa)
    described = subprocess.run(["file", "-b", str(path)], check=False, capture_output=True, text=True).stdout
    assert "statically linked" in described and ARCH_WORDS[isa] in described, described
    begin, end = M5_OPS[isa]
    assert begin in _function_bytes(path, "bench_start")
    assert end in _function_bytes(path, "bench_end")
    assert begin not in _function_bytes(path, "bench_end")


@pytest.mark.parametrize("kind", ["native", "wasm2c"])
def test_se_binary_with_noop_markers_runs_and_prints_the_checksum(binaries_module, kind):
    from hwprof.workloads import catalogue
    path = binaries_module.se_binary("2mm", "mini", kind=kind, markers="none")
    assert b"\x0f\x04\x5a\x00" not in _function_bytes(path, "bench_start")
    done = subprocess.run([str(path), *binaries_module.se_arguments("2mm", "mini")], check=False,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"checksum: {catalogue()['workload']['2mm']['expected']['mini']}" in done.stdout


@pytest.mark.skipif(__import__("platform").machine() != "x86_64", reason="runs the x86-64 build")
def test_m5_build_executes_its_m5_op_at_bench_start(binaries_module):
    """Outside gem5 the m5 op is an undefined instruction: the process dies with SIGILL, after its set-up."""
    path = binaries_module.se_binary("2mm", "mini", kind="wasm2c")
    done = subprocess.run([str(path)], check=False, capture_output=True, timeout=60)
    assert done.returncode == -signal.SIGILL


# gem5 v24.0 src/arch/x86/linux/syscall_tbl64.cc: the calls it implements (or deliberately ignores)
# among those a static musl program may make.
GEM5_X86_64_SE = {"read", "write", "open", "close", "stat", "fstat", "lstat", "poll", "lseek", "mmap", "mprotect",
                  "munmap", "brk", "rt_sigaction", "rt_sigprocmask", "ioctl", "pread64", "pwrite64", "readv",
                  "writev", "access", "sched_yield", "mremap", "madvise", "dup", "dup2", "nanosleep", "getpid",
                  "execve", "exit", "uname", "fcntl", "getcwd", "gettimeofday", "getrlimit", "getrusage",
                  "sysinfo", "times", "getuid", "getgid", "geteuid", "getegid", "sigaltstack", "prctl",
                  "arch_prctl", "setrlimit", "gettid", "time", "futex", "sched_setaffinity", "sched_getaffinity",
                  "getdents64", "set_tid_address", "clock_gettime", "clock_getres", "exit_group", "tgkill",
                  "openat", "newfstatat", "set_robust_list", "prlimit64", "getrandom", "statx", "rseq"}


@pytest.mark.skipif(shutil.which("strace") is None or __import__("platform").machine() != "x86_64",
                    reason="needs strace on x86-64")
@pytest.mark.parametrize("kind", ["native", "wasm2c"])
def test_se_binary_makes_only_system_calls_gem5_se_implements(binaries_module, kind, tmp_path):
    path = binaries_module.se_binary("2mm", "mini", kind=kind, markers="none")
    log = tmp_path / "strace.txt"
    subprocess.run(["strace", "-f", "-qq", "-o", str(log), str(path)], capture_output=True, timeout=120, check=True)
    calls = {m.group(1) for m in re.finditer(r"^(?:\d+\s+)?(\w+)\(", log.read_text(), re.MULTILINE)}
    assert calls and calls <= GEM5_X86_64_SE, calls - GEM5_X86_64_SE


def test_se_binary_bad_input_is_one_line(binaries_module):
    for call, words in ((lambda: binaries_module.se_binary("nope", None), "nope"),
                        (lambda: binaries_module.se_binary("2mm", "huge"), "huge"),
                        (lambda: binaries_module.se_binary("2mm", "mini", kind="wasmtime"), "wasmtime"),
                        (lambda: binaries_module.se_binary("2mm", "mini", isa="riscv"), "riscv")):
        with pytest.raises(binaries_module.BinaryError) as err:
            call()
        assert "\n" not in str(err.value) and words in str(err.value)
