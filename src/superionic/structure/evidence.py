"""Structural evidence for one structure, as a ``StructureEvidenceDoc`` (pure function).

``compute_evidence`` runs the anion-framework match, the Li-sublattice geometry and (when
``settings.bvse``) the BVSE barriers, each under a CPU-time limit: a part that runs past its
limit, or is skipped by a size cap or a switch, is named in ``not_computed`` with the reason;
a part that raises is named in ``failures``. ``unreadable_evidence`` is the document of a
material whose structure is missing or unreadable (the reason in ``failures``), so every
material asked for gets a document. ``structure_hash`` and ``settings_hash`` let a builder
skip materials whose structure and settings are unchanged (a rerun recomputes nothing).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

from pymatgen.core import Structure

from superionic.schemas.structure import EvidenceSettings, StructureEvidenceDoc
from superionic.structure.limits import CpuTimeExceeded, cpu_time_limit

METHOD_VERSION = "structure-evidence-2"
"""Bump when a method changes: every document of another version is recomputed."""

NO_STRUCTURE_HASH = ""
"""``structure_hash`` of a material without a readable structure."""


def structure_hash(structure: Structure | None) -> str:
    if structure is None:
        return NO_STRUCTURE_HASH
    payload = {"lattice": [[round(x, 4) for x in row] for row in structure.lattice.matrix.tolist()],
               "species": [site.species_string for site in structure],
               "coords": [[round(x % 1.0, 4) % 1.0 for x in site.frac_coords] for site in structure]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def settings_hash(settings: EvidenceSettings) -> str:
    return hashlib.sha256(json.dumps(settings.model_dump(), sort_keys=True).encode()).hexdigest()


def _limited(part: str, fn: Callable[[], dict], seconds: float, not_computed: dict, failures: dict) -> dict:
    """``fn()`` under a CPU-time limit; {} with the reason recorded when it stops or raises."""
    try:
        with cpu_time_limit(seconds):
            return fn()
    except CpuTimeExceeded:
        not_computed[part] = f"stopped at the CPU-time limit ({seconds:g} s)"
    except MemoryError:
        failures[part] = "MemoryError (worker memory cap)"
    except Exception as exc:  # noqa: BLE001 - recorded, not raised
        failures[part] = f"{type(exc).__name__}: {str(exc)[:200]}"
    return {}


def _framework(structure: Structure, n_anions: int, settings: EvidenceSettings, not_computed: dict) -> dict:
    from superionic.structure import framework

    if n_anions > settings.max_anion_sites:
        not_computed["anion_framework"] = f"{n_anions} anion sites > max_anion_sites {settings.max_anion_sites}"
        return {}
    kind, rms = framework.anion_framework(structure)
    return {"anion_framework": kind, "anion_framework_rms": rms}


def compute_evidence(material_id: str, structure: Structure, settings: EvidenceSettings | None = None,
                     descriptors: dict[str, float] | None = None) -> StructureEvidenceDoc:
    """The evidence document of ``structure`` (limits and failures recorded, never raised)."""
    from superionic.structure.framework import ANIONS
    from superionic.structure.li_sublattice import li_geometry

    settings = settings or EvidenceSettings()
    start, cpu_start = time.perf_counter(), time.process_time()
    not_computed: dict[str, str] = {}
    failures: dict[str, str] = {}
    fields: dict = {"anion_elements": sorted({s.specie.symbol for s in structure if s.specie.symbol in ANIONS}),
                    "n_anion_sites": sum(s.specie.symbol in ANIONS for s in structure), "anion_framework": "not_computed"}
    fields.update(_limited("anion_framework", lambda: _framework(structure, fields["n_anion_sites"], settings,
                                                                 not_computed),
                           settings.framework_max_cpu_s, not_computed, failures))
    fields.update(_limited("li_sublattice", lambda: li_geometry(structure), settings.li_max_cpu_s,
                           not_computed, failures))
    if settings.bvse:
        from superionic.structure.bvse import bvse_barriers

        bvse = _limited("bvse", lambda: bvse_barriers(structure, settings.bvse_max_grid_points),
                        settings.bvse_max_cpu_s, not_computed, failures)
        if bvse.get("bvse_status") == "failed":
            failures["bvse"] = str(bvse.get("bvse_reason"))
        elif bvse.get("bvse_status") == "not_computed":
            not_computed["bvse"] = str(bvse.get("bvse_reason"))
        fields.update(bvse or {"bvse_status": "failed" if "bvse" in failures else "not_computed",
                               "bvse_reason": failures.get("bvse") or not_computed.get("bvse")})
    else:
        not_computed["bvse"] = "switched off (settings.bvse)"
        fields.update(bvse_status="not_computed", bvse_reason=not_computed["bvse"])
    return StructureEvidenceDoc(
        material_id=material_id,
        formula=structure.composition.reduced_formula,
        method_version=METHOD_VERSION,
        structure_hash=structure_hash(structure),
        settings_hash=settings_hash(settings),
        settings=settings.model_dump(),
        nsites=len(structure),
        sendek={k: float(v) for k, v in (descriptors or {}).items() if v == v},
        not_computed=not_computed,
        failures=failures,
        wall_seconds=round(time.perf_counter() - start, 3),
        cpu_seconds=round(time.process_time() - cpu_start, 3),
        **fields,
    )


def unreadable_evidence(material_id: str, reason: str, settings: EvidenceSettings | None = None,
                        formula: str | None = None) -> StructureEvidenceDoc:
    """The document of a material whose structure is missing or unreadable: every part not
    computed, the reason in ``failures['structure']``."""
    settings = settings or EvidenceSettings()
    return StructureEvidenceDoc(
        material_id=material_id, formula=formula or "", method_version=METHOD_VERSION,
        structure_hash=NO_STRUCTURE_HASH, settings_hash=settings_hash(settings), settings=settings.model_dump(),
        nsites=0, anion_framework="not_computed", bvse_status="not_computed", bvse_reason=reason,
        failures={"structure": reason}, wall_seconds=0.0)
