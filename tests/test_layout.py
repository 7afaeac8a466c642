"""The package's floors: md/ is three rooms whose imports point down, with no import circle."""

from __future__ import annotations

import ast
from pathlib import Path

import superionic

ROOT = Path(superionic.__file__).parent
ROOMS = {"superionic.md.analysis": 0, "superionic.md.engines": 1, "superionic.md.workflow": 2}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: str = "superionic.md") -> dict[str, set[str]]:
    """Module -> the project modules it imports (module level or inside functions)."""
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if not name.startswith(package):
            continue
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            targets.update(n for n in names if n in modules and n != name)
        graph[name] = targets
    return graph


def _room(module: str) -> int | None:
    return next((level for room, level in ROOMS.items() if module.startswith(room)), None)


def test_md_rooms_import_downwards_only():
    graph = import_graph()
    assert set(ROOMS) <= set(graph)
    upward = [(m, t) for m, targets in graph.items() for t in targets
              if _room(m) is not None and _room(t) is not None and _room(t) > _room(m)]
    assert not upward, upward


def test_md_has_no_import_circle():
    graph = import_graph()
    seen: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(module: str, path: list[str]) -> None:
        seen[module] = 1
        for target in graph.get(module, ()):
            if target.startswith("superionic.md") and target in graph:
                assert seen.get(target) != 1, " -> ".join([*path, module, target])
                if target not in seen:
                    visit(target, [*path, module])
        seen[module] = 2

    for module in graph:
        if module not in seen:
            visit(module, [])
