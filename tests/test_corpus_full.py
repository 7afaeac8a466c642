"""The full offline corpus (all 21,755 MP 2025.02.12 Li materials), on the shipped data."""

from __future__ import annotations

import pytest

from superionic.sources import SourceError, load_source
from superionic.sources.corpus import load_full_corpus, read_index


def test_index_is_shipped_and_complete():
    rows = read_index()
    assert len(rows) == 21755 and len({r["material_id"] for r in rows}) == 21755
    bundled = [r for r in rows if r["bundled_structure"] == "1"]
    assert len(bundled) == 3524  # every transition-metal-free material + the 6 La ones of the 560


def test_values_are_by_composition_and_labelled():
    materials = load_full_corpus(limit=3000).materials
    assert len(materials) == 3000
    free = [m for m in materials if not m.value_notes == {}]
    assert free, "some transition-metal-free materials in the first 3,000"
    with_tm = [m for m in materials if m.value_notes == {}]
    assert all(m.band_gap_ev is None and not m.has_structure for m in with_tm)
    for m in free:
        assert m.has_structure and m.database_version == "2025.02.12"
        assert m.value_notes["band_gap_ev"].startswith(("composition-level", "unknown"))
    # polymorph policy: one representative per composition carries E_hull, the rest are unknown
    by_formula: dict[str, list] = {}
    for m in free:
        by_formula.setdefault(m.formula, []).append(m)
    for formula, docs in by_formula.items():
        carriers = [m for m in docs if "represents" not in m.value_notes["energy_above_hull_ev"]]
        assert len(carriers) == 1, formula
        for other in docs:
            if other is not carriers[0]:
                assert other.energy_above_hull_ev is None
                assert carriers[0].material_id in other.value_notes["energy_above_hull_ev"]


def test_corpus_option_errors():
    with pytest.raises(SourceError, match="Unknown corpus"):
        load_source("snapshot", corpus="icsd")


@pytest.mark.slow
def test_full_funnel_is_close_to_the_seeds_and_reruns_cleanly(monty_stores):
    from superionic.jobs.screening import run_screening

    first = run_screening(monty_stores, "snapshot", show_progress=False, corpus_name="full")
    assert first.funnel.funnel_id == "snapshot:full"
    steps = {s.name: s for s in first.funnel.steps}
    assert steps["corpus"].survivors == 21755
    seed_steps = {name: s for name, s in steps.items() if s.seed_survivors is not None}
    assert len(seed_steps) >= 5, sorted(seed_steps)  # corpus + the seed's four screens
    for name, s in seed_steps.items():  # each within 15 % of the seed's count (MP 2022)
        assert abs(s.survivors - s.seed_survivors) <= 0.15 * s.seed_survivors, name
    # the radioactive step comes after the seed's four and has no seed count
    assert list(steps)[-1] == "no_radioactive_element" and steps["no_radioactive_element"].seed_survivors is None
    hits = {d.formula for d in first.survivors}
    assert {"Li5B7S13", "LiAlS2", "Li3ErCl6", "LiBiS2"} <= hits
    assert all(d.has_structure for d in first.survivors)
    stamps = {d["material_id"]: d["last_updated"] for d in monty_stores.screening.query(
        {"passed": True}, properties=["material_id", "last_updated"])}
    run_screening(monty_stores, "snapshot", show_progress=False, corpus_name="full")
    assert monty_stores.screening.count() == monty_stores.materials.count() == 21755
    assert {d["material_id"]: d["last_updated"] for d in monty_stores.screening.query(
        {"passed": True}, properties=["material_id", "last_updated"])} == stamps
