"""Stability windows from the Li grand-potential phase diagram, on real MP entries."""

from __future__ import annotations

import csv
import gzip
import json
from functools import cache
from pathlib import Path

import pytest
from pymatgen.core import Composition
from pymatgen.entries.computed_entries import ComputedEntry

from superionic.screening.bundled_entries import BundledEntries, entries_for_chemsys
from superionic.screening.entry_consistency import check_entry_consistency
from superionic.screening.published_windows import published_window
from superionic.screening.voltage import (
    EntryMixingError,
    StabilityWindowError,
    stability_window,
)
from superionic.screening.window_lookup import find_stability_window


@pytest.fixture
def shared(shared_data) -> Path:
    """shared/data (the conftest fixture, under the short name these tests use)."""
    return shared_data


@cache
def bundle(*sets: str) -> BundledEntries:
    return BundledEntries(sets=sets or None)


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@cache
def li_s_x_agreement(reference_csv: Path) -> dict:
    """Compute every reference Li-S-X window the bundle allows; deviation statistics."""
    rows = _read_csv(reference_csv)
    deviations, missing = [], []
    for row in rows:
        comp = Composition(row["composition"])
        entries = bundle("mp_li_s_x").get_entries_in_chemsys([e.symbol for e in comp.elements])
        if entries is None:
            missing.append(row["pretty_formula"])
            continue
        window = stability_window(comp, entries)
        deviations.append(
            (
                row["pretty_formula"],
                abs(window.reduction_limit_v - float(row["lower_bound"])),
                abs(window.oxidation_limit_v - float(row["upper_bound"])),
            )
        )
    return {"n": len(rows), "deviations": deviations, "missing": missing}


def test_li_s_x_windows_match_reference(shared):
    stats = li_s_x_agreement(shared / "reference" / "seoinback_li_s_x_stability_windows.csv")
    devs = stats["deviations"]
    within = sum(1 for _, d_red, d_ox in devs if d_red <= 0.05 and d_ox <= 0.05)
    worst = max(max(d_red, d_ox) for _, d_red, d_ox in devs)
    print(f"Li-S-X: {len(devs)}/{stats['n']} computed, {within} within 0.05 V "
          f"(both limits), max deviation {worst:.2e} V")
    assert stats["missing"] == []  # the bundle covers all 27 systems
    assert len(devs) == stats["n"] == 306
    assert within == len(devs)
    assert worst < 1e-3


def test_li3po4_and_li2o_textbook_windows():
    li_p_o = bundle("mp_legacy_fe_li_o_p").get_entries_in_chemsys("Li-P-O")
    li3po4 = stability_window("Li3PO4", li_p_o)
    # published MP-based: 0.69-4.21 V (Zhu 2015, Richards 2016)
    assert li3po4.oxidation_limit_v == pytest.approx(4.2, abs=0.05)
    assert li3po4.reduction_limit_v == pytest.approx(0.69, abs=0.02)
    assert li3po4.oxidation_products == ["Li4P2O7", "O2"]
    assert li3po4.reduction_products == ["Li2O", "Li3P"]
    assert li3po4.e_above_hull_ev_per_atom == pytest.approx(0.0, abs=1e-8)
    assert li3po4.chemsys == "Li-O-P"
    assert not li3po4.is_point_window and li3po4.warnings == []

    for entries in (li_p_o, bundle("mp_li_s_x").get_entries_in_chemsys("Li-O")):
        li2o = stability_window("Li2O", entries)
        assert li2o.oxidation_limit_v == pytest.approx(2.9, abs=0.05)
        assert li2o.reduction_limit_v == 0.0  # stable against Li metal
        assert li2o.reduction_products == [] and li2o.oxidation_products == ["Li2O2"]


def test_corrections_matter_and_are_kept():
    """The stored energies carry MP2020 corrections; removing them moves V_ox by 0.34 V."""
    entries = bundle("mp_legacy_fe_li_o_p").get_entries_in_chemsys("Li-P-O")
    bare = [ComputedEntry(e.composition, e.uncorrected_energy, entry_id=e.entry_id)
            for e in entries]
    corrected = stability_window("Li3PO4", entries).oxidation_limit_v
    uncorrected = stability_window("Li3PO4", bare).oxidation_limit_v
    assert corrected - uncorrected == pytest.approx(0.34, abs=0.02)


