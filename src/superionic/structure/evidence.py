"""Structural evidence for one structure, as a ``StructureEvidenceDoc`` (pure function).

``compute_evidence`` runs the anion-framework match, the Li-sublattice geometry and (when
``settings.bvse``) the BVSE barriers; each part that fails is recorded in ``failures``.
``structure_hash`` and ``settings_hash`` let a builder skip materials whose structure and
settings are unchanged (a rerun recomputes nothing).
"""

from __future__ import annotations

import hashlib
import json
import time

from pydantic import BaseModel, Field
from pymatgen.core import Structure

from superionic.schemas.structure import StructureEvidenceDoc

METHOD_VERSION = "structure-evidence-1"
"""Bump when a method changes: every document of another version is recomputed."""


class EvidenceSettings(BaseModel):
    """Parameters of the structural evidence."""

    bvse: bool = Field(True, description="Compute BVSE barriers (bvlain; seconds per structure).")
    bvse_max_grid_points: int = Field(20_000, description="BVSE grid-point cap (memory ~ 13 kB per point).")
    max_anion_sites: int = Field(96, description="Anion sublattices larger than this are not matched.")


def structure_hash(structure: Structure) -> str:
    payload = {"lattice": [[round(x, 4) for x in row] for row in structure.lattice.matrix.tolist()],
               "species": [site.species_string for site in structure],
               "coords": [[round(x % 1.0, 4) % 1.0 for x in site.frac_coords] for site in structure]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def settings_hash(settings: EvidenceSettings) -> str:
    return hashlib.sha256(json.dumps(settings.model_dump(), sort_keys=True).encode()).hexdigest()


def compute_evidence(material_id: str, structure: Structure, settings: EvidenceSettings | None = None,
                     descriptors: dict[str, float] | None = None) -> StructureEvidenceDoc:
    """The evidence document of ``structure`` (failures recorded, never raised)."""
    from superionic.structure import framework
    from superionic.structure.li_sublattice import li_geometry

    settings = settings or EvidenceSettings()
    start = time.perf_counter()
    fields: dict = {}
    failures: dict[str, str] = {}
    anions = sorted({s.specie.symbol for s in structure if s.specie.symbol in framework.ANIONS})
    fields["anion_elements"] = anions
    fields["n_anion_sites"] = sum(s.specie.symbol in framework.ANIONS for s in structure)
    try:
        kind, rms = framework.anion_framework(structure, settings.max_anion_sites)
        fields.update(anion_framework=kind, anion_framework_rms=rms)
    except Exception as exc:  # noqa: BLE001 - recorded
        fields["anion_framework"] = "not_computed"
        failures["anion_framework"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    try:
        fields.update(li_geometry(structure))
    except Exception as exc:  # noqa: BLE001 - recorded
        failures["li_sublattice"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    if settings.bvse:
        from superionic.structure.bvse import bvse_barriers

        fields.update(bvse_barriers(structure, settings.bvse_max_grid_points))
        if fields.get("bvse_status") == "failed":
            failures["bvse"] = str(fields.get("bvse_reason"))
    else:
        fields.update(bvse_status="not_computed", bvse_reason="switched off (settings.bvse)")
    return StructureEvidenceDoc(
        material_id=material_id,
        formula=structure.composition.reduced_formula,
        method_version=METHOD_VERSION,
        structure_hash=structure_hash(structure),
        settings_hash=settings_hash(settings),
        settings=settings.model_dump(),
        nsites=len(structure),
        sendek={k: float(v) for k, v in (descriptors or {}).items() if v == v},
        failures=failures,
        wall_seconds=round(time.perf_counter() - start, 3),
        **fields,
    )
