"""`hwprof doctor`: what this machine can measure, and with which tools and runtimes."""

from __future__ import annotations

import sys
from importlib import metadata

from hwprof import events, noise, pinning, runtimes
from hwprof.backends import BackendError
from hwprof.backends.perf import probe_pmu
from hwprof.data import provenance
from hwprof.data.cpu import core_pmu_of, identify

def _package(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def diagnose(cpu: int | None = None) -> dict:
    """Everything doctor reports, as a plain dict."""
    index = pinning.choose_cpu(cpu)
    ident = identify(index)
    emap = events.for_logical_cpu(index)
    report = {
        "cpu": {**ident.to_dict(), "index": index, "core_pmu": core_pmu_of(index) or ""},
        "microarch": events.microarch_name(ident, emap),
        "microarch_title": emap.title,
        "event_map": str(emap.path),
        "event_map_name": emap.name,
        "kernel": provenance.machine(index)["kernel"],
        "perf": {"version": provenance.perf_version(), "paranoid": provenance.paranoid_level()},
        "valgrind": provenance.tool_version(["valgrind", "--version"]),
        "runtimes": runtime_report(),
        "noise": noise.sources(index),
        "toolchain": {"zig (python package ziglang)": _package("ziglang"), "python": sys.version.split()[0]},
    }
    try:
        usable, why = probe_pmu()
        report["perf"]["hardware_pmu"] = usable
        report["perf"]["hardware_pmu_detail"] = why or "cycles counted"
    except BackendError as exc:
        report["perf"]["hardware_pmu"] = None
        report["perf"]["hardware_pmu_detail"] = str(exc)
    return report


def runtime_report() -> dict[str, str]:
    """Every runtime target with its version, or why it cannot run here."""
    found = {}
    for name in runtimes.names():
        try:
            found[name] = runtimes.get(name).probe()
        except runtimes.RuntimeTargetError as exc:
            found[name] = f"not available: {exc}"
    return found


def render(report: dict) -> str:
    """The report as lines for a terminal."""
    c = report["cpu"]
    if c.get("vendor"):
        ident = f"{c['vendor']} family {c['family']} model {c['model']} (0x{c['model']:X}) stepping {c['stepping']}"
    else:
        ident = f"MIDR {c.get('midr') or '?'} (implementer:part {c.get('midr_key') or '?'})"
    pmu = report["perf"]
    pmu_line = {True: "usable", False: "NOT usable", None: "unknown"}[pmu.get("hardware_pmu")]
    lines = [
        f"CPU          {c['model_name']} [logical CPU {c['index']}"
        + (f", core PMU {c['core_pmu']}]" if c.get("core_pmu") else "]"),
        f"identity     {ident}  -> perf id {c['key']}",
        f"microarch    {report['microarch']}",
        f"event map    {report['event_map_name']}: {report['microarch_title']} ({report['event_map']})",
        f"kernel       {report['kernel']}",
        f"perf         {pmu['version'] or 'not installed (apt-get install linux-perf)'}; "
        f"perf_event_paranoid={pmu['paranoid']}",
        f"hardware PMU {pmu_line}: {pmu['hardware_pmu_detail']}",
        f"valgrind     {report['valgrind'] or 'not installed (apt-get install valgrind)'}",
        "runtimes     " + "\n             ".join(f"{k:18} {v}" for k, v in report["runtimes"].items()),
        "toolchain    " + "; ".join(f"{k} {v or 'not installed'}" for k, v in report["toolchain"].items()),
        "noise        " + "\n             ".join(f"{n['source']}: {n['state']}\n               fix: {n['fix']}"
                                                 for n in report["noise"]),
    ]
    return "\n".join(lines)
