"""The bundled offline corpus: 560 pre-screened MP Li compounds (see data/corpus/PROVENANCE.md)."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

import pandas as pd
from pymatgen.core import Structure

from superionic.sources.base import SourceResult, make_material_doc

SNAPSHOT_NAME = "mp_li_prescreened_560"
DESCRIPTOR_COLUMNS = ("LLB", "SBI", "AFC", "LASD", "LLSD")


def corpus_dir() -> Path:
    """Folder of the bundled corpus inside the installed package."""
    return Path(str(resources.files("superionic") / "data" / "corpus"))


def bundled_structure(material_id: str) -> Structure | None:
    """The bundled structure of ``material_id``, or None when the snapshot has none."""
    path = corpus_dir() / "structures" / f"{material_id}.json.gz"
    if not path.is_file():
        return None
    with gzip.open(path, "rt") as handle:
        return Structure.from_dict(json.load(handle))


def load_snapshot(limit: int | None = None) -> SourceResult:
    """Read the bundled corpus into MaterialDocs (structures where the snapshot has one)."""
    table = pd.read_csv(corpus_dir() / f"{SNAPSHOT_NAME}.csv")
    if limit is not None:
        table = table.head(limit)
    result = SourceResult()
    for row in table.itertuples(index=False):
        material_id = str(row.material_id)
        try:
            doc = make_material_doc(
                material_id=material_id,
                source="snapshot",
                formula=str(row.formula),
                structure=bundled_structure(material_id),
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
