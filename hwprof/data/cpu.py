"""Who is this CPU? Vendor/family/model/stepping on x86, MIDR fields on Arm, read from /proc/cpuinfo."""

from __future__ import annotations

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


def identify(cpu: int | None = None, cpuinfo: str | None = None) -> CpuId:
    """The identity of logical CPU `cpu` (default: the first) of this machine."""
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
