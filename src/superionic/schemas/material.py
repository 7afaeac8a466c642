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
        description="pymatgen Structure.as_dict(), or None when the source gives none "
        "(most of the offline snapshot).",
    )
    band_gap_ev: float | None = Field(
        default=None, description="PBE band gap (eV); None when unknown."
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
