"""The corpus: one document per material, whatever the source."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from superionic.schemas.base import SuperionicDoc


class MaterialDoc(SuperionicDoc):
    """A Li-containing material as read from a source (MP, the bundled snapshot, files)."""

    material_id: str = Field(
        description="Stable key: an MP id (mp-1234) or, for user files, 'file:<name>'."
    )
    formula: str = Field(description="Reduced formula, e.g. 'Li3PS4'.")
    formula_pretty: str | None = Field(
        default=None, description="Formula as the source writes it, if different."
    )
    elements: list[str] = Field(description="Element symbols, sorted alphabetically.")
    chemsys: str = Field(description="Chemical system, e.g. 'Li-P-S'.")
    nelements: int = Field(description="Number of distinct elements.")
    nsites: int | None = Field(default=None, description="Sites in the structure, if known.")
    structure: dict[str, Any] | None = Field(
        default=None,
        description="pymatgen Structure.as_dict() when stored inline (MP, user files); None "
        "for the offline snapshot and corpus, whose structures are bundled and parsed only "
        "when needed: ask superionic.jobs.md_stage.material_structure() for any material.",
    )
    has_structure: bool = Field(
        default=False,
        description="True when a structure is available: inline, or in the bundled MP "
        "structures (see structure_source).",
    )
    structure_source: str | None = Field(
        default=None,
        description="Where the structure comes from when it is not inline, e.g. the "
        "bundled 'Materials Project 2025.02.12 (mp2025_li bundle)'.",
    )
    band_gap_ev: float | None = Field(
        default=None, description="PBE band gap (eV); None when unknown."
    )
    value_notes: dict[str, str] = Field(
        default_factory=dict,
        description="Per property (band_gap_ev, energy_above_hull_ev, ...): where the value "
        "came from when it is not the material's own (e.g. 'composition-level: MP-2019 "
        "max over polymorphs'), or why it is unknown.",
    )
    energy_above_hull_ev: float | None = Field(
        default=None, description="Energy above the convex hull (eV/atom); None when unknown."
    )
    formation_energy_ev: float | None = Field(
        default=None, description="Formation energy (eV/atom); None when unknown."
    )
    source: str = Field(description="'mp', 'snapshot' or 'files'.")
    database_version: str | None = Field(
        default=None, description="MP database version the values come from, if known."
    )
    provenance: str | None = Field(
        default=None, description="Where the record came from (file, query, dataset)."
    )
    descriptors: dict[str, float] = Field(
        default_factory=dict,
        description="Extra per-material descriptors the source carries (e.g. Sendek-2017 "
        "structural descriptors LLB, SBI, AFC, LASD, LLSD in the snapshot).",
    )
    warnings: list[str] = Field(
        default_factory=list, description="Problems met while reading this record."
    )


class SourceIssue(SuperionicDoc):
    """A record a source could not turn into a MaterialDoc (kept so nothing is lost)."""

    record: str = Field(description="What was read: a file name, a row, an id.")
    reason: str = Field(description="Why it was skipped, in words a user can act on.")
