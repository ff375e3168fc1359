"""Perfetto traces of one repetition: each measured process's phases as slices, its counters as counter tracks.

The file is a plain `perfetto.protos` Trace (TrackEvent packets); open it at ui.perfetto.dev. Perfetto's
trace_processor is not used here or in the tests: it downloads its native binary on first use, and the
machines hwprof runs on often have no internet, so the tests read the protobuf back instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from hwprof.data import schema
from hwprof.data.store import RUNS, ResultStore, StoreError, read_run

SEQUENCE_ID = 0x68770F   # our one trusted_packet_sequence_id (any nonzero constant)
RECONSTRUCTED = "reconstructed from phase durations (no timeline in this run file)"
METADATA_KEYS = ("runtime", "runtime_version", "runtime_flags", "workload", "size", "mode", "backend",
                 "backend_version", "cpu", "microarch", "cpu_index", "kernel", "perf_version", "hwprof_version")


class TraceError(Exception):
    """A trace that cannot be written: no such store, no such run, an ambiguous run id."""


@dataclass
class Slice:
    """One phase (or one warm invocation of it) in one process, in seconds from the first spawn."""

    phase: str
    begin_s: float
    end_s: float
    invocation: int = 0
    note: str = ""


@dataclass
class Lane:
    """One measured process: its span, the phases it counted, its phase slices and its counter values."""

    index: int
    counted: list[str]
    spawn_s: float
    end_s: float
    slices: list[Slice] = field(default_factory=list)
    counters: dict[str, tuple[str, list]] = field(default_factory=dict)   # track -> (unit, [(begin, end, value)])
    notes: list[str] = field(default_factory=list)


def _store_root(results: str | os.PathLike) -> Path:
    root = Path(results)
    if root.name == RUNS and root.is_dir():
        root = root.parent
    if not (root / RUNS).is_dir():
        raise TraceError(f"{results}: not a results store (no {RUNS}/ folder)")
    return root


def list_runs(results: str | os.PathLike) -> list[str]:
    """The run ids of a results store, oldest first."""
    return [p.stem for p in ResultStore(_store_root(results)).run_files()]


def find_run(results: str | os.PathLike, run_id: str) -> Path:
    """The run file whose id is run_id or starts with it (a unique prefix)."""
    root = _store_root(results)
    ids = list_runs(root)
    if run_id in ids:
        return root / RUNS / f"{run_id}.json"
    hits = [i for i in ids if i.startswith(run_id)] if run_id else []
    if len(hits) == 1:
        return root / RUNS / f"{hits[0]}.json"
    if hits:
        raise TraceError(f"run id {run_id!r} is ambiguous in {results}: {', '.join(hits[:5])}"
                         f"{' ...' if len(hits) > 5 else ''}")
    known = ", ".join(ids[-5:]) if ids else "none"
    raise TraceError(f"no run {run_id!r} in {results} ({len(ids)} runs; latest: {known})")


def _slices(entry: dict) -> list[Slice]:
    """A process's phase slices from its marks; bootstrap runs from spawn to its one "end" mark."""
    spawn, end = float(entry["spawn_s"]), float(entry["end_s"])
    marks = entry.get("marks") or []
    if not marks:   # a pass counted as a whole process: its one phase is the process
        return [Slice(entry["phases"][0], spawn, end)]
    out, open_at, seen = [], {}, {}
    for phase, edge, t in marks:
        if edge == "begin":
            open_at[phase] = float(t)
            continue
        begin = open_at.pop(phase, spawn)
        out.append(Slice(phase, begin, float(t), seen.get(phase, 0)))
        seen[phase] = seen.get(phase, 0) + 1
    for phase, begin in open_at.items():   # the process died inside this phase
        out.append(Slice(phase, begin, end, seen.get(phase, 0), note="no end mark: the process ended first"))
    return sorted(out, key=lambda s: (s.begin_s, s.end_s))


def _counter_rows(records: list[schema.Record], phase: str, names: set[str] | None) -> list[schema.Record]:
    return [r for r in records if r.phase == phase and r.kind == schema.EVENT and r.status == schema.OK
            and r.value is not None and (names is None or r.name in names)]


def counter_track_name(r: schema.Record) -> str:
    """The counter track a record's value goes on: its name and unit (per invocation for warm means)."""
    unit = f"{r.unit} per invocation" if r.iteration < 0 else r.unit
    return f"{r.name} ({unit})" if unit else r.name


