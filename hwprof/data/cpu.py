"""Who is this CPU? Vendor/family/model/stepping on x86, MIDR fields on Arm, read from /proc/cpuinfo."""

from __future__ import annotations

import os
import platform
import re
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class CpuId:
    """The identity of one logical CPU, enough to choose an event map."""

    arch: str                 # x86_64 | aarch64 | ...
    model_name: str = ""
    vendor: str = ""          # x86: GenuineIntel / AuthenticAMD
    family: int | None = None
    model: int | None = None
    stepping: int | None = None
    implementer: int | None = None   # Arm MIDR fields
    part: int | None = None
    variant: int | None = None
    revision: int | None = None

    @property
    def perf_id(self) -> str:
        """The string perf matches its x86 mapfile against: Vendor-Family(dec)-Model(hex)-Stepping(hex)."""
        if self.vendor and self.family is not None and self.model is not None:
            step = "" if self.stepping is None else f"-{self.stepping:X}"
            return f"{self.vendor}-{self.family}-{self.model:X}{step}"
        return ""

    @property
    def midr_key(self) -> str:
        """Arm implementer:part, the key Arm event maps match on."""
        if self.implementer is not None and self.part is not None:
            return f"0x{self.implementer:02x}:0x{self.part:03x}"
        return ""

    @property
    def midr(self) -> str:
        """The MIDR_EL1 value rebuilt from its fields (architecture field fixed at 0xf)."""
        if not self.midr_key:
            return ""
        value = (self.implementer << 24) | ((self.variant or 0) << 20) | (0xF << 16) | (self.part << 4) | (self.revision or 0)
        return f"0x{value:016x}"

    @property
    def key(self) -> str:
        """The identity string shown to people: perf_id on x86, implementer:part on Arm."""
        return self.perf_id or self.midr_key or self.arch

    def to_dict(self) -> dict:
        """Plain-dict form, with the derived keys."""
        return {**asdict(self), "perf_id": self.perf_id, "midr": self.midr, "key": self.key}


def _int(text: str) -> int | None:
    try:
        return int(text, 0)
    except (TypeError, ValueError):
        return None


def parse_cpuinfo(text: str, arch: str | None = None) -> dict[int, CpuId]:
    """Parse /proc/cpuinfo text into one CpuId per logical CPU (Arm systems may mix core types)."""
    arch = arch or platform.machine()
    cpus: dict[int, CpuId] = {}
    for block in re.split(r"\n\s*\n", text.strip()):
        fields = {}
        for line in block.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                fields[k.strip()] = v.strip()
        if "processor" not in fields or not fields["processor"].isdigit():
            continue
        idx = int(fields["processor"])
        if "vendor_id" in fields:
            cpus[idx] = CpuId(arch=arch, model_name=fields.get("model name", ""), vendor=fields["vendor_id"],
                              family=_int(fields.get("cpu family")), model=_int(fields.get("model")),
                              stepping=_int(fields.get("stepping")))
        else:
            cpus[idx] = CpuId(arch=arch, model_name=fields.get("model name", ""),
                              implementer=_int(fields.get("CPU implementer")), part=_int(fields.get("CPU part")),
                              variant=_int(fields.get("CPU variant")), revision=_int(fields.get("CPU revision")))
    return cpus


OVERRIDE = "HWPROF_CPU_ID"   # force every logical CPU's identity (tests, or checking another machine's maps)
_X86_ID = re.compile(r"([A-Za-z]+)-(\d+)-([0-9A-Fa-f]+)(?:-([0-9A-Fa-f]+))?")
_MIDR = re.compile(r"0x[0-9A-Fa-f]{1,16}")
_MIDR_KEY = re.compile(r"(0x[0-9A-Fa-f]{1,2}):(0x[0-9A-Fa-f]{1,3})")
X86_VENDORS = ("GenuineIntel", "AuthenticAMD", "HygonGenuine", "CentaurHauls")


class IdentityError(ValueError):
    """A CPU identity string that is neither a perf x86 id nor an Arm MIDR."""


