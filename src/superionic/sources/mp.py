"""The live Materials Project corpus: every Li-containing material, through mp-api.

``fetch_mp_corpus`` pages through ``materials/summary`` (``elements=Li``, not deprecated,
sorted by material_id so pages are stable), one request per page with its own retries,
under a rich progress bar on stderr (``superionic.progress``), and turns each record into
a ``MaterialDoc`` with the database version. Records that cannot be used (no Li, a
structure that does not parse, a disordered cell) are kept as ``SourceIssue``s with the
reason.

``MPEntrySource`` (``superionic.sources.mp_entries``) serves the phase-diagram entries
of a chemical system from the same API for the stability-window screen.

Needs an API key (argument, ``MP_API_KEY``, ``SUPERIONIC_MP_API_KEY`` or ``mp_api_key``
in ~/.superionic.yaml) and the network; without them a ``SourceError`` says so quickly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from pymatgen.core import Structure

from superionic.progress import progress_bar
from superionic.schemas.material import MaterialDoc
from superionic.sources.base import SourceResult, make_material_doc
from superionic.sources.mp_client import MPClient, MPClientOptions, mp_api_version
from superionic.sources.mp_entries import MPEntrySource

# summary-document field -> what it becomes; all are always requested
REQUIRED_FIELDS: tuple[str, ...] = (
    "material_id",
    "formula_pretty",
    "structure",
    "band_gap",
    "energy_above_hull",
    "formation_energy_per_atom",
)
DEFAULT_FIELDS = REQUIRED_FIELDS
MAX_PAGE_SIZE = 1000  # the MP API's max_limit per request
GNOME_BATCH = "gnome_r2scan_statics"  # GNoME r2SCAN statics: another functional, BY-NC
_VALUE_LABELS = {
    "band_gap": "band gap",
    "energy_above_hull": "energy above hull",
    "formation_energy_per_atom": "formation energy",
}


def record_to_doc(record: dict[str, Any], *, database_version: str | None,
                  provenance: str) -> MaterialDoc:
    """One ``materials/summary`` record -> MaterialDoc; ValueError with the reason if unusable."""
    material_id = str(record.get("material_id") or "").strip()
    if not material_id:
        raise ValueError("record without material_id")
    raw = record.get("structure")
    structure = None
    if isinstance(raw, Structure):
        structure = raw
    elif raw:
        try:
            structure = Structure.from_dict(raw)
        except Exception as exc:  # pymatgen raises several types for bad dicts
            raise ValueError(f"structure does not parse: {type(exc).__name__}: {exc}") from exc
    warnings = [] if structure is not None else ["MP record has no structure: formula only"]
    for key, label in _VALUE_LABELS.items():
        if record.get(key) is None:
            warnings.append(f"{label} missing in the MP record (null/NaN): treated as unknown")
    descriptors = {
        key: float(value)
        for key, value in record.items()
        if key not in REQUIRED_FIELDS
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    }
    return make_material_doc(
        material_id=material_id,
        source="mp",
        structure=structure,
        formula=record.get("formula_pretty"),
        formula_pretty=record.get("formula_pretty"),
        band_gap_ev=record.get("band_gap"),
        energy_above_hull_ev=record.get("energy_above_hull"),
        formation_energy_ev=record.get("formation_energy_per_atom"),
        database_version=database_version,
        provenance=provenance,
        descriptors=descriptors,
        warnings=warnings,
    )


def _fields(fields: Iterable[str]) -> list[str]:
    extra = [f for f in fields if f not in REQUIRED_FIELDS]
    return [*REQUIRED_FIELDS, *dict.fromkeys(extra)]


def fetch_mp_corpus(
    api_key: str | None = None,
    *,
    fields: Iterable[str] = DEFAULT_FIELDS,
    chunk_size: int = 1000,
    max_materials: int | None = None,
    progress: bool = True,
    include_gnome: bool = False,
    options: MPClientOptions | None = None,
    client: MPClient | None = None,
) -> SourceResult:
    """Every Li-containing, non-deprecated MP material as MaterialDocs (+ skipped records).

    ``fields`` adds summary fields to the required ones; extra numeric fields land in
    ``MaterialDoc.descriptors``. ``max_materials`` stops early (first N by material_id).
    GNoME's r2SCAN entries are left out unless ``include_gnome`` (and the key may see them).
    ``options`` sets endpoint, timeouts and retries; ``client`` reuses a connection.
    Raises ``SourceError`` when the key is missing or rejected or MP is unreachable.
    """
    if not 1 <= chunk_size <= MAX_PAGE_SIZE:
        raise ValueError(f"chunk_size must be 1..{MAX_PAGE_SIZE} (the API's page limit)")
    if max_materials is not None and max_materials < 1:
        raise ValueError("max_materials must be a positive number or None")
    client = client or MPClient.connect(api_key, options)
    summary = client.rester.materials.summary
    gnome = {} if include_gnome else {"batch_id_not_eq": GNOME_BATCH}
    count_query = {"elements": "Li", "deprecated": False, **gnome,
                   "_limit": 1, "_fields": "material_id"}
    total = int(client.call("Counting Li materials in MP", lambda: summary.count(count_query)))
    wanted = total if max_materials is None else min(total, max_materials)
    page_size = max(1, min(chunk_size, wanted))
    n_pages = math.ceil(wanted / page_size)
    version = client.database_version
    provenance = (
        f"Materials Project {version or '(version unknown)'}, materials/summary "
        f"elements=Li deprecated=False{'' if include_gnome else ' without GNoME'}, "
        f"{client.options.resolved_endpoint()}, "
        f"mp-api {mp_api_version()}"
    )
    requested = _fields(fields)
    result = SourceResult()
    seen: set[str] = set()
    read = 0
    with progress_bar(f"MP {version or ''} Li materials", wanted, progress) as advance:
        for page in range(1, n_pages + 1):
            records = client.call(
                f"Reading MP page {page}/{n_pages}",
                lambda page=page: summary.search(
                    elements=["Li"], deprecated=False, include_gnome=include_gnome,
                    fields=requested, chunk_size=page_size, num_chunks=1,
                    _page=page, _sort_fields="material_id",
                ),
            )
            for record in records[: wanted - read]:
                read += 1
                label = f"{record.get('material_id')} ({record.get('formula_pretty')})"
                if record.get("material_id") in seen:
                    result.skip(label, "returned twice by MP paging: kept the first copy")
                    continue
                seen.add(record.get("material_id"))
                try:
                    doc = record_to_doc(record, database_version=version,
                                        provenance=provenance)
                except ValueError as exc:
                    result.skip(label, str(exc))
                else:
                    result.materials.append(doc)
            advance(min(len(records), page_size))
            if len(records) < page_size or read >= wanted:
                break
    return result


__all__ = [
    "DEFAULT_FIELDS",
    "MPClientOptions",
    "MPEntrySource",
    "REQUIRED_FIELDS",
    "fetch_mp_corpus",
    "record_to_doc",
]