def _attach_counters(lane: Lane, phases: list[str], records: list[schema.Record], names: set[str] | None) -> None:
    """Put every ok counter of these phases on the lane's counter tracks: the value over each of its slices."""
    for phase in phases:
        spans = [s for s in lane.slices if s.phase == phase]
        rows = _counter_rows(records, phase, names)
        if rows and not spans:
            lane.notes.append(f"{phase}: counted but no slice to place its counters on")
            continue
        for r in rows:
            chosen = spans if r.iteration < 0 else [s for s in spans if s.invocation == r.iteration] or spans[:1]
            lane.counters.setdefault(counter_track_name(r), (r.unit, []))[1].extend(
                (s.begin_s, s.end_s, float(r.value)) for s in chosen)


def lanes_from_timeline(timeline: list[dict], records: list[schema.Record]) -> list[Lane]:
    """One lane per measured process of the run file's timeline."""
    lanes, owner = [], {}
    for entry in timeline:
        lane = Lane(int(entry["process"]), list(entry["phases"]), float(entry["spawn_s"]), float(entry["end_s"]),
                    _slices(entry))
        if "events" in entry:   # the pass's own event list, when the writer kept it
            _attach_counters(lane, lane.counted, records, set(entry["events"]))
        else:
            # Several passes may count one phase (one per event group); the run file does not say which
            # pass counted which event, so the first pass counting a phase carries all of its counters.
            mine = [p for p in lane.counted if p not in owner]
            for p in lane.counted:
                if p in owner:
                    lane.notes.append(f"{p}: counters shown on pass {owner[p] + 1} (this run file does not "
                                      "say which pass counted which event)")
                owner.setdefault(p, lane.index)
            _attach_counters(lane, mine, records, None)
        lanes.append(lane)
    return lanes


def lanes_reconstructed(records: list[schema.Record]) -> list[Lane]:
    """One lane with the phases laid end to end from their wall_time rows (run files without a timeline)."""
    order: list[str] = []
    walls: dict[str, list[schema.Record]] = {}
    for r in records:
        if r.kind == schema.INFO or r.status == schema.ERROR or r.phase in order:
            continue
        order.append(r.phase)
    for r in records:
        if r.name == "wall_time" and r.kind == schema.TIME and r.status == schema.OK and r.iteration >= 0:
            walls.setdefault(r.phase, []).append(r)
    singles = [p for p in order if len(walls.get(p, [])) <= 1]
    multis = [p for p in order if len(walls.get(p, [])) > 1]
    sequence = [(p, 0) for p in singles]
    for i in range(max((len(walls[p]) for p in multis), default=0)):
        sequence += [(p, i) for p in multis if i < len(walls[p])]
    lane, t = Lane(0, [p for p in order if _counter_rows(records, p, None)], 0.0, 0.0), 0.0
    for phase, i in sequence:
        rows = sorted(walls.get(phase, []), key=lambda r: r.iteration)
        duration = float(rows[i].value) if rows else 0.0
        lane.slices.append(Slice(phase, t, t + duration, i, "" if rows else "duration unknown: no wall_time row"))
        t += duration
    lane.end_s = t
    lane.notes.append(RECONSTRUCTED)
    _attach_counters(lane, lane.counted, records, None)
    return [lane]


def _metadata(doc: dict) -> dict:
    prov = doc.get("provenance", {})
    first = doc["records"][0] if doc["records"] else None
    meta = {k: prov.get(k) for k in METADATA_KEYS}
    for k in ("runtime", "runtime_version", "runtime_flags", "workload", "size", "backend"):
        if meta.get(k) in (None, "") and first is not None:
            meta[k] = getattr(first, k)
    if meta.get("mode") in (None, "") and first is not None:
        meta["mode"] = first.invocation
    meta["run_id"] = doc.get("run_id", "")
    meta["repetition"] = first.repetition if first is not None else -1
    return {k: v for k, v in meta.items() if v not in (None, "")}


def _annotation(name: str, value):
    from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import DebugAnnotation

    if isinstance(value, bool):
        return DebugAnnotation(name=name, bool_value=value)
    if isinstance(value, int):
        return DebugAnnotation(name=name, int_value=value)
    if isinstance(value, float):
        return DebugAnnotation(name=name, double_value=value)
    return DebugAnnotation(name=name, string_value=str(value))


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)


