"""The bundled offline corpus: 560 pre-screened MP Li compounds (see data/corpus/PROVENANCE.md).

Every one of the 560 has its MP (2025.02.12) structure in the bundle
(``superionic.sources.structures``); documents carry ``has_structure=True`` and no inline
structure unless ``with_structures`` (then all 560 CIFs are parsed: seconds, not needed for
screening).
"""

from __future__ import annotations

import pandas as pd

from superionic.sources.base import SourceResult, make_material_doc
from superionic.sources.structures import (
    STRUCTURE_SOURCE,
    bundled_structure,
    corpus_dir,
    has_bundled_structure,
)

SNAPSHOT_NAME = "mp_li_prescreened_560"
DESCRIPTOR_COLUMNS = ("LLB", "SBI", "AFC", "LASD", "LLSD")


def load_snapshot_table() -> list[tuple[str, str]]:
    """(material_id, reduced formula) of the 560 snapshot rows."""
    from pymatgen.core import Composition

    table = pd.read_csv(corpus_dir() / f"{SNAPSHOT_NAME}.csv", usecols=["material_id", "formula"])
    return [(str(m), Composition(str(f)).reduced_formula) for m, f in zip(table.material_id, table.formula)]


def load_snapshot(limit: int | None = None, with_structures: bool = False) -> SourceResult:
    """Read the bundled corpus into MaterialDocs (structures bundled, inline on request)."""
    table = pd.read_csv(corpus_dir() / f"{SNAPSHOT_NAME}.csv")
    if limit is not None:
        table = table.head(limit)
    result = SourceResult()
    for row in table.itertuples(index=False):
        material_id = str(row.material_id)
        bundled = has_bundled_structure(material_id)
        try:
            doc = make_material_doc(
                material_id=material_id,
                source="snapshot",
                formula=str(row.formula),
                structure=bundled_structure(material_id) if with_structures and bundled else None,
                has_structure=bundled,
                structure_source=STRUCTURE_SOURCE if bundled else None,
                band_gap_ev=row.bandgap,
                energy_above_hull_ev=row.energy_above_hull,
                formation_energy_ev=row.formation_energy_per_atom,
                formula_pretty=str(row.formula),
                provenance=f"bundled snapshot {SNAPSHOT_NAME}.csv (MP, 2024-25 API)",
                descriptors={c: float(getattr(row, c)) for c in DESCRIPTOR_COLUMNS},
            )
        except ValueError as exc:
            result.skip(f"{material_id} ({row.formula})", str(exc))
            continue
        result.materials.append(doc)
    return result


__all__ = ["bundled_structure", "corpus_dir", "load_snapshot"]
