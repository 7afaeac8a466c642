"""Screening criteria and the funnel, on real documents from the bundled snapshot."""

from __future__ import annotations

from superionic.jobs.screening import run_screening
from superionic.screening.criteria import (
    MaxEnergyAboveHull,
    MinBandGap,
    MinOxidationVoltage,
    NoTransitionMetal,
    default_criteria,
)
from superionic.screening.funnel import build_funnel, screen_all, screen_material
from superionic.settings import ScreeningThresholds
from superionic.sources.base import make_material_doc


def _mat(formula, gap=5.0, ehull=0.0, mid=None):
    return make_material_doc(material_id=mid or formula, source="test", formula=formula,
                             band_gap_ev=gap, energy_above_hull_ev=ehull)


def test_transition_metal_rule():
    crit = NoTransitionMetal()
    assert crit.evaluate(_mat("LiFePO4")).verdict == "fail"
    assert crit.evaluate(_mat("LiLaO2")).verdict == "fail"  # La is d-block here
    for ok in ("Li3ErCl6", "LiBiS2", "Li2GePbS4", "Li2SnO3", "Li3PS4"):
        assert crit.evaluate(_mat(ok)).verdict == "pass", ok


def test_missing_values_are_unknown_never_pass():
    assert MinBandGap(1.0).evaluate(_mat("Li3PS4", gap=None)).verdict == "unknown"
    assert MaxEnergyAboveHull().evaluate(_mat("Li3PS4", ehull=None)).verdict == "unknown"
    assert MinBandGap(1.0).evaluate(_mat("Li3PS4", gap=0.5)).verdict == "fail"
    assert MaxEnergyAboveHull(0.0).evaluate(_mat("Li3PS4", ehull=0.02)).verdict == "fail"
    assert MaxEnergyAboveHull(0.025).evaluate(_mat("Li3PS4", ehull=0.02)).verdict == "pass"


def test_oxidation_voltage_computed_published_unknown():
    crit = MinOxidationVoltage(3.7)
    li3po4 = crit.evaluate(_mat("Li3PO4"))  # computed from bundled legacy Li-P-O entries
    assert li3po4.verdict == "pass" and 4.0 < li3po4.value < 4.4
    li2o = crit.evaluate(_mat("Li2O"))
    assert li2o.verdict == "fail" and 2.7 < li2o.value < 3.0
    unknown = crit.evaluate(_mat("Li2CaSiO4Xe"))  # no entries, no published value
    assert unknown.verdict == "unknown" and unknown.value is None
    assert "no published window" in unknown.reason
    strict = MinOxidationVoltage(3.7, use_published=False)
    assert strict.evaluate(_mat("LiLuF4")).verdict == "unknown"


def test_screen_material_stops_at_first_non_pass():
    criteria = default_criteria()
    doc = screen_material(_mat("LiFeO2"), criteria)
    assert not doc.passed and doc.stopped_at == "no_transition_metal" and doc.verdict == "fail"
    assert [c.verdict for c in doc.criteria][1:] == ["not_evaluated"] * 3
    good = screen_material(_mat("Li3PO4"), criteria)
    assert good.passed and good.anion_type == "oxide"
    assert good.window_method == "grand_potential_phase_diagram"
    assert good.oxidation_limit_v > 3.7 and good.reduction_limit_v is not None


def test_funnel_counts_and_thresholds_configurable():
    mats = [_mat("Li3PO4"), _mat("LiFeO2"), _mat("Li2O"), _mat("Li3PS4", gap=None, mid="gapless"),
            _mat("Li3PO4", ehull=0.1, mid="above-hull")]
    criteria = default_criteria()
    docs = screen_all(mats, criteria)
    funnel = build_funnel(docs, criteria, source="test", thresholds={})
    survivors = [s.survivors for s in funnel.steps]
    assert survivors == [5, 4, 3, 2, 1]
    assert funnel.steps[2].unknown == 1 and funnel.steps[3].failed == 1
    assert funnel.survivor_ids == ["Li3PO4"]
    loose = default_criteria(ScreeningThresholds(exclude_transition_metals=False, max_e_above_hull_ev=0.2,
                                                 min_oxidation_voltage_v=2.0))
    docs = screen_all(mats, loose)
    # no TM screen, looser hull and voltage: LiFeO2 (legacy Li-Fe-O entries), Li2O and the
    # above-hull Li3PO4 now pass; the gapless row stays 'unknown'
    passed = {d.material_id for d in docs if d.passed}
    assert passed == {"Li3PO4", "LiFeO2", "Li2O", "above-hull"}
    assert len(loose) == 3


def test_run_screening_on_snapshot_stores_and_reruns_without_duplicates(monty_stores):
    first = run_screening(monty_stores, "snapshot", show_progress=False)
    steps = {s.name: s for s in first.funnel.steps}
    assert steps["corpus"].survivors == 560
    assert steps["no_transition_metal"].failed > 0  # La compounds
    assert steps["oxidation_voltage"].unknown > 0   # offline: honest unknowns
    assert 0 < steps["oxidation_voltage"].survivors < steps["energy_above_hull"].survivors
    assert first.funnel.steps[-1].survivors == len(first.survivors)
    assert sum(first.funnel.anion_counts.values()) == len(first.survivors)
    counts = (monty_stores.materials.count(), monty_stores.screening.count(), monty_stores.funnel.count())
    assert counts == (560, 560, 1)
    stamps = {d["material_id"]: d["last_updated"] for d in monty_stores.screening.query()}
    second = run_screening(monty_stores, "snapshot", show_progress=False)
    # unchanged documents are not rewritten: downstream builders see nothing new
    assert {d["material_id"]: d["last_updated"] for d in monty_stores.screening.query()} == stamps
    assert (monty_stores.materials.count(), monty_stores.screening.count(), monty_stores.funnel.count()) == counts
    assert second.funnel.survivor_ids == first.funnel.survivor_ids