def build_trace(doc: dict):
    """The Perfetto Trace message of one run file (as returned by store.read_run)."""
    from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import (
        CounterDescriptor,
        ProcessDescriptor,
        ThreadDescriptor,
        Trace,
        TracePacket,
        TrackDescriptor,
        TrackEvent,
    )

    timeline = doc.get("timeline")
    lanes = lanes_from_timeline(timeline, doc["records"]) if timeline else lanes_reconstructed(doc["records"])
    meta = _metadata(doc)
    errors = sorted({r.note for r in doc["records"] if r.status == schema.ERROR and r.note})
    what = " ".join(str(meta.get(k, "?")) for k in ("runtime", "workload", "size"))
    described = "; ".join(f"{k}={v}" for k, v in meta.items())
    descriptors, events = [], []   # events: (ns, per-track order, packet)

    def event(ns, track, kind, name=None, value=None, notes=()):
        te = TrackEvent(type=kind, track_uuid=track)
        if name is not None:
            te.name = name
        if value is not None:
            te.double_counter_value = value
        te.debug_annotations.extend(_annotation(k, v) for k, v in notes)
        events.append((ns, len(events), TracePacket(timestamp=ns, trusted_packet_sequence_id=SEQUENCE_ID,
                                                    track_event=te)))

    for lane in lanes:
        pid = lane.index + 1
        proc_uuid, phase_uuid = pid << 20, (pid << 20) | 1
        name = f"pass {pid}: {', '.join(lane.counted) or 'nothing counted'} ({what})"
        if not timeline:
            name += f" - {RECONSTRUCTED}"
        descriptors.append(TrackDescriptor(uuid=proc_uuid, description="; ".join([described, *errors]),
                                           process=ProcessDescriptor(pid=pid, process_name=name)))
        descriptors.append(TrackDescriptor(uuid=phase_uuid, parent_uuid=proc_uuid,
                                           thread=ThreadDescriptor(pid=pid, tid=pid, thread_name="phases")))
        process_notes = [*meta.items(), ("counted", ", ".join(lane.counted))] + [("note", n) for n in lane.notes]
        process_notes += [("error", e) for e in errors]
        event(_ns(lane.spawn_s), phase_uuid, TrackEvent.TYPE_SLICE_BEGIN, "process", notes=process_notes)
        for s in lane.slices:
            notes = [("counted", s.phase in lane.counted)]
            notes += [("invocation", s.invocation)] if meta.get("mode") == "warm" else []
            notes += [("note", s.note)] if s.note else []
            event(_ns(s.begin_s), phase_uuid, TrackEvent.TYPE_SLICE_BEGIN, s.phase, notes=notes)
            event(_ns(s.end_s), phase_uuid, TrackEvent.TYPE_SLICE_END)
        event(_ns(lane.end_s), phase_uuid, TrackEvent.TYPE_SLICE_END)
        for k, (track, (unit, spans)) in enumerate(sorted(lane.counters.items()), start=2):
            uuid = (pid << 20) | k
            descriptors.append(TrackDescriptor(uuid=uuid, parent_uuid=proc_uuid, name=track,
                                               counter=CounterDescriptor(unit_name=unit)))
            for begin, end, value in sorted(spans):
                event(_ns(begin), uuid, TrackEvent.TYPE_COUNTER, value=value)
                event(_ns(end), uuid, TrackEvent.TYPE_COUNTER, value=0.0)
    trace = Trace()
    for i, d in enumerate(descriptors):
        packet = trace.packet.add(trusted_packet_sequence_id=SEQUENCE_ID, track_descriptor=d)
        if i == 0:
            packet.sequence_flags = TracePacket.SEQ_INCREMENTAL_STATE_CLEARED
    # Stable sort by time: at equal times each track keeps its own order (an inner end before an outer end).
    trace.packet.extend(p for _, _, p in sorted(events, key=lambda e: (e[0], e[1])))
    return trace


def write_trace(results: str | os.PathLike, run_id: str, out_path: str | os.PathLike) -> Path:
    """Write a Perfetto trace of one repetition (run_id or a unique prefix of it) to out_path."""
    path = find_run(results, run_id)
    try:
        doc = read_run(path)
    except StoreError as exc:
        raise TraceError(str(exc)) from None
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(build_trace(doc).SerializeToString())
    return out
