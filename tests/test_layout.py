"""The package's floors (the README's Architecture table): imports point down, and md/ has no import circle."""

from __future__ import annotations

import ast
from pathlib import Path

import superionic

ROOT = Path(superionic.__file__).parent


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


def test_md_has_no_import_circle():
    graph = import_graph()
    assert {"superionic.md.analysis", "superionic.md.engines", "superionic.md.workflow"} <= set(graph)
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


FLOORS = {  # the README's Architecture table; the longest matching prefix wins
    "superionic.schemas": 0, "superionic.settings": 0, "superionic.md.presets": 0,
    "superionic.redaction": 0, "superionic.safe_json": 0, "superionic.package_files": 0, "superionic.running_job": 0,
    "superionic.screening": 1, "superionic.features": 1, "superionic.ml": 1,
    "superionic.md.analysis": 1,  # md/'s three rooms: analysis < engines < workflow
    "superionic.structure": 1,
    "superionic.md.engines": 2, "superionic.sources": 2, "superionic.progress": 2,
    "superionic.ml.model_store": 3, "superionic.ml.predict": 3,  # the surrogate in and out of the stores
    "superionic.md.workflow": 3, "superionic.finetune": 3, "superionic.jobs": 3, "superionic.flows": 3,
    "superionic.builders": 3, "superionic.stores": 3, "superionic.recipes": 3,
    "superionic.engines": 4, "superionic.cli": 4, "superionic.report": 4, "superionic.results": 4,
}

NAMED_UPWARD = {
    # a job opens the project's store from a credential-free reference, written by the engines
    ("superionic.flows.discovery", "superionic.engines.store_ref"),
    # a fine-tuned potential's weights and record are read from the store by id
    ("superionic.md.engines.calculators", "superionic.finetune.potential_store"),
    ("superionic.md.engines.potentials", "superionic.finetune.potential_store"),
    # the feature document checks its columns against the featurizer's 145 labels
    ("superionic.schemas.features", "superionic.features.magpie"),
    # the MP2019 correction reads its reference energies where the bundled corpus lies
    ("superionic.screening.mp2019_energies", "superionic.sources.structures"),
    ("superionic.structure.load", "superionic.sources.structures"),  # and the bundled CIFs
    # the sanity check classifies a few formulas with the stored surrogate
    ("superionic.ml.sanity", "superionic.ml.predict"),
}
"""Imports against the floors, each with its reason: a new one fails the test, as does a mended one left here."""


def _floor(module: str) -> int | None:
    matches = [p for p in FLOORS if module == p or module.startswith(p + ".")]
    return FLOORS[max(matches, key=len)] if matches else None


def test_floors_import_downwards_only():
    graph = import_graph("superionic")
    assert [m for m in graph if _floor(m) is None] == ["superionic", "superionic.md"], "a module without a floor"
    upward = {(m, t) for m, targets in graph.items() for t in targets
              if _floor(m) is not None and _floor(t) is not None and _floor(t) > _floor(m)}
    assert upward - NAMED_UPWARD == set(), "imports pointing up a floor"
    assert NAMED_UPWARD - upward == set(), "mended: remove from NAMED_UPWARD"
