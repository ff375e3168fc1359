"""What a sweep is made of: its config, one task per simulated point, and what a finished point gives.

Every other module of the sweep (plan, run, records and the simulators) imports these; they import nothing
of the sweep, so no module of it imports another in a circle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hwprof.data.schema import Record

KINDS = ("l1i", "l1d", "bp")


class SweepError(Exception):
    """A sweep that cannot be planned or run, with the one line that says why."""


@dataclass(frozen=True)
class SweepConfig:
    """Everything a sweep needs, parsed from the command line or built by a script."""

    kind: str                                   # l1i | l1d | bp
    simulator: str = "gem5"                     # a name in hwprof.gem5.simulators.SIMULATORS
    sizes: tuple[str, ...] = ()                 # cache sizes (empty: the default sweep)
    predictors: tuple[str, ...] = ()            # branch predictors (empty: the study's three)
    workloads: tuple[str, ...] = ("2mm",)
    size: str | None = None                     # the workloads' size; None: small where it has one, else its default
    targets: tuple[str, ...] = ()               # empty: the simulator's default targets
    outdir: Path = Path("results/gem5-sweep")   # per-point folders (configs, m5out) and figures (--out)
    results: Path = Path("results/default")     # the tidy rows
    gem5: str | None = None                     # gem5 binary; None: gem5.opt on PATH, else the shared one
    isa: str = "x86"
    checkpoint: bool = False                    # gem5: fast-forward to the ROI once, restore it per point
    executor: str = "local"                     # local | dask
    workers: int | None = None
    scheduler: str | None = None                # dask scheduler address; None: a LocalCluster
    timeout: float = 3600.0                     # seconds one simulation may run
    write_only: bool = False                    # write the configurations, run nothing
    # FS mode (gem5): the user's kernel and disk image; fs_command runs in the guest through readfile
    # ({workload} and {size} are filled in per workload), bracketed by m5 workbegin / workend.
    fs_kernel: str | None = None
    fs_disk: str | None = None
    fs_command: str | None = None


@dataclass(frozen=True)
class Task:
    """One simulation: a workload on a target at one sweep point (or the checkpoint run of a pair)."""

    simulator: str                              # its key in hwprof.gem5.simulators.SIMULATORS
    point: object                               # hwprof.gem5.config.SweepPoint
    workload: str
    size: str
    target: str
    folder: Path
    config_path: Path
    gem5: str = ""
    timeout: float = 3600.0
    restore: Path | None = None                 # gem5: the checkpoint this point starts from
    checkpoint: Path | None = None              # gem5: this task takes the checkpoint (no rows)
    binary: str = ""                            # gem5: the SE binary the configuration runs

    @property
    def label(self) -> str:
        """A short human name: workload/target setting."""
        what = "checkpoint" if self.checkpoint else self.point.setting()
        return f"{self.workload}/{self.target} {what}"


@dataclass
class PointResult:
    """What one finished point gave: its rows and the provenance of its run file."""

    records: list[Record]
    provenance: dict
