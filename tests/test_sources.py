"""Corpus sources: the bundled snapshot and a user's folder of structure files."""

from __future__ import annotations

import json

import pytest
from pymatgen.core import Lattice, Structure

from superionic.sources import SourceError, load_source
from superionic.sources.base import make_material_doc
from superionic.sources.snapshot import bundled_structure, load_snapshot


def test_snapshot_is_bundled_and_complete():
    result = load_snapshot()
    assert len(result.materials) == 560
    assert not result.issues
    ids = {m.material_id for m in result.materials}
    assert len(ids) == 560
    with_structure = [m for m in result.materials if m.structure is not None]
    assert len(with_structure) == 15
    li3po4 = next(m for m in result.materials if m.material_id == "mp-13725")
    assert li3po4.formula == "Li3PO4" and li3po4.structure is not None
    assert set(li3po4.descriptors) == {"LLB", "SBI", "AFC", "LASD", "LLSD"}


def test_bundled_structure_matches_formula():
    s = bundled_structure("mp-1106183")
    assert s.composition.reduced_formula == "LiAlS2"
    assert bundled_structure("mp-does-not-exist") is None


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