def parse_identity(text: str) -> CpuId:
    """A CpuId from perf's identity forms: x86 `GenuineIntel-6-CF-2` (family decimal, model and stepping hex)
    or Arm `0x00000000410fd0c0` (MIDR_EL1, as perf's arm64 mapfile writes it) or `0x41:0xd0c`."""
    text = text.strip()
    if m := _X86_ID.fullmatch(text):
        vendor, family, model, stepping = m.groups()
        if vendor not in X86_VENDORS:
            raise IdentityError(f"CPU identity {text!r}: unknown x86 vendor {vendor!r} "
                                f"(known: {', '.join(v.strip() for v in X86_VENDORS)})")
        return CpuId(arch="x86_64", model_name=f"{vendor} family {family} model 0x{int(model, 16):X}",
                     vendor=vendor, family=int(family), model=int(model, 16),
                     stepping=int(stepping, 16) if stepping else None)
    if _MIDR.fullmatch(text):
        value = int(text, 16)
        implementer, part = (value >> 24) & 0xFF, (value >> 4) & 0xFFF
        if implementer == 0:
            raise IdentityError(f"CPU identity {text!r}: a MIDR with implementer 0 names no CPU")
        return CpuId(arch="aarch64", model_name=f"Arm CPU 0x{implementer:02x}:0x{part:03x}", implementer=implementer,
                     part=part, variant=(value >> 20) & 0xF, revision=value & 0xF)
    if m := _MIDR_KEY.fullmatch(text):
        implementer, part = int(m.group(1), 16), int(m.group(2), 16)
        return CpuId(arch="aarch64", model_name=f"Arm CPU 0x{implementer:02x}:0x{part:03x}", implementer=implementer,
                     part=part)
    raise IdentityError(f"CPU identity {text!r} is not Vendor-Family-Model[-Stepping] (e.g. GenuineIntel-6-CF-2) "
                        "or an Arm MIDR (e.g. 0x00000000410fd0c0 or 0x41:0xd0c)")


def forced() -> CpuId | None:
    """The identity HWPROF_CPU_ID forces on every CPU, or None (raises IdentityError when it is malformed)."""
    text = os.environ.get(OVERRIDE, "").strip()
    if not text:
        return None
    ident = parse_identity(text)
    return CpuId(**{**asdict(ident), "model_name": f"{ident.model_name} (forced by {OVERRIDE})"})


def identify(cpu: int | None = None, cpuinfo: str | None = None) -> CpuId:
    """The identity of logical CPU `cpu` (default: the first) of this machine, unless HWPROF_CPU_ID forces one."""
    if cpuinfo is None and (override := forced()) is not None:
        return override
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    cpus = parse_cpuinfo(cpuinfo)
    if not cpus:
        return CpuId(arch=platform.machine(), model_name=platform.processor())
    if cpu is not None and cpu in cpus:
        found = cpus[cpu]
    else:
        found = cpus[min(cpus)]
    if not found.model_name and found.midr_key:
        found = CpuId(**{**asdict(found), "model_name": f"Arm CPU {found.midr_key}"})
    return found


SYSFS_PMUS = Path("/sys/bus/event_source/devices")


def parse_cpulist(text: str) -> set[int]:
    """A kernel CPU list such as '0-3,8,10-11' as a set."""
    cpus: set[int] = set()
    for part in text.strip().split(","):
        if "-" in part:
            lo, hi = part.split("-")
            cpus.update(range(int(lo), int(hi) + 1))
        elif part:
            cpus.add(int(part))
    return cpus


def core_pmus(sysfs: Path = SYSFS_PMUS) -> dict[str, set[int]]:
    """Core PMUs that name their CPUs (hybrid x86: cpu_core/cpu_atom; Arm: one per cluster)."""
    found = {}
    for dev in sorted(sysfs.glob("*")):
        cpus = dev / "cpus"
        if cpus.is_file() and (dev / "format" / "event").exists():
            found[dev.name] = parse_cpulist(cpus.read_text())
    return found


def core_pmu_of(cpu: int, sysfs: Path = SYSFS_PMUS) -> str | None:
    """The core PMU whose CPUs hold logical CPU `cpu` (cpu_core, cpu_atom, armv8_pmuv3_0, ...), or None."""
    return next((name for name, cpus in core_pmus(sysfs).items() if cpu in cpus), None)
