"""Screening documents: one per material, and the funnel of a screening run."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from superionic.schemas.base import SuperionicDoc

Verdict = Literal["pass", "fail", "unknown", "not_evaluated"]


class CriterionResult(BaseModel):
    """One screening criterion applied to one material."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Criterion name, e.g. 'band_gap'.")
    value: float | str | list[str] | None = Field(
        description="The material's value for this criterion (None when unknown)."
    )
    threshold: str = Field(description="The rule applied, e.g. '>= 1.0 eV'.")
    verdict: Verdict = Field(
        description="'pass', 'fail', 'unknown' (data missing: never a silent pass) or "
        "'not_evaluated' (an earlier step already removed the material)."
    )
    reason: str = Field(description="Why, in words.")


class ScreeningDoc(SuperionicDoc):
    """The screening of one material: every criterion, the verdict, the anion type."""

    material_id: str = Field(description="Key: the material's id (as in MaterialDoc).")
    formula: str = Field(description="Reduced formula.")
    source: str = Field(description="Corpus source the material came from.")
    criteria: list[CriterionResult] = Field(description="Criteria in funnel order.")
    passed: bool = Field(description="True when every criterion passed (a survivor).")
    verdict: Verdict = Field(
        description="'pass' for survivors; else the verdict of the first criterion that "
        "did not pass ('fail' or 'unknown')."
    )
    stopped_at: str | None = Field(
        default=None, description="Name of the first criterion that did not pass."
    )
    anion_type: str | None = Field(
        default=None, description="Anion class as in the seed's Fig. 2c (oxide, halide, ...)."
    )
    anion_subtype: str | None = Field(
        default=None, description="Halide kind or the anions of a 'mixed' compound."
    )
    oxidation_limit_v: float | None = Field(
        default=None,
        description="Physical V_ox vs Li/Li+ (V), the 'li_metal' convention, if a window was found.",
    )
    oxidation_voltage_seed_v: float | None = Field(
        default=None,
        description="V_ox in the seed's reconstructed convention: oxidation_limit_v + "
        "|E(Li metal) per atom| of the energy set (1.909 V on MP GGA).",
    )
    voltage_convention: str | None = Field(
        default=None, description="Convention the oxidation-voltage verdict used: 'seed' or 'li_metal'."
    )
    energy_set: str | None = Field(
        default=None,
        description="Energies (and MP version) the window came from, e.g. 'MP-2019 formation "
        "energies (... legacy corrections)' or 'mp-api 2025.02.12 (MP2020 corrections)'.",
    )
    published_oxidation_limit_v: float | None = Field(
        default=None,
        description="Published V_ox vs Li/Li+ (Wang 2024) for the formula, a comparison column; "
        "the verdict uses it only when nothing could be computed (window_method 'published:*').",
    )
    reduction_limit_v: float | None = Field(
        default=None, description="Reduction limit vs Li/Li+ (V), if a window was found."
    )
    window_method: str | None = Field(
        default=None,
        description="'grand_potential_phase_diagram' (computed), 'published:<source>' "
        "(looked up, not computed) or None.",
    )
    window_entry_source: str | None = Field(
        default=None, description="Energy set / database the computed window used."
    )
    oxidation_products: list[str] = Field(
        default_factory=list, description="Phases formed just above V_ox."
    )
    has_structure: bool = Field(
        default=False, description="Whether the corpus holds a structure (needed for MD)."
    )
    molecular_units: dict[str, int] = Field(
        default_factory=dict,
        description="H-bearing finite covalent units found in the structure, formula -> count per "
        "cell (e.g. {'H2O': 4}); empty without H or without a structure "
        "(superionic.structure.molecular_units).",
    )
    structure_flags: list[str] = Field(
        default_factory=list,
        description="Why a chemist would drop it, read from the structure: water of hydration, "
        "ammonium, ammonia, hydrazine, acid solvate, organic C-H units (a flag, not a screen: "
        "shown in the candidate table).",
    )


class FunnelStep(BaseModel):
    """Counts after one step of the funnel."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Criterion name ('corpus' for the starting set).")
    threshold: str = Field(description="The rule applied.")
    survivors: int = Field(description="Materials that passed this and every earlier step.")
    failed: int = Field(description="Materials removed here because they fail the rule.")
    unknown: int = Field(description="Materials removed here because data were missing.")
    seed_survivors: int | None = Field(
        default=None, description="The seed paper's count after this step, for comparison."
    )


class FunnelDoc(SuperionicDoc):
    """Summary of one screening run: the funnel, one document per source."""

    funnel_id: str = Field(description="Key: the source screened ('snapshot', 'mp', 'files:...').")
    source: str = Field(description="Corpus source.")
    steps: list[FunnelStep] = Field(description="Corpus, then one step per criterion.")
    n_skipped_records: int = Field(
        description="Source records that could not be read (see 'skipped')."
    )
    skipped: list[dict[str, str]] = Field(
        default_factory=list, description="Unreadable records: {'record', 'reason'}."
    )
    survivor_ids: list[str] = Field(description="material_ids of the survivors.")
    anion_counts: dict[str, int] = Field(description="Survivors per anion type.")
    thresholds: dict = Field(description="The screening settings used.")
    voltage_convention: str | None = Field(
        default=None, description="Convention of the oxidation-voltage step ('seed' or 'li_metal')."
    )
    energy_sets: dict[str, int] = Field(
        default_factory=dict, description="Materials with a window, by the energy set it came from."
    )
    window_methods: dict[str, int] = Field(
        default_factory=dict,
        description="Survivors by how V_ox was obtained (computed / published).",
    )
