"""Campaign specs: a TOML file naming workloads x sizes x targets x backend x modes, and how to repeat them."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from hwprof import runtimes, workloads
from hwprof.analysis import robust
from hwprof.backends import BackendError
from hwprof.backends.cachegrind import parse_geometry
from hwprof.plan import CollectConfig

# Keys a [campaign] table or a [[matrix]] block may set; a block's value overrides the campaign's.
SETTINGS = {"backend": "perf", "events": [], "count_phases": [], "modes": ["cold"], "invocations": 50,
            "sizes": ["default"], "timeout": 300.0, "sim_cache": [], "warmup": 1,
            "uarch": ""}
REPETITION_KEYS = {"min": 3, "max": 30, "target_ci": 0.02, "confidence": 0.95, "statistic": "mean",
                   "exclude_disturbed": False}
MODES = ("cold", "warm")


class SpecError(Exception):
    """A campaign spec that cannot be run, with the one line that says where and why."""


@dataclass(frozen=True)
class Repetitions:
    """Adaptive repetitions: at least `min`, then until the statistic's CI is within `target_ci` of it, at most `max`.

    `statistic` is what the interval is of (mean or median); with `exclude_disturbed` the runs their noise record
    flagged are left out of it (and counted).
    """

    min: int = 3
    max: int = 30
    target_ci: float = 0.02
    confidence: float = 0.95
    statistic: str = "mean"
    exclude_disturbed: bool = False


@dataclass(frozen=True)
class Cell:
    """One thing a campaign measures repeatedly: a collect of one repetition, its warm-ups and its policy."""

    config: CollectConfig            # repetitions=1, warmup=0: the campaign runs it one repetition at a time
    warmup: int = 1
    repetitions: Repetitions = Repetitions()

    @property
    def key(self) -> str:
        """A readable identity, unique within a campaign (stored with each of its runs)."""
        c = self.config
        mode = f"warm x{c.invocations}" if c.mode == "warm" else "cold"
        extra = "".join(f" {k}={','.join(v)}" for k, v in (("events", c.events), ("count", c.count_phases),
                                                           ("sim", sim_cache(c)),
                                                           ("uarch", (c.sim_uarch,) if c.sim_uarch else ())) if v)
        return f"{c.workload}[{c.size or 'default'}] {c.runtime} {c.backend} {mode}{extra}"

    def settings(self) -> dict:
        """What the campaign's digest covers for this cell (the names spec files use)."""
        c = self.config
        return {"workload": c.workload, "size": c.size, "target": c.runtime, "backend": c.backend, "mode": c.mode,
                "invocations": c.invocations, "events": c.events, "count_phases": c.count_phases,
                "sim_cache": sim_cache(c), "timeout": c.timeout, "warmup": self.warmup,
                "repetitions": self.repetitions.__dict__,
                **({"uarch": c.sim_uarch} if c.sim_uarch else {})}    # only when set: older digests still match


def sim_cache(config: CollectConfig) -> tuple[str, ...]:
    """A config's cachegrind geometry as a spec writes it (I1=32768,8,64)."""
    return tuple(f"{k}={v}" for k, v in config.sim_geometry)


@dataclass(frozen=True)
class CampaignSpec:
    """A parsed campaign: its cells in spec order, repetition policy, seed and where it came from."""

    name: str
    title: str
    seed: int
    cpu: int | None
    repetitions: Repetitions
    cells: tuple[Cell, ...]
    source: str = ""
    digest: str = ""          # of the parsed content: a resumed campaign must still be the same campaign
    pairs: tuple[tuple[str, str], ...] = ()     # (a cell key, b cell key): run back to back, seeded order

    def pair_of(self, key: str) -> tuple[str, str] | None:
        """The pair a cell belongs to, or None."""
        return next((p for p in self.pairs if key in p), None)


def _expand_workloads(names: list[str], where: str) -> list[str]:
    """Workload names, with @suite (e.g. @polybench, @edge) expanded from the catalogue."""
    cat = workloads.catalogue()["workload"]
    out = []
    for name in names:
        if name.startswith("@"):
            suite = sorted(w for w, spec in cat.items() if spec.get("suite") == name[1:])
            if not suite:
                suites = sorted({spec.get("suite", "") for spec in cat.values()})
                raise SpecError(f"{where}: no workload suite {name!r} (suites: {', '.join('@' + s for s in suites)})")
            out += suite
        elif name in cat:
            out.append(name)
        else:
            raise SpecError(f"{where}: unknown workload {name!r} (see `hwprof workloads list`)")
    return out


def _sizes(workload: str, sizes: list[str], where: str) -> list[str | None]:
    spec = workloads.catalogue()["workload"][workload]
    known = workloads.sizes_of(spec)
    out = []
    for size in sizes:
        size = str(size)
        if size == "default":
            out.append(None)
        elif size in known:
            out.append(size)
        elif size in ("all",):
            out += known
        else:
            raise SpecError(f"{where}: {workload} has no size {size!r} (it has: {', '.join(known)})")
    return out


