"""Callgrind's output format as written with --dump-instr=yes and --collect-jumps=yes: self cost per function
and per instruction address, and the jumps taken (valgrind's "Callgrind Format Specification", version 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hwprof.codegen.artefacts import ArtefactError

EXECUTIONS = "Ir"     # callgrind's instructions executed: at one address, how often that instruction ran
# Position kinds and the table of compressed names each shares (jfi/jfn: a jump's target file and function).
_NAMES = {"ob": "ob", "cob": "ob", "fl": "fl", "fi": "fl", "fe": "fl", "cfi": "fl", "cfl": "fl", "jfi": "fl",
          "fn": "fn", "cfn": "fn", "jfn": "fn"}


@dataclass
class FunctionCost:
    """One function's self cost as callgrind counted it, in total and per instruction address."""

    object: str                     # the ELF object ('???' where callgrind knows none, as for JIT code)
    symbol: str                     # callgrind's name for it (0x... where the code has no symbol)
    cost: list[int]                 # self cost per event of the profile
    by_address: dict[int, list[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Jump:
    """A jump callgrind saw: from one instruction to another, how often taken, of how often executed."""

    source: int
    target: int
    taken: int
    executed: int                   # = taken for an unconditional jump


@dataclass
class Profile:
    """A callgrind dump with per-instruction positions: every function's self cost, and the jumps."""

    events: tuple[str, ...]
    functions: dict[tuple[str, str], FunctionCost]
    jumps: list[Jump] = field(default_factory=list)
    totals: list[int] | None = None     # the file's own total of every cost line, where it gives one
    pid: int | None = None

    def column(self, event: str = EXECUTIONS) -> int:
        """The position of an event in every cost list."""
        if event not in self.events:
            raise ArtefactError(f"the callgrind profile has no event {event!r} (it has: {', '.join(self.events)})")
        return self.events.index(event)

    def total(self, event: str = EXECUTIONS) -> int:
        """The event summed over every function's self cost."""
        col = self.column(event)
        return sum(f.cost[col] for f in self.functions.values())


def _number(text: str) -> int:
    return int(text, 16) if text.startswith(("0x", "0X")) else int(text)


class _Positions:
    """Subpositions as the format writes them: absolute, '+N'/'-N' from the last cost line's, or '*' for the same."""

    def __init__(self, count: int):
        self.last = [0] * count

    def read(self, tokens: list[str], update: bool) -> list[int]:
        out = []
        for i, tok in enumerate(tokens[:len(self.last)]):
            if tok == "*":
                out.append(self.last[i])
            elif tok[0] in "+-":
                out.append(self.last[i] + int(tok))
            else:
                out.append(_number(tok))
        if update:
            self.last = out
        return out


def _name(kind: str, value: str, tables: dict[str, dict[str, str]]) -> str:
    """A position's name, resolving name compression: '(id) name' defines an id, '(id)' refers to one."""
    found = re.match(r"\((\d+)\)\s*(.*)$", value)
    if not found:
        return value
    table = tables.setdefault(_NAMES[kind], {})
    if found.group(2):
        table[found.group(1)] = found.group(2)
    return table.get(found.group(1), value)


def parse(text: str) -> Profile:
    """One callgrind output file (positions 'instr' or 'instr line'): self costs per function and address, jumps.

    The cost line after a calls= line is the inclusive cost of that call, not self cost: it is left out.
    jump=/jcnd= lines name a target; the line after them is the jump's source (valgrind 3.19 writes
    jcnd=TAKEN/EXECUTED; the format document's two numbers, executed then taken, are read too).
    """
    header: dict[str, str] = {}
    tables: dict[str, dict[str, str]] = {}
    events: tuple[str, ...] = ()
    functions: dict[tuple[str, str], FunctionCost] = {}
    jumps: list[Jump] = []
    obj, fn, pending = "", "", None      # pending: ("call",) or ("jump", target, taken, executed)
    pos = _Positions(1)
    names = ["line"]
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if sep and key in _NAMES:
            name = _name(key, value.strip(), tables)
            obj = name if key == "ob" else obj
            fn = name if key == "fn" else fn
        elif sep and key in ("calls", "jump", "jcnd"):
            pending = _association(key, value.split(), pos)
        elif line[0] in "0123456789+-*":
            place = pos.read(line.split(), update=True)
            costs = [_number(t) for t in line.split()[len(names):]]
            if pending is not None:
                if pending[0] == "jump" and "instr" in names:
                    jumps.append(Jump(place[names.index("instr")], *pending[1:]))
                pending = None       # a call's inclusive cost or a jump's source: no self cost
                continue
            _add(functions.setdefault((obj, fn), FunctionCost(obj, fn, [0] * len(events))), place, names, costs)
        else:
            k, _, v = line.partition(":")
            header[k.strip()] = v.strip()
            if k == "positions":
                names = v.split()
                pos = _Positions(len(names))
            elif k == "events":
                events = tuple(v.split())
    if not events:
        raise ArtefactError("a callgrind output file without an events: line")
    totals = [_number(t) for t in header["totals"].split()] if header.get("totals") else None
    return Profile(events, functions, jumps, totals, int(header["pid"]) if header.get("pid") else None)


def _association(key: str, tokens: list[str], pos: _Positions):
    """What a calls=/jump=/jcnd= line says of the line after it (its target is read, never made the 'last')."""
    if key == "calls":
        return ("call",)
    if key == "jump":
        taken = executed = _number(tokens[0])
        rest = tokens[1:]
    elif "/" in tokens[0]:
        taken, executed = (_number(t) for t in tokens[0].split("/"))
        rest = tokens[1:]
    else:
        executed, taken = _number(tokens[0]), _number(tokens[1])
        rest = tokens[2:]
    target = pos.read(rest, update=False)
    return ("jump", target[0], taken, executed)


def _add(cost: FunctionCost, place: list[int], names: list[str], costs: list[int]) -> None:
    width = len(cost.cost)
    for i, c in enumerate(costs[:width]):
        cost.cost[i] += c
    if "instr" in names:
        at = cost.by_address.setdefault(place[names.index("instr")], [0] * width)
        for i, c in enumerate(costs[:width]):
            at[i] += c
