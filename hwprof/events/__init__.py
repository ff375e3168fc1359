"""Event maps: per-microarchitecture event encodings and metric formulas, loaded from events/*.toml.

The package's modules, each one concern: `standard` (the standard metrics, kinds, fields and the error),
`formula` (metric formulas), `model` (Event, Metric, EventMap), `files` (finding and reading map files),
`loading` (a map with everything it extends), `mapfile` (perf's mapfile, events/cpus.toml), `matching`
(the map for a CPU) and `linting` (`hwprof events lint`). Callers use the names re-exported here.
"""

from __future__ import annotations

from hwprof.events.files import available, is_path
from hwprof.events.formula import Formula
from hwprof.events.linting import lint
from hwprof.events.loading import load
from hwprof.events.mapfile import CatalogueRow, catalogue, identity_matches, microarch_of
from hwprof.events.matching import candidates, for_cpu, for_logical_cpu, identity_report, microarch_name
from hwprof.events.model import Event, EventMap, Metric
from hwprof.events.standard import (ARM_FIELDS, CATALOGUE, GENERIC, KINDS, NOT_ON_MICROARCH, STANDARD_METRICS,
                                    TABLE1_METRICS, X86_FIELDS, EventMapError)

__all__ = ["ARM_FIELDS", "CATALOGUE", "GENERIC", "KINDS", "NOT_ON_MICROARCH", "STANDARD_METRICS", "TABLE1_METRICS",
           "X86_FIELDS", "CatalogueRow", "Event", "EventMap", "EventMapError", "Formula", "Metric", "available",
           "candidates", "catalogue", "for_cpu", "for_logical_cpu", "identity_matches", "identity_report",
           "is_path", "lint", "load", "microarch_name", "microarch_of"]