def _check(block: dict, where: str) -> None:
    from hwprof import backends

    targets = runtimes.names()
    for t in block["targets"]:
        if t not in targets:
            raise SpecError(f"{where}: unknown target {t!r} (choose from: {', '.join(targets)})")
    if block["backend"] not in backends.BACKENDS:
        raise SpecError(f"{where}: unknown backend {block['backend']!r} (choose from: {', '.join(backends.BACKENDS)})")
    for m in block["modes"]:
        if m not in MODES:
            raise SpecError(f"{where}: unknown mode {m!r} (choose from: {', '.join(MODES)})")
    if _number(block["invocations"], "invocations", where) < 1:
        raise SpecError(f"{where}: invocations must be at least 1")
    if block["uarch"]:
        from hwprof.frontend import uarch

        if "uarch" not in backends.backend_class(block["backend"]).OPTIONS:
            raise SpecError(f"{where}: uarch sets the front-end model's microarchitecture: it needs backend = \"frontend\"")
        if block["uarch"] not in uarch.names():
            raise SpecError(f"{where}: unknown uarch {block['uarch']!r} (choose from: {', '.join(uarch.names())})")


def _number(value, key: str, where: str, kind=int):
    """A spec value as an int or float, or a SpecError naming it."""
    try:
        if isinstance(value, bool):
            raise ValueError
        return kind(value)
    except (TypeError, ValueError):
        raise SpecError(f"{where}: {key} must be a {'whole ' if kind is int else ''}number, not {value!r}") from None


def _policy(raw: dict, where: str, default: Repetitions | None = None) -> Repetitions:
    """A repetition policy from a [repetitions] table (or a block's `repetitions = {...}`), over a default."""
    base = (default or Repetitions()).__dict__
    if not isinstance(raw, dict) or set(raw) - set(REPETITION_KEYS):
        raise SpecError(f"{where}: repetitions takes only {', '.join(REPETITION_KEYS)}")
    merged = {**base, **raw}
    if merged["statistic"] not in robust.STATISTICS:
        raise SpecError(f"{where}: statistic must be one of {', '.join(robust.STATISTICS)}, not {merged['statistic']!r}")
    if not isinstance(merged["exclude_disturbed"], bool):
        raise SpecError(f"{where}: exclude_disturbed must be true or false, not {merged['exclude_disturbed']!r}")
    policy = Repetitions(_number(merged["min"], "min", where), _number(merged["max"], "max", where),
                         _number(merged["target_ci"], "target_ci", where, float),
                         _number(merged["confidence"], "confidence", where, float),
                         merged["statistic"], merged["exclude_disturbed"])
    if not 1 <= policy.min <= policy.max or not 0 < policy.target_ci < 1 or not 0 < policy.confidence < 1:
        raise SpecError(f"{where}: repetitions need 1 <= min <= max, 0 < target_ci < 1 and 0 < confidence < 1")
    return policy


