"""Print hwprof's structural debts: import cycles, modules over 400 lines, functions over 80 lines, and
imports from the data layer (hwprof.data) upwards into the rest of hwprof.

    .venv/bin/python scripts/check_structure.py        # exit 1 when any is found

Imports are read from the source (ast), module level only: an import inside a function runs when it is
called and cannot make an import cycle at start-up (those are listed apart, as "lazy").
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "hwprof"
MODULE_LINES, FUNCTION_LINES = 400, 80


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(tree: ast.Module, name: str, is_package: bool) -> tuple[set[str], set[str]]:
    """(module-level, lazy) hwprof modules a module imports."""
    top, lazy = set(), set()
    base = name if is_package else name.rpartition(".")[0]

    def targets(node) -> set[str]:
        if isinstance(node, ast.Import):
            return {a.name for a in node.names if a.name.startswith("hwprof")}
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                anchor = base.split(".")[: len(base.split(".")) - node.level + 1]
                mod = ".".join(anchor + ([mod] if mod else []))
            if mod.startswith("hwprof"):
                return {mod} | {f"{mod}.{a.name}" for a in node.names}
        return set()

    for node in tree.body:
        top |= targets(node)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                lazy |= targets(inner)
    return top, lazy


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle's smallest rotation, found by depth-first search (the graph is small)."""
    found: set[tuple[str, ...]] = set()

    def visit(start: str, node: str, path: list[str], seen: set[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                i = path.index(min(path))
                found.add(tuple(path[i:] + path[:i]))
            elif nxt not in seen and nxt > start:
                visit(start, nxt, path + [nxt], seen | {nxt})

    for start in sorted(graph):
        visit(start, start, [start], {start})
    return [list(c) for c in sorted(found)]


def main() -> int:
    files = sorted(ROOT.rglob("*.py"))
    names = {module_name(p): p for p in files}
    graph: dict[str, set[str]] = {}
    lazy_graph: dict[str, set[str]] = {}
    long_modules, long_functions = [], []
    for name, path in names.items():
        text = path.read_text()
        tree = ast.parse(text)
        top, lazy = imports(tree, name, path.name == "__init__.py")
        graph[name] = {m for m in top if m in names and m != name}
        lazy_graph[name] = {m for m in top | lazy if m in names and m != name}
        lines = len(text.splitlines())
        if lines > MODULE_LINES:
            long_modules.append((lines, path.relative_to(ROOT.parent)))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > FUNCTION_LINES:
                    long_functions.append((length, f"{path.relative_to(ROOT.parent)}:{node.lineno} {node.name}"))
    # A package's __init__ importing its own submodules is not a cycle of concern: drop parent -> child edges.
    for g in (graph, lazy_graph):
        for name in g:
            g[name] = {m for m in g[name] if not m.startswith(name + ".")}
    top_cycles, all_cycles = cycles(graph), cycles(lazy_graph)
    print(f"import cycles at module level: {len(top_cycles)}")
    for c in top_cycles:
        print("  " + " -> ".join(c + [c[0]]))
    lazy_only = [c for c in all_cycles if c not in top_cycles]
    print(f"import cycles through imports inside functions (lazy): {len(lazy_only)}")
    for c in lazy_only:
        print("  " + " -> ".join(c + [c[0]]))
    upward = sorted(f"{name} -> {m}" for name, targets in lazy_graph.items() if name.startswith("hwprof.data")
                    for m in targets if not m.startswith("hwprof.data"))
    print(f"data-layer imports above it: {len(upward)}")
    for line in upward:
        print("  " + line)
    print(f"modules over {MODULE_LINES} lines: {len(long_modules)}")
    for lines, path in sorted(long_modules, reverse=True):
        print(f"  {lines:5d}  {path}")
    print(f"functions over {FUNCTION_LINES} lines: {len(long_functions)}")
    for length, where in sorted(long_functions, reverse=True):
        print(f"  {length:5d}  {where}")
    return 1 if top_cycles or lazy_only or upward or long_modules or long_functions else 0


if __name__ == "__main__":
    sys.exit(main())
