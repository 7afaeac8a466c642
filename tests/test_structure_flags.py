"""Issue 22, item 4: radioactive compounds screened out after the seed's four screens;
hydrates and molecular salts flagged from the MP structure and shown in the candidate table."""

from __future__ import annotations

from pymatgen.core import Lattice, Structure

from superionic.results import join_row
from superionic.schemas.material import MaterialDoc
from superionic.screening.criteria import NoRadioactiveElement, default_criteria
from superionic.screening.funnel import build_funnel, screen_all
from superionic.settings import ScreeningThresholds
from superionic.sources.structures import bundled_structure
from superionic.structure.molecular_units import finite_units, molecular_summary


def _mat(formula: str, elements: list[str], mid: str) -> MaterialDoc:
    return MaterialDoc(material_id=mid, formula=formula, elements=elements, chemsys="-".join(elements),
                       nelements=len(elements), band_gap_ev=5.0, energy_above_hull_ev=0.0, source="test")


def test_radioactive_step_runs_after_the_seed_four_and_a_switch_brings_them_back():
    names = [c.name for c in default_criteria()]
    assert names == ["no_transition_metal", "band_gap", "energy_above_hull", "oxidation_voltage",
                     "no_radioactive_element"]
    off = default_criteria(ScreeningThresholds(exclude_radioactive=False))
    assert "no_radioactive_element" not in [c.name for c in off]
    crit = NoRadioactiveElement()
    result = crit.evaluate(_mat("Li4UO5", ["Li", "O", "U"], "mp-7714"))
    assert result.verdict == "fail" and "U" in result.reason and "radioactive" in result.reason
    assert crit.evaluate(_mat("LiBiS2", ["Bi", "Li", "S"], "x")).verdict == "pass"  # Bi counts as stable
    assert crit.evaluate(_mat("Li6Th3N6", ["Li", "N", "Th"], "y")).verdict == "fail"


def test_snapshot_funnel_keeps_the_seed_counts_and_drops_u_th_pa():
    from superionic.jobs.screening import screen_corpus

    out = screen_corpus(show_progress=False)
    steps = {s.name: s for s in out.funnel.steps}
    assert steps["oxidation_voltage"].survivors == 453  # the seed's four: unchanged
    radio = steps["no_radioactive_element"]
    assert radio.seed_survivors is None and radio.failed == 13 and radio.survivors == 440
    assert not any({"U", "Th", "Pa"} & set(m.elements) for m in out.materials
                   if m.material_id in set(out.funnel.survivor_ids))
    flagged = {d.formula: d.structure_flags for d in out.survivors if d.structure_flags}
    assert any("water" in f for f in flagged["LiH2ClO5"])
    assert any("ammonium" in f for f in flagged["LiH4SNO4"])
    assert "LiBH4" not in flagged and "LiHO" not in flagged  # borohydride, hydroxide: not flags


def test_molecular_units_on_real_mp_structures():
    units, flags = molecular_summary(bundled_structure("mp-1195620"))  # LiClO4 . H2O
    assert units == {"H2O": 4} and flags == ["water (hydrate): 4 H2O per cell"]
    units, flags = molecular_summary(bundled_structure("mp-1192133"))  # LiBH4
    assert units == {"BH4": 4} and flags == []
    units, flags = molecular_summary(bundled_structure("mp-1153"))  # Li2S: no H, not analysed
    assert units == {} and flags == []


def test_a_periodic_oh_chain_is_not_a_molecule_but_an_isolated_water_is():
    # O-H...O with H midway (1.0 A to each O): an infinite chain, never a finite unit
    chain = Structure(Lattice.orthorhombic(2.0, 6.0, 6.0), ["O", "H"], [[0, 0, 0], [0.5, 0, 0]])
    assert finite_units(chain) == []
    water = Structure(Lattice.cubic(8.0), ["Li", "O", "H", "H"],
                      [[0.5, 0.5, 0.5], [0, 0, 0], [0.12, 0, 0], [-0.03, 0.117, 0]])
    assert finite_units(water) == ["H2O"]
    assert molecular_summary(water)[1] == ["water (hydrate): 1 H2O per cell"]


def test_flag_is_shown_in_the_candidate_row():
    row = join_row("mp-1195620", {"formula": "LiH2ClO5", "verdict": "pass",
                                  "structure_flags": ["water (hydrate): 4 H2O per cell"]}, {}, {})
    assert row["structure_flags"] == "water (hydrate): 4 H2O per cell"
    assert join_row("x", {"formula": "Li2S"}, {}, {})["structure_flags"] is None
    docs = screen_all([_mat("Li4UO5", ["Li", "O", "U"], "mp-7714")], default_criteria())
    funnel = build_funnel(docs, default_criteria(), source="t", thresholds={})
    assert funnel.survivor_ids == []


def test_candidate_table_puts_in_domain_first_and_says_which_evidence_spoke(memory_stores):
    from superionic.results import candidate_rows

    screening = [{"material_id": m, "formula": f, "passed": True, "verdict": "pass", "structure_flags": flags}
                 for m, f, flags in (("a", "Cs2LiPrI6", []), ("b", "Li5B7S13", []),
                                     ("c", "LiH2ClO5", ["water (hydrate): 4 H2O per cell"]))]
    memory_stores.screening.update(screening, key="material_id")
    preds = [{"prediction_id": f"{m}|model", "material_id": m, "model_id": "model", "rank": r, "in_domain": dom,
              "prob_calibrated": p} for m, r, dom, p in (("a", 1, False, 0.7), ("b", 3, True, 0.14),
                                                           ("c", 2, True, 0.5))]
    memory_stores.predictions.update(preds, key="prediction_id")
    rows = candidate_rows(memory_stores)
    assert [r["material_id"] for r in rows] == ["c", "b", "a"]  # in domain by rank, then out of domain
    assert rows[0]["evidence"] == ("composition classifier, in domain; structure flag: water (hydrate): "
                                   "4 H2O per cell")
    assert rows[2]["evidence"].endswith("out of domain: ranked after in-domain candidates")