def test_compound_above_hull_gets_its_decomposition_window():
    entries = bundle().get_entries_in_chemsys("Li-P-S")
    li7ps6 = stability_window("Li7PS6", entries)
    assert li7ps6.e_above_hull_ev_per_atom > 0.02
    assert li7ps6.decomposition == ["Li2S", "Li3PS4"]
    assert any("above the hull" in w for w in li7ps6.warnings)
    # the Li2S + Li3PS4 assemblage is stable between their windows' overlap
    assert li7ps6.reduction_limit_v == pytest.approx(
        stability_window("Li3PS4", entries).reduction_limit_v, abs=1e-6)
    assert li7ps6.oxidation_limit_v == pytest.approx(
        stability_window("Li2S", entries).oxidation_limit_v, abs=1e-6)


def test_point_window_and_li_free_composition():
    entries = bundle().get_entries_in_chemsys("Li-Na-S")
    point = stability_window("Na(Li3S2)2", entries)
    assert point.is_point_window
    assert point.width_v == pytest.approx(0.0, abs=1e-6)
    assert point.reduction_limit_v == pytest.approx(1.9608, abs=1e-3)
    assert point.e_above_hull_ev_per_atom is None  # no entry with this formula

    al2s3 = stability_window("Al2S3", bundle().get_entries_in_chemsys("Al-S"))
    assert al2s3.oxidation_limit_v is None and al2s3.width_v is None
    assert al2s3.reduction_limit_v > 1.0


def test_own_entry_is_added_to_the_diagram():
    entries = bundle().get_entries_in_chemsys("Li-S")
    li2s = min((e for e in entries if e.composition.reduced_formula == "Li2S"),
               key=lambda e: e.energy_per_atom)
    # a hypothetical Li2S polymorph 0.1 eV/atom more stable than MP's ground state
    own = ComputedEntry(li2s.composition, li2s.energy - 0.1 * li2s.composition.num_atoms,
                        entry_id="user-1")
    window = stability_window(own, entries)
    assert window.matched_entry_id == "user-1"
    assert window.e_above_hull_ev_per_atom == pytest.approx(0.0, abs=1e-8)
    assert window.oxidation_limit_v > stability_window("Li2S", entries).oxidation_limit_v


def test_missing_entries_give_reasons():
    entries = bundle().get_entries_in_chemsys("Li-S")
    no_li_metal = [e for e in entries if e.composition.reduced_formula != "Li"]
    with pytest.raises(StabilityWindowError, match="no elemental reference entry for Li"):
        stability_window("Li2S", no_li_metal)
    with pytest.raises(StabilityWindowError, match="cannot parse formula"):
        stability_window("Li2S)", entries)
    with pytest.raises(StabilityWindowError, match="unknown element"):
        stability_window("Xx2S", entries)

    assert BundledEntries().get_entries_in_chemsys("La-Li-O-Zr") is None
    assert entries_for_chemsys("La-Li-O-Zr") is None
    lookup = find_stability_window("Li7La3Zr2O12", use_published=False)
    assert lookup.status == "unknown" and lookup.window is None
    assert any("La-Li-O-Zr" in r for r in lookup.reasons)
    bad = find_stability_window("Xx2O")
    assert bad.status == "unknown" and "unknown element" in bad.reasons[0]


def test_lookup_prefers_computed_then_published():
    computed = find_stability_window("Li3PO4")
    assert computed.status == "computed"
    assert computed.window.entry_source == "mp2019_e_form"  # the default energy set
    assert computed.window.method == "grand_potential_phase_diagram"
    assert computed.published.oxidation_limit_v == pytest.approx(4.201)  # comparison column
    # the bundled MP2020 set agrees (cross-check), each diagram from one set
    cross = find_stability_window("Li3PO4", BundledEntries())
    assert cross.window.entry_source == "bundled:mp_legacy_fe_li_o_p"
    assert cross.window.oxidation_limit_v == pytest.approx(computed.window.oxidation_limit_v, abs=0.05)

    published = find_stability_window("Li7La3Zr2O12")
    assert published.status == "published"
    assert published.window.method == "published:Wang2024"
    assert published.window.oxidation_limit_v == pytest.approx(2.91)
    assert published.reasons  # why it was not computed


def test_published_window_lookup():
    li3po4 = published_window("Li3PO4")
    assert li3po4.method == "published:Wang2024"
    assert (li3po4.reduction_limit_v, li3po4.oxidation_limit_v) == (0.687, 4.201)
    assert "ICSD 20208" in li3po4.reference
    # several rows: the lowest oxidation limit, the others in the warnings
    licl4 = published_window("LiAlCl4")
    assert licl4.oxidation_limit_v == pytest.approx(2.00651)
    assert any("4.50" in w for w in licl4.warnings)
    assert published_window("Li2(PO3)2") is not None  # reduced-formula match (LiPO3)
    assert published_window("Li99Xe") is None


