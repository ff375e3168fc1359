"""What every event map shares: the standard metrics reports look up, event kinds, perf's format fields, the error."""

from __future__ import annotations

GENERIC = "generic"
CATALOGUE = "cpus"        # events/cpus.toml: perf's mapfile as data, not an event map
KINDS = ("core", "generic", "software", "simulated")
# The study's Table I columns in its order (with the L1I miss rate between), then the other metrics
# reports look up by name.
TABLE1_METRICS = ("dsb_misses", "dsb_hits", "dsb_miss_rate", "l1i_misses", "l1i_hits", "l1i_miss_rate",
                  "dsb_to_l1i_ref_ratio")
STANDARD_METRICS = ("ipc", "branch_miss_rate", "branch_mpki", "l1i_mpki", "l1d_miss_rate") + TABLE1_METRICS
# Encoding fields perf's sysfs format files define for core PMUs (x86 Intel and AMD; Arm PMUv3).
X86_FIELDS = ("event", "umask", "cmask", "inv", "edge", "any", "pc", "in_tx", "in_tx_cp", "ldlat", "frontend",
              "offcore_rsp")
ARM_FIELDS = ("event",)
NOT_ON_MICROARCH = "not on this microarchitecture"


class EventMapError(Exception):
    """An event map that cannot be found, read or resolved."""
