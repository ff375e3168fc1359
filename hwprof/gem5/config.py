"""gem5 configurations for cache and branch-predictor sweeps, generated as standard-library Python files.

Each file simulates one machine (a SweepPoint): an O3 core, private L1I / L1D / L2 classic caches and a
branch predictor, every parameter written out. SE mode runs a static binary (binaries.py); FS mode boots a
user's kernel and disk image and runs a command given through gem5's readfile. The statistics are reset
at m5 work_begin and dumped at work_end, so the first stats.txt block is the kernel (stats.roi).
Templates live in hwprof/gem5/templates/; see gem5_configs/README.md for gem5 version differences.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import asdict, dataclass
from pathlib import Path
from string import Template

from hwprof.data.store import atomic_write_text
from hwprof.data.units import parse_size
from hwprof.gem5 import GEM5_VERSION

TEMPLATES = Path(__file__).with_name("templates")
KINDS = ("l1i", "l1d", "bp")
PREDICTORS = ("LocalBP", "BiModeBP", "TournamentBP")
DEFAULT_CACHE_SIZES = ("8KiB", "16KiB", "32KiB", "64KiB", "128KiB")   # Fig. 11 names none: powers of two
BLOCK_SIZE = 64
ISAS = {"x86": "X86", "x86_64": "X86", "arm": "ARM", "aarch64": "ARM", "arm64": "ARM"}
# gem5's memory sizes (m5.util.convert.toMemorySize): binary multiples, "k" = "Ki" = 1024, no "K".
_SIZE = re.compile(r"(\d+)(k|Ki|M|Mi|G|Gi)?B")


class ConfigError(Exception):
    """A sweep point or configuration gem5 would reject, said in one line."""


def size_bytes(text: str) -> int:
    """Bytes in a gem5 memory size such as '32KiB' or '32kB' ('32KB' is not gem5's spelling)."""
    found = _SIZE.fullmatch(str(text))
    if not found or int(found.group(1)) == 0:
        raise ConfigError(f"bad size {text!r}: gem5 writes sizes like 32kB, 32KiB or 1MiB (not 32KB)")
    return parse_size(text)        # gem5's spelling checked above; the bytes from the one size parser


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def check_cache(level: str, size: str, assoc: int) -> None:
    """Raise ConfigError unless size / (64 x assoc) is a whole power of two (gem5's number of sets)."""
    if not isinstance(assoc, int) or assoc <= 0:
        raise ConfigError(f"{level} associativity {assoc!r} is not a positive whole number")
    sets, rest = divmod(size_bytes(size), BLOCK_SIZE * assoc)
    if rest or not _power_of_two(sets):
        raise ConfigError(f"{level} size {size} with {assoc} ways: size/(64 x {assoc}) is "
                          f"{size_bytes(size) / (BLOCK_SIZE * assoc):g} sets, not a power of two")


@dataclass(frozen=True)
class SweepPoint:
    """One simulated machine: cache geometry and branch predictor (defaults: the study's Table III)."""

    kind: str
    l1i_size: str = "32KiB"
    l1i_assoc: int = 8
    l1d_size: str = "32KiB"
    l1d_assoc: int = 8
    l2_size: str = "1MiB"
    l2_assoc: int = 16
    bp: str = "TournamentBP"
    btb_entries: int = 2048
    local_size: int = 2048              # LocalBP counters (the study gives none: gem5's default)
    bimode_global_size: int = 2048
    bimode_choice_size: int = 2048
    tournament_local_size: int = 1024   # local counters and local history table entries
    tournament_global_size: int = 4096
    tournament_choice_size: int = 4096

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown sweep kind {self.kind!r} (choose from: {', '.join(KINDS)})")
        if self.bp not in PREDICTORS:
            raise ConfigError(f"unknown branch predictor {self.bp!r} (choose from: {', '.join(PREDICTORS)})")
        check_cache("L1I", self.l1i_size, self.l1i_assoc)
        check_cache("L1D", self.l1d_size, self.l1d_assoc)
        check_cache("L2", self.l2_size, self.l2_assoc)
        for name in ("btb_entries", "local_size", "bimode_global_size", "bimode_choice_size",
                     "tournament_local_size", "tournament_global_size", "tournament_choice_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or not _power_of_two(value):
                raise ConfigError(f"{name} = {value!r}: gem5 needs a power of two")

    def key(self) -> str:
        """A filesystem-safe id, e.g. 'l1i-16KiB' or 'bp-BiModeBP'."""
        return {"l1i": f"l1i-{self.l1i_size}", "l1d": f"l1d-{self.l1d_size}", "bp": f"bp-{self.bp}"}[self.kind]

    def setting(self) -> str:
        """The swept setting as a tidy row's `sweep` text, e.g. 'l1i_size=16KiB' or 'bp=BiModeBP'."""
        return {"l1i": f"l1i_size={self.l1i_size}", "l1d": f"l1d_size={self.l1d_size}",
                "bp": f"bp={self.bp}"}[self.kind]


def sweep_points(kind: str, sizes: list[str] | None = None, predictors: list[str] | None = None
                 ) -> list[SweepPoint]:
    """The machines of one sweep: L1I or L1D sizes (8KiB..128KiB) or the three predictors of Table III."""
    if kind not in KINDS:
        raise ConfigError(f"unknown sweep kind {kind!r} (choose from: {', '.join(KINDS)})")
    if kind == "bp":
        if sizes:
            raise ConfigError("cache sizes apply to the l1i and l1d sweeps, not to bp")
        return [SweepPoint("bp", bp=p) for p in (predictors or PREDICTORS)]
    if predictors:
        raise ConfigError(f"predictors apply to the bp sweep, not to {kind}")
    return [SweepPoint(kind, **{f"{kind}_size": s}) for s in (sizes or DEFAULT_CACHE_SIZES)]


def isa_name(isa: str) -> str:
    """gem5's ISA enum name ('X86' or 'ARM') for x86 / x86_64 / arm / aarch64."""
    try:
        return ISAS[isa.lower()]
    except (KeyError, AttributeError):
        raise ConfigError(f"unknown ISA {isa!r} (choose from: x86, arm)") from None


def _predictor(p: SweepPoint) -> str:
    """The branch predictor's constructor call, every table written out (2-bit counters throughout)."""
    tables = {
        "LocalBP": [("localPredictorSize", p.local_size), ("localCtrBits", 2)],
        "BiModeBP": [("globalPredictorSize", p.bimode_global_size), ("globalCtrBits", 2),
                     ("choicePredictorSize", p.bimode_choice_size), ("choiceCtrBits", 2)],
        "TournamentBP": [("localPredictorSize", p.tournament_local_size), ("localCtrBits", 2),
                         ("localHistoryTableSize", p.tournament_local_size),
                         ("globalPredictorSize", p.tournament_global_size), ("globalCtrBits", 2),
                         ("choicePredictorSize", p.tournament_choice_size), ("choiceCtrBits", 2)],
    }[p.bp]
    lines = [f"{name}={value}," for name, value in tables]
    lines += [f"btb=SimpleBTB(numEntries={p.btb_entries}),", "ras=ReturnAddrStack(numEntries=16),"]
    return f"{p.bp}(\n" + "".join(f"        {line}\n" for line in lines) + "    )"


def _m5_objects(p: SweepPoint) -> str:
    names = sorted(["BadAddr", "Cache", "L2XBar", "LRURP", "ReturnAddrStack", "SimpleBTB", "SystemXBar", p.bp],
                   key=str.lower)
    return "".join(f"    {name},\n" for name in names)


SE_IMPORTS = """from gem5.components.boards.simple_board import SimpleBoard
from gem5.components.processors.simple_processor import SimpleProcessor
from gem5.resources.resource import BinaryResource"""
FS_IMPORTS = """from gem5.components.boards.x86_board import X86Board
from gem5.components.processors.simple_switchable_processor import SimpleSwitchableProcessor
from gem5.resources.resource import DiskImageResource, KernelResource"""
MODE_TEXT = {"full": "SE mode, full run", "checkpoint": "SE mode, checkpoint run (save at work_begin, exit)",
             "restore": "SE mode, restored from a checkpoint", "fs": "FS mode"}


def _common(point: SweepPoint, isa: str, mode: str) -> dict[str, str]:
    fields = ", ".join(f"{k}={v}" for k, v in asdict(point).items())
    return {"gem5_version": GEM5_VERSION, "mode": mode, "mode_text": MODE_TEXT[mode], "key": point.key(),
            "setting": point.setting(), "m5_objects": _m5_objects(point),
            "stdlib_imports": "" if mode == "fs" else "from pathlib import Path\n\n", "mode_imports": FS_IMPORTS if mode == "fs" else SE_IMPORTS,
            "point": textwrap.fill(fields, 106, initial_indent="#   ", subsequent_indent="#   "),
            "isa": isa_name(isa), "predictor": _predictor(point),
            "l1i_size": repr(point.l1i_size), "l1i_assoc": str(point.l1i_assoc),
            "l1d_size": repr(point.l1d_size), "l1d_assoc": str(point.l1d_assoc),
            "l2_size": repr(point.l2_size), "l2_assoc": str(point.l2_assoc)}


def _render(template: str, values: dict[str, str]) -> str:
    machine = Template((TEMPLATES / "machine.py.in").read_text()).substitute(values)
    return Template((TEMPLATES / template).read_text()).substitute(values, machine=machine)


def render_se(point: SweepPoint, binary: str, args: list[str], isa: str = "x86", checkpoint: str | None = None,
              restore: str | None = None) -> str:
    """A complete gem5 v24.0 SE-mode configuration running `binary args` on the point's machine.

    checkpoint: fast-forward (atomic CPU) to work-begin, save a checkpoint in that folder and exit.
    restore: start from such a checkpoint with the O3 core; statistics then cover restore..work-end.
    """
    if checkpoint and restore:
        raise ConfigError("give checkpoint (to save one) or restore (to start from one), not both")
    if not binary:
        raise ConfigError("render_se needs the path of a static binary")
    mode = "checkpoint" if checkpoint else "restore" if restore else "full"
    values = _common(point, isa, mode)
    values.update(binary=repr(str(binary)), arguments=repr([str(a) for a in args]),
                  cpu_type="ATOMIC" if checkpoint else "O3",
                  checkpoint_dir=repr(str(checkpoint or restore or "")),
                  restore_arg=f"Path({str(restore)!r})" if restore else "None")
    return _render("se.py.in", values)


def render_fs(point: SweepPoint, kernel: str, disk: str, command: str, isa: str = "x86",
              root_partition: str | None = "1", wrap_roi: bool = True) -> str:
    """A complete gem5 v24.0 FS-mode (X86Board) configuration booting kernel + disk and running `command`.

    The command reaches the guest through readfile; wrap_roi brackets it with `m5 workbegin` /
    `m5 workend` (the guest needs gem5's m5 utility) for commands that do not mark their kernel themselves.
    """
    if isa_name(isa) != "X86":
        raise ConfigError("FS mode is generated for x86 only (ArmBoard also needs a bootloader and platform)")
    if not kernel or not disk or not command or not command.strip():
        raise ConfigError("render_fs needs a kernel, a disk image and a command")
    script = ["#!/bin/sh"]
    script += ["m5 workbegin", command.strip(), "m5 workend"] if wrap_roi else [command.strip()]
    script += ["m5 exit", ""]
    values = _common(point, isa, "fs")
    values.update(kernel=repr(str(kernel)), disk=repr(str(disk)), root_partition=repr(root_partition),
                  readfile=repr("\n".join(script)))
    return _render("fs.py.in", values)


def write_config(text: str, path) -> Path:
    """Write a generated configuration atomically (temporary file + rename) and return its path."""
    return atomic_write_text(path, text)
