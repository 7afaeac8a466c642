"""Corpus sources: the bundled snapshot and a user's folder of structure files."""

from __future__ import annotations

import json

import pytest
from pymatgen.core import Lattice, Structure

from superionic.sources import SourceError, load_source
from superionic.sources.base import make_material_doc
from superionic.sources.snapshot import bundled_structure, load_snapshot
from superionic.sources.structures import StructureBundleError, bundled_ids


def test_snapshot_is_bundled_and_complete():
    result = load_snapshot()
    assert len(result.materials) == 560
    assert not result.issues
    ids = {m.material_id for m in result.materials}
    assert len(ids) == 560
    # every one of the 560 has its bundled MP structure; none is parsed to screen
    assert all(m.has_structure and m.structure is None for m in result.materials)
    assert ids <= bundled_ids()
    li3po4 = next(m for m in result.materials if m.material_id == "mp-13725")
    assert li3po4.formula == "Li3PO4" and "2025.02.12" in li3po4.structure_source
    assert set(li3po4.descriptors) == {"LLB", "SBI", "AFC", "LASD", "LLSD"}
    inline = load_snapshot(limit=3, with_structures=True).materials
    assert all(m.structure and m.nsites == len(m.structure["sites"]) for m in inline)


def test_bundled_structures_match_their_formulas():
    snapshot = {m.material_id: m.formula for m in load_snapshot().materials}
    for material_id in ("mp-1106183", "mp-13725", "mp-532413", "mp-676361", "mp-1222492"):
        s = bundled_structure(material_id)
        assert s.composition.reduced_formula == snapshot[material_id]
        assert s.is_ordered
    assert bundled_structure("mp-does-not-exist") is None


def test_damaged_bundle_gives_a_clear_error(tmp_path):
    from superionic.sources.structures import bundle_path

    data = bytearray(bundle_path().read_bytes())
    damaged = tmp_path / "damaged.zip"
    # the first member (mp-... of the shortest id) starts after a 30-byte header + name
    for i in range(80, 400):
        data[i] ^= 0xFF
    damaged.write_bytes(bytes(data))
    first = sorted(bundled_ids(damaged), key=lambda m: (len(m), m))[0]
    with pytest.raises(StructureBundleError, match="damaged"):
        bundled_structure(first, damaged)
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(bytes(data[:1000]))
    with pytest.raises(StructureBundleError, match="cannot be opened"):
        bundled_ids(truncated)


def test_material_structure_finds_bundled_and_inline(memory_stores):
    from superionic.jobs.md_stage import material_structure

    docs = load_snapshot(limit=2).materials
    memory_stores.materials.update([d.to_store() for d in docs], key="material_id")
    assert material_structure(memory_stores, docs[0].material_id).composition.reduced_formula == docs[0].formula
    inline = make_material_doc(material_id="file:li2o", source="files", structure=_li2o())
    memory_stores.materials.update([inline.to_store()], key="material_id")
    assert len(material_structure(memory_stores, "file:li2o")) == 12
    with pytest.raises(ValueError, match="no structure"):
        material_structure(memory_stores, "mp-does-not-exist")


@pytest.mark.parametrize(
    "formula, reason",
    [("", "empty formula"), ("Li3Xx4", "unknown element"), ("Li((", "malformed"), ("NaCl", "no Li")],
)
def test_bad_records_give_reasons(formula, reason):
    with pytest.raises(ValueError, match=reason):
        make_material_doc(material_id="x", source="t", formula=formula)


def test_nan_band_gap_is_unknown_not_zero():
    doc = make_material_doc(material_id="x", source="t", formula="Li3PS4", band_gap_ev=float("nan"))
    assert doc.band_gap_ev is None
    assert any("band gap" in w for w in doc.warnings)


