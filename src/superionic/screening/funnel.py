"""The screening funnel: criteria applied in order, survivors counted after each step."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from superionic.schemas.material import MaterialDoc, SourceIssue
from superionic.schemas.screening import CriterionResult, FunnelDoc, FunnelStep, ScreeningDoc
from superionic.screening.anions import classify_anions
from superionic.screening.conventions import energy_set_label, seed_voltage_v
from superionic.screening.criteria import Criterion, MinOxidationVoltage

SEED_FUNNEL = {
    "corpus": 20237,
    "no_transition_metal": 3190,
    "band_gap": 1859,
    "energy_above_hull": 567,
    "oxidation_voltage": 468,
}
"""Survivors after each step in the seed paper (Kang et al. 2023, Fig. 1b), MP 2022."""


def screen_material(material: MaterialDoc, criteria: Sequence[Criterion]) -> ScreeningDoc:
    """Apply ``criteria`` in order; once one does not pass, the rest are 'not_evaluated'."""
    results: list[CriterionResult] = []
    stopped: CriterionResult | None = None
    for criterion in criteria:
        if stopped is not None:
            results.append(
                CriterionResult(
                    name=criterion.name,
                    value=None,
                    threshold=criterion.threshold,
                    verdict="not_evaluated",
                    reason=f"removed earlier by {stopped.name}",
                )
            )
            continue
        result = criterion.evaluate(material)
        results.append(result)
        if result.verdict != "pass":
            stopped = result
    anions = classify_anions(material.formula)
    window_fields = _window_fields(material, criteria)
    units, flags = _molecular_fields(material)
    return ScreeningDoc(
        material_id=material.material_id,
        formula=material.formula,
        source=material.source,
        criteria=results,
        passed=stopped is None,
        verdict="pass" if stopped is None else stopped.verdict,
        stopped_at=None if stopped is None else stopped.name,
        anion_type=anions.anion_type,
        anion_subtype=anions.subtype,
        has_structure=material.has_structure or material.structure is not None,
        molecular_units=units,
        structure_flags=flags,
        **window_fields,
    )


def _molecular_fields(material: MaterialDoc) -> tuple[dict[str, int], list[str]]:
    """Hydrate / molecular-salt units from the structure (only H-bearing compounds are read)."""
    if "H" not in material.elements:
        return {}, []
    from superionic.structure.molecular_units import molecular_summary
    from superionic.structure.load import structure_of

    try:
        structure = structure_of(material)
    except Exception as exc:  # noqa: BLE001 - a damaged structure must not stop the screening
        return {}, [f"structure unreadable, molecular units unknown ({type(exc).__name__})"]
    if structure is None:
        return {}, []
    return molecular_summary(structure)


def _window_fields(material: MaterialDoc, criteria: Sequence[Criterion]) -> dict:
    for criterion in criteria:
        if isinstance(criterion, MinOxidationVoltage):
            fields: dict = {"voltage_convention": criterion.convention}
            lookup = criterion.lookups.pop(material.material_id, None)
            if lookup is not None and lookup.published is not None:
                fields["published_oxidation_limit_v"] = lookup.published.oxidation_limit_v
            if lookup is not None and lookup.window is not None:
                w = lookup.window
                fields |= {
                    "oxidation_limit_v": w.oxidation_limit_v,
                    "oxidation_voltage_seed_v": seed_voltage_v(w),
                    "reduction_limit_v": w.reduction_limit_v,
                    "window_method": w.method,
                    "window_entry_source": w.entry_source,
                    "energy_set": energy_set_label(w, material.database_version),
                    "oxidation_products": list(w.oxidation_products),
                }
            return fields
    return {}


def build_funnel(
    docs: Sequence[ScreeningDoc],
    criteria: Sequence[Criterion],
    *,
    source: str,
    thresholds: dict,
    issues: Sequence[SourceIssue] = (),
) -> FunnelDoc:
    """Count survivors, failures and unknowns after each step."""
    steps = [FunnelStep(name="corpus", threshold="Li-containing materials", survivors=len(docs),
                        failed=0, unknown=0, seed_survivors=SEED_FUNNEL["corpus"])]
    alive = len(docs)
    for i, criterion in enumerate(criteria):
        verdicts = Counter(doc.criteria[i].verdict for doc in docs)
        alive -= verdicts["fail"] + verdicts["unknown"]
        steps.append(
            FunnelStep(
                name=criterion.name,
                threshold=criterion.threshold,
                survivors=alive,
                failed=verdicts["fail"],
                unknown=verdicts["unknown"],
                seed_survivors=SEED_FUNNEL.get(criterion.name),
            )
        )
    survivors = [d for d in docs if d.passed]
    return FunnelDoc(
        funnel_id=source,
        source=source,
        steps=steps,
        n_skipped_records=len(issues),
        skipped=[{"record": i.record, "reason": i.reason} for i in issues],
        survivor_ids=[d.material_id for d in survivors],
        anion_counts=dict(Counter(d.anion_type or "unknown" for d in survivors).most_common()),
        thresholds=thresholds,
        window_methods=dict(Counter(_method_label(d.window_method) for d in survivors)),
        voltage_convention=next(
            (c.convention for c in criteria if isinstance(c, MinOxidationVoltage)), None),
        energy_sets=dict(Counter(d.energy_set for d in docs if d.energy_set).most_common()),
    )


def _method_label(method: str | None) -> str:
    if method is None:
        return "none"
    return "computed" if method == "grand_potential_phase_diagram" else method


def screen_all(
    materials: Sequence[MaterialDoc],
    criteria: Sequence[Criterion],
    on_progress: Callable[[int], None] | None = None,
) -> list[ScreeningDoc]:
    """Screen every material; ``on_progress(1)`` after each (for a progress bar)."""
    docs = []
    for material in materials:
        docs.append(screen_material(material, criteria))
        if on_progress:
            on_progress(1)
    return docs
