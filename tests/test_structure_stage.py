"""Issue 22: the structural stage wired in. The structure builder in `superionic build` and in
the discovery flow (with the recipe's settings), a second build recomputing nothing, a
material without a readable structure getting a document with its reason, CPU-time limits
recorded as reasons, and the candidate table reading the stored evidence. Real pymatgen
structures (the bundled MP CIFs), real montydb stores, the real CLI."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from superionic.builders.structure import evidence_by_material
from superionic.cli import app
from superionic.results import candidate_rows
from superionic.sources.structures import bundled_structure
from superionic.stores import open_stores
from superionic.structure.evidence import EvidenceSettings, compute_evidence

runner = CliRunner()
MATERIALS = {"mp-1153": "Li2S", "mp-570935": "LiI", "broken": "LiX"}


def _store_with_survivors(tmp_path: Path) -> str:
    spec = f"monty://{tmp_path / 'store'}"
    stores = open_stores(spec)
    stores.materials.update([{"material_id": m, "formula": f} for m, f in MATERIALS.items() if m != "broken"]
                            + [{"material_id": "broken", "formula": "LiX", "structure": {"lattice": "nonsense"}}],
                            key="material_id")
    stores.screening.update([{"material_id": m, "formula": f, "passed": True, "verdict": "pass"}
                             for m, f in MATERIALS.items()], key="material_id")
    stores.close()
    return spec


def test_build_computes_every_survivor_once_and_the_table_reads_it(tmp_path):
    spec = _store_with_survivors(tmp_path)
    first = runner.invoke(app, ["build", "structure", "--store", spec])
    assert first.exit_code == 0, first.output
    assert "structure: 3 processed" in first.output  # the unreadable one too: a document with its reason
    again = runner.invoke(app, ["build", "structure", "--store", spec])
    assert again.exit_code == 0 and "structure: 0 processed" in again.output, again.output
    stores = open_stores(spec)
    try:
        docs = evidence_by_material(stores.evidence)
        assert docs["mp-1153"]["anion_framework"] == "fcc" and docs["mp-570935"]["anion_framework"] == "hcp"
        assert docs["broken"]["failures"]["structure"].startswith("structure unreadable")
        assert docs["broken"]["anion_framework"] == "not_computed" and docs["broken"]["formula"] == "LiX"
        rows = {r["material_id"]: r for r in candidate_rows(stores)}
    finally:
        stores.close()
    assert "structure: fcc anion framework, 3D Li network" in rows["mp-1153"]["evidence"]
    assert rows["mp-1153"]["anion_framework"] == "fcc" and rows["mp-1153"]["li_network_dim"] == 3
    assert "structure: none (structure unreadable" in rows["broken"]["evidence"]


def test_a_part_past_its_cpu_limit_has_a_reason_not_a_value():
    settings = EvidenceSettings(framework_max_cpu_s=0.001, bvse=False)
    doc = compute_evidence("mp-641703", bundled_structure("mp-641703"), settings)  # Li7P3S11, 42 sites
    assert doc.anion_framework == "not_computed"
    assert doc.not_computed["anion_framework"] == "stopped at the CPU-time limit (0.001 s)"
    assert doc.li_li_min is not None and not doc.failures  # the other parts go on
    capped = compute_evidence("mp-641703", bundled_structure("mp-641703"), EvidenceSettings(max_anion_sites=10, bvse=False))
    assert capped.not_computed["anion_framework"] == "22 anion sites > max_anion_sites 10"


def test_the_flow_builds_evidence_with_the_recipe_settings():
    from superionic.flows.discovery import DiscoveryFlowMaker
    from superionic.recipes import load_recipe

    recipe = load_recipe("quick")
    flow = DiscoveryFlowMaker(recipe=recipe).make("memory://structure-stage")
    (build,) = [j for j in flow.jobs if j.name == "store documents"]
    assert build.function_args[3]["structure"]["settings"] == recipe.structure.model_dump()


def test_only_the_structure_builder_writes_the_evidence_collection():
    src = Path(__file__).resolve().parents[1] / "src" / "superionic"
    writers = {p.relative_to(src).as_posix() for p in src.rglob("*.py")
               if re.search(r"\bevidence\.(update|remove_docs|insert|delete)", p.read_text())}
    assert writers == {"builders/structure.py"}


def test_the_worker_memory_cap_turns_a_runaway_allocation_into_a_memory_error():
    import os
    import subprocess
    import sys

    import superionic

    env = {**os.environ, "PYTHONPATH": str(Path(superionic.__file__).resolve().parents[1])}  # this checkout's
    code = ("from superionic.structure.limits import cap_memory\nimport numpy\ncap_memory(2_000_000_000)\n"
            "try:\n    numpy.ones(500_000_000)\nexcept MemoryError:\n    print('MemoryError')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.stdout.strip() == "MemoryError", out.stderr


def test_a_recipe_can_switch_the_stage_off(tmp_path):
    from superionic.builders import build

    spec = _store_with_survivors(tmp_path)
    stores = open_stores(spec)
    try:
        (report,) = build(stores, "structure", {"structure": {"settings": {"enabled": False}}})
        assert report.processed == 0 and report.skipped == "switched off (structure.enabled: false)"
        assert stores.evidence.count() == 0
    finally:
        stores.close()