def _li2o() -> Structure:
    return Structure(Lattice.cubic(4.6), ["Li"] * 8 + ["O"] * 4,
                     [[0.25, 0.25, 0.25], [0.75, 0.75, 0.25], [0.75, 0.25, 0.75], [0.25, 0.75, 0.75],
                      [0.75, 0.75, 0.75], [0.25, 0.25, 0.75], [0.25, 0.75, 0.25], [0.75, 0.25, 0.25],
                      [0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])


def test_files_source_reads_and_records_failures(tmp_path):
    s = _li2o()
    s.to(filename=str(tmp_path / "li2o.cif"))
    s.to(filename=str(tmp_path / "POSCAR"))
    (tmp_path / "with_props.json").write_text(json.dumps({"structure": s.as_dict(), "band_gap": 5.0}))
    (tmp_path / "broken.cif").write_text("data_broken\n_cell_length_a nonsense\n")
    nacl = Structure(Lattice.cubic(5.6), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    nacl.to(filename=str(tmp_path / "nacl.json"))
    result = load_source("files", str(tmp_path))
    assert {m.formula for m in result.materials} == {"Li2O"}
    assert len(result.materials) == 3
    props = next(m for m in result.materials if m.material_id.endswith("with_props.json"))
    assert props.band_gap_ev == 5.0
    reasons = {i.record: i.reason for i in result.issues}
    assert "could not parse" in reasons["broken.cif"]
    assert "no Li" in reasons["nacl.json"]


def test_files_source_errors(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        load_source("files", str(tmp_path / "absent"))
    with pytest.raises(SourceError, match="No structure files"):
        load_source("files", str(tmp_path))
    with pytest.raises(SourceError, match="needs a folder"):
        load_source("files")
    with pytest.raises(SourceError, match="Unknown source"):
        load_source("icsd")


def _made_up(tmp_path) -> Structure:
    """A Li-Cl-O cell whose composition (Li6OCl4) MP-2019 does not hold."""
    return Structure(Lattice.cubic(7.0), ["Li"] * 6 + ["O"] + ["Cl"] * 4,
                     [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5], [0.25, 0.25, 0.25],
                      [0.75, 0.25, 0.25], [0.5, 0.5, 0.5], [0.75, 0.75, 0.25], [0.75, 0.25, 0.75],
                      [0.25, 0.75, 0.75], [0.75, 0.75, 0.75]])


def test_files_source_fills_what_it_can_and_says_why(tmp_path, memory_stores):
    from superionic.jobs.screening import run_screening

    _li2o().to(filename=str(tmp_path / "li2o.cif"))
    _made_up(tmp_path).to(filename=str(tmp_path / "made_up.cif"))
    _made_up(tmp_path).to(filename=str(tmp_path / "made_up_with_csv.cif"))
    (tmp_path / "properties.csv").write_text("file,band_gap,energy_above_hull_ev\nmade_up_with_csv.cif,4.2,0\n")
    docs = {m.material_id.split(":")[1]: m for m in load_source("files", str(tmp_path)).materials}
    li2o = docs["li2o.cif"]  # composition known to MP-2019: composition-level values, labelled
    assert li2o.band_gap_ev > 4 and li2o.energy_above_hull_ev == 0.0
    assert "composition-level" in li2o.value_notes["band_gap_ev"]
    made_up = docs["made_up.cif"]
    assert made_up.band_gap_ev is None and "unknown" in made_up.value_notes["band_gap_ev"]
    supplied = docs["made_up_with_csv.cif"]
    assert (supplied.band_gap_ev, supplied.energy_above_hull_ev) == (4.2, 0.0)
    assert "properties.csv" in supplied.value_notes["band_gap_ev"]

    outcome = run_screening(memory_stores, "files", str(tmp_path), show_progress=False)
    by_file = {d["material_id"].split(":")[1]: d for d in memory_stores.screening.query()}
    assert by_file["li2o.cif"]["passed"]  # 4.82 V in the seed convention
    assert by_file["made_up.cif"]["verdict"] == "unknown"
    assert "Li6Cl4O is not in the bundled MP-2019 data" in by_file["made_up.cif"]["criteria"][1]["reason"]
    # the CSV row gives gap and E_hull; V_ox is unknown (no energies for Li6OCl4), with the reason
    csv_doc = by_file["made_up_with_csv.cif"]
    assert csv_doc["stopped_at"] == "oxidation_voltage" and csv_doc["verdict"] == "unknown"
    assert len(outcome.unknown) == 2