def test_mixed_database_versions_are_refused():
    new = bundle("mp_li_s_x").get_entries_in_chemsys("Li-O")
    legacy = bundle("mp_legacy_fe_li_o_p").get_entries_in_chemsys("Li-O")
    assert check_entry_consistency(new) == ([], [])
    assert check_entry_consistency(legacy) == ([], [])
    with pytest.raises(EntryMixingError, match="different energies"):
        stability_window("Li2O", new + legacy)
    refs = BundledEntries().elemental_references()
    problems, warnings = check_entry_consistency(new + [refs["O"]])
    assert problems == [] and "thermo style" in warnings[0]
    # corrected and uncorrected energies in one set
    li2o = next(e for e in new if e.composition.reduced_formula == "Li2O")
    bare = ComputedEntry(li2o.composition, li2o.uncorrected_energy, entry_id="bare-Li2O")
    assert "no energy correction" in check_entry_consistency(new + [bare])[1][0]


def test_computed_vs_wang2024():
    """Report agreement with the published table where the bundle covers the system."""
    from importlib import resources

    rows = _read_csv(Path(str(resources.files("superionic") / "data" / "reference" / "esw_wang2024.csv")))
    d_red, d_ox = [], []
    for row in rows:
        comp = Composition(row["formula"])
        symbols = [e.symbol for e in comp.elements]
        if "Li" not in symbols or (entries := bundle().get_entries_in_chemsys(symbols)) is None:
            continue
        window = stability_window(comp, entries)
        d_red.append(abs(window.reduction_limit_v - float(row["reduction_limit_V"])))
        d_ox.append(abs(window.oxidation_limit_v - float(row["oxidation_limit_V"])))
    n_red, n_ox = sum(d <= 0.05 for d in d_red), sum(d <= 0.05 for d in d_ox)
    median_ox = sorted(d_ox)[len(d_ox) // 2]
    print(f"Wang2024: {len(d_ox)} rows compared; reduction within 0.05 V: {n_red}, "
          f"oxidation within 0.05 V: {n_ox}; median |dV_ox| {median_ox:.2f} V, "
          f"max {max(d_ox):.2f} V")
    assert len(d_ox) == 33
    assert n_red >= 20 and n_ox >= 12  # the table mixes methods: see PROVENANCE.md


def test_bundled_entries_match_shared_sources(shared):
    corpus = shared / "corpus"
    for name, bundled_name in [
        ("mp_entries_legacy/Fe_Li_O_P_entries.json.gz", "mp_legacy_fe_li_o_p_entries.json.gz"),
        ("mp_entries_legacy/Li-Fe-O.json.gz", "mp_legacy_li_fe_o_entries.json.gz"),
        ("mp_entries_li_s_x.json.gz", "mp_entries_li_s_x.json.gz"),
    ]:
        with gzip.open(corpus / name, "rt") as handle:
            original = json.load(handle)
        with gzip.open(BundledEntries().entries_dir / bundled_name, "rt") as handle:
            shipped = json.load(handle)
        if isinstance(original, dict):
            original = [e for v in original.values() for e in v]
            shipped = [e for v in shipped.values() for e in v]
        assert [(e["entry_id"], e["energy"], e["correction"]) for e in original] == [
            (e["entry_id"], e["energy"], e["correction"]) for e in shipped
        ]


def test_mp2019_energies_agree_with_the_bundled_mp2020_sets():
    """Cross-check: V_ox from the MP-2019 formation energies vs the bundled Li-S-X entries."""
    from statistics import median

    from superionic.screening.mp2019_energies import MP2019FormationEnergies
    from superionic.sources.snapshot import load_snapshot_table

    mp2019, li_s_x = MP2019FormationEnergies(), bundle("mp_li_s_x")
    diffs = {}
    for _, formula in load_snapshot_table():
        comp = Composition(formula)
        symbols = [e.symbol for e in comp.elements]
        if not mp2019.has_formula(formula) or (entries := li_s_x.get_entries_in_chemsys(symbols)) is None:
            continue
        ours = stability_window(comp, mp2019.phase_diagram([*symbols, "Li"]), entry_source="mp2019_e_form")
        diffs[formula] = ours.oxidation_limit_v - stability_window(comp, entries).oxidation_limit_v
    spread = sorted(abs(d) for d in diffs.values())
    print(f"MP-2019 vs bundled Li-S-X: {len(diffs)} compositions, median {median(diffs.values()):+.3f} V, "
          f"mean |diff| {sum(spread) / len(spread):.3f} V, max {spread[-1]:.2f} V")
    assert len(diffs) >= 15
    assert abs(median(diffs.values())) < 0.05 and sum(spread) / len(spread) < 0.15
