"""Issue 22: structural evidence (anion framework, Li sublattice, BVSE) and its builder."""

from __future__ import annotations

import pytest
from maggma.cli.serial import serial
from maggma.stores import MemoryStore
from pymatgen.core import Lattice, Structure

from superionic.builders.structure import StructureEvidenceBuilder
from superionic.sources.structures import bundled_structure
from superionic.structure.evidence import METHOD_VERSION, EvidenceSettings, compute_evidence
from superionic.structure.framework import anion_framework
from superionic.structure.li_sublattice import li_geometry
from superionic.structure.periodic_graph import max_dimensionality


def test_anion_framework_bcc_fcc_hcp():
    bcc = Structure(Lattice.cubic(4.0), ["S", "S", "Li"], [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.25, 0]])
    assert anion_framework(bcc)[0] == "bcc"
    assert anion_framework(bundled_structure("mp-1153"))[0] == "fcc"  # Li2S, antifluorite
    assert anion_framework(bundled_structure("mp-570935"))[0] == "hcp"  # LiI, wurtzite
    kind, rms = anion_framework(bundled_structure("mp-641703"))  # Li7P3S11 (Wang 2015: bcc-like S)
    assert kind == "bcc" and rms["fcc"] is None
    assert anion_framework(Structure(Lattice.cubic(3.0), ["Li"], [[0, 0, 0]]))[0] == "none"


def test_periodic_graph_dimensionality():
    assert max_dimensionality(1, [(0, 0, (1, 0, 0))]) == 1
    assert max_dimensionality(1, [(0, 0, (1, 0, 0)), (0, 0, (0, 1, 0))]) == 2
    assert max_dimensionality(2, [(0, 1, (0, 0, 0))]) == 0  # a finite pair


def test_li_sublattice_geometry():
    li2s = li_geometry(bundled_structure("mp-1153"))  # Li simple cubic, a = 2.835 A
    assert li2s["li_li_min"] == pytest.approx(2.835, abs=0.01)
    assert li2s["li_percolation_cutoff_3d"] == pytest.approx(li2s["li_li_min"], abs=0.002)
    assert li2s["li_network_dim"] == 3
    br = li_geometry(bundled_structure("mp-1222492"))  # Li3ErBr6: 1D first, 3D only at longer hops
    assert br["li_percolation_cutoff_1d"] < br["li_percolation_cutoff_3d"]
    assert 0 < br["free_volume_fraction"] < 1 and br["n_li_sites"] == 3


def test_bvse_failure_is_recorded_not_raised():
    pytest.importorskip("bvlain")
    doc = compute_evidence("mp-29410", bundled_structure("mp-29410"), EvidenceSettings(bvse=True))  # Li2B2S5: S-S
    assert doc.bvse_status in ("failed", "not_computed") and doc.bvse_reason and doc.bvse_e3d is None
    ok = compute_evidence("mp-1153", bundled_structure("mp-1153"), EvidenceSettings(bvse=True, bvse_max_grid_points=3000))
    assert ok.bvse_status == "ok" and 0.1 < ok.bvse_e3d < 1.5 and ok.bvse_resolution > 0.2
    assert ok.anion_framework == "fcc" and ok.evidence_id == f"mp-1153|{METHOD_VERSION}"


def test_builder_reruns_compute_nothing_and_changed_settings_recompute():
    scr, mat, ev = MemoryStore(key="material_id"), MemoryStore(key="material_id"), MemoryStore(key="evidence_id")
    for s in (scr, mat, ev):
        s.connect()
    scr.update([{"material_id": m, "passed": True} for m in ("mp-1153", "mp-1138", "nothing")], key="material_id")
    mat.update([{"material_id": "mp-1153", "descriptors": {"LLB": 0.5}}], key="material_id")
    off = EvidenceSettings(bvse=False)
    first = StructureEvidenceBuilder(scr, mat, ev, off, n_procs=1)
    serial(first, no_bars=True)
    assert first.n_processed == 3 and not first.failures  # no structure: a document with the reason
    assert ev.query_one({"material_id": "nothing"})["failures"] == {"structure": "no structure (inline or bundled)"}
    doc = ev.query_one({"material_id": "mp-1153"})
    assert doc["sendek"] == {"LLB": 0.5} and doc["bvse_status"] == "not_computed"
    again = StructureEvidenceBuilder(scr, mat, ev, off, n_procs=1)
    serial(again, no_bars=True)
    assert again.n_processed == 0
    changed = StructureEvidenceBuilder(scr, mat, ev, EvidenceSettings(bvse=False, max_anion_sites=10), n_procs=1)
    serial(changed, no_bars=True)
    assert changed.n_processed == 3 and ev.count() == 3