def _list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def parse(text: str, source: str = "<spec>") -> CampaignSpec:
    """Parse a campaign spec from TOML text; every problem is a SpecError naming the file and the block."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{source}: not valid TOML ({exc})") from None
    top = doc.get("campaign", {})
    unknown = set(top) - set(SETTINGS) - {"name", "title", "seed", "cpu"}
    if set(doc) - {"campaign", "repetitions", "matrix", "pairs"}:
        raise SpecError(f"{source}: unknown tables {sorted(set(doc) - {'campaign', 'repetitions', 'matrix', 'pairs'})}")
    if unknown:
        raise SpecError(f"{source}: [campaign] has unknown keys {sorted(unknown)}")
    policy = _policy(doc.get("repetitions", {}), f"{source}: [repetitions]")
    blocks = doc.get("matrix", [])
    if not blocks:
        raise SpecError(f"{source}: no [[matrix]] block: nothing to measure")
    cells: list[Cell] = []
    cpu = None if top.get("cpu") is None else _number(top["cpu"], "cpu", f"{source}: [campaign]")
    for i, raw in enumerate(blocks, 1):
        where = f"{source}: [[matrix]] block {i}"
        unknown = set(raw) - set(SETTINGS) - {"workloads", "targets", "repetitions"}
        if unknown:
            raise SpecError(f"{where} has unknown keys {sorted(unknown)}")
        if "workloads" not in raw or "targets" not in raw:
            raise SpecError(f"{where} needs workloads and targets")
        block = {**SETTINGS, **{k: v for k, v in top.items() if k in SETTINGS}, **raw}
        block["targets"] = _list(block["targets"])
        block["modes"] = _list(block["modes"])
        _check(block, where)
        cell_policy = _policy(raw.get("repetitions", {}), where, policy)
        try:
            geometry = parse_geometry(_list(block["sim_cache"]))
        except BackendError as exc:
            raise SpecError(f"{where}: sim_cache: {exc}") from None
        for workload in _expand_workloads(_list(block["workloads"]), where):
            for size in _sizes(workload, _list(block["sizes"]), where):
                for target in block["targets"]:
                    for mode in block["modes"]:
                        config = CollectConfig(
                            workload=workload, runtime=target, size=size, backend=block["backend"],
                            events=tuple(_list(block["events"])), repetitions=1, warmup=0, cpu=cpu,
                            timeout=_number(block["timeout"], "timeout", where, float), mode=mode,
                            invocations=_number(block["invocations"], "invocations", where),
                            count_phases=tuple(_list(block["count_phases"])), sim_geometry=geometry,
                            sim_uarch=str(block["uarch"]))
                        cells.append(Cell(config, _number(block["warmup"], "warmup", where), cell_policy))
    seen: dict[str, Cell] = {}
    unique = []
    for c in cells:                     # two blocks may name one cell, but not with different settings
        if c.key not in seen:
            seen[c.key] = c
            unique.append(c)
        elif seen[c.key] != c:
            raise SpecError(f"{source}: {c.key} appears twice with different timeout, warm-up or repetitions")
    name = str(top.get("name") or Path(source).stem)
    pairs = _pairs(doc.get("pairs", []), unique, source)
    where = f"{source}: [campaign]"
    spec = CampaignSpec(name, str(top.get("title", name)), _number(top.get("seed", 1), "seed", where),
                        cpu, policy, tuple(unique), source, pairs=pairs)
    return dataclasses.replace(spec, digest=digest(spec))


def digest(spec: CampaignSpec) -> str:
    """What a resumed campaign must share with the one it continues: policy, cells, their settings, pairs."""
    content = [spec.repetitions.__dict__, [c.key for c in spec.cells], [c.settings() for c in spec.cells]]
    if spec.pairs:
        content.append([list(p) for p in spec.pairs])
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:16]


def with_policy(spec: CampaignSpec, statistic: str | None = None,
                exclude_disturbed: bool | None = None) -> CampaignSpec:
    """The spec with its stopping statistic or exclusion overridden in every cell (None: keep the spec's)."""
    change = {k: v for k, v in (("statistic", statistic), ("exclude_disturbed", exclude_disturbed)) if v is not None}
    if not change:
        return spec
    if change.get("statistic", robust.MEAN) not in robust.STATISTICS:
        raise SpecError(f"--statistic must be one of {', '.join(robust.STATISTICS)}, not {statistic!r}")
    cells = tuple(dataclasses.replace(c, repetitions=dataclasses.replace(c.repetitions, **change))
                  for c in spec.cells)
    out = dataclasses.replace(spec, repetitions=dataclasses.replace(spec.repetitions, **change), cells=cells)
    return dataclasses.replace(out, digest=digest(out))


PAIR_MATCH = ("workload", "size", "mode", "backend", "events", "count_phases", "sim_cache")


def _pairs(raw, cells: list[Cell], source: str) -> tuple[tuple[str, str], ...]:
    """[[pairs]] a = target, b = target: every cell of a with its one partner of b, as (a key, b key)."""
    if not isinstance(raw, list):
        raise SpecError(f"{source}: pairs must be [[pairs]] blocks, each with a and b")
    targets = runtimes.names()
    out: list[tuple[str, str]] = []
    paired: dict[str, str] = {}
    for i, block in enumerate(raw, 1):
        where = f"{source}: [[pairs]] block {i}"
        if not isinstance(block, dict) or set(block) != {"a", "b"}:
            raise SpecError(f"{where} needs exactly a and b (two targets)")
        a, b = block["a"], block["b"]
        for t in (a, b):
            if t not in targets:
                raise SpecError(f"{where}: unknown target {t!r} (choose from: {', '.join(targets)})")
        if a == b:
            raise SpecError(f"{where}: a and b are both {a!r}; a pair needs two targets")
        side = {t: [c for c in cells if c.config.runtime == t] for t in (a, b)}
        if not side[a]:
            raise SpecError(f"{where}: no cell of target {a!r} in the spec")
        match = lambda c: tuple(str(c.settings()[k]) for k in PAIR_MATCH)
        for mine, other in ((a, b), (b, a)):
            for c in side[mine]:
                partners = [d for d in side[other] if match(d) == match(c)]
                if len(partners) != 1:
                    raise SpecError(f"{where}: {c.key} has {'no' if not partners else len(partners)} partner"
                                    f"{'s' if len(partners) > 1 else ''} of target {other!r} (same workload, size, "
                                    "mode, backend, events, count_phases and sim_cache)")
                if mine == a:
                    for k in (c.key, partners[0].key):
                        if k in paired:
                            raise SpecError(f"{where}: {k} is already paired ({paired[k]})")
                        paired[k] = f"[[pairs]] block {i}"
                    out.append((c.key, partners[0].key))
    return tuple(out)


def load(path: str | Path) -> CampaignSpec:
    """Read and parse a campaign spec file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the campaign spec ({exc.strerror})") from None
    return parse(text, str(path))
