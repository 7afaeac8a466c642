"""The full offline corpus: all 21,755 Li materials of MP 2025.02.12, values by composition.

``superionic screen --source snapshot --corpus full`` screens every Li-containing material
of the Materials Project database 2025.02.12 (GNoME-derived ids left out), from the bundled
index ``data/corpus/mp2025_li_index.csv.gz``, through the seed's four steps:

* transition metals: from the composition (exact);
* band gap: MP-2019 PBE gap of the composition (matbench ``mp_gap``), the MAXIMUM over the
  polymorph rows of that formula (a composition passes if one of its MP-2019 polymorphs is
  an insulator); a composition-level approximation, labelled in ``value_notes``;
* E_hull: of the composition's lowest MP-2019 formation energy on the MP-2019 hull
  (``superionic.screening.mp2019_energies``), a composition-level approximation.
  Polymorph policy: all polymorphs of a formula share that value, so only ONE material per
  composition represents it: the snapshot's material when the formula is among the 560
  (the 2024-25 API's ground state), else the polymorph with the fewest sites (lowest id on
  ties); the other polymorphs get E_hull None and 'unknown' ("composition-level values:
  mp-X represents this formula"), never a silent pass;
* V_ox: as for the snapshot (MP-2019 energies, the seed or li_metal convention).

Values only needed after the transition-metal screen are computed only for the
transition-metal-free materials (the others stop at step 1). Structures: bundled for every
transition-metal-free material (``has_structure``), read on demand.
"""

from __future__ import annotations

import csv
import gzip

from superionic.schemas.material import MaterialDoc
from superionic.screening.elements import TRANSITION_METALS
from superionic.screening.mp2019_energies import ENERGY_SET_LABEL, MP2019FormationEnergies, band_gaps
from superionic.sources.base import SourceResult
from superionic.sources.structures import INDEX_FILE, STRUCTURE_SOURCE, corpus_dir

CORPUS_NAME = "mp2025_li"
CORPUSES = ("snapshot", "full")
DATABASE_VERSION = "2025.02.12"
GAP_NOTE = "composition-level: max PBE gap over the MP-2019 polymorph rows of the formula (matbench mp_gap)"
HULL_NOTE = f"composition-level: lowest row of the formula on the hull of the {ENERGY_SET_LABEL}"


def read_index() -> list[dict[str, str]]:
    with gzip.open(corpus_dir() / INDEX_FILE, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _representatives(rows: list[dict[str, str]]) -> dict[str, str]:
    """{formula: material_id of the polymorph that carries the composition's values}."""
    from superionic.sources.snapshot import load_snapshot_table

    snapshot = {formula: mid for mid, formula in load_snapshot_table()}
    chosen: dict[str, tuple] = {}
    for r in rows:
        key = (0 if snapshot.get(r["formula"]) == r["material_id"] else 1, int(r["nsites"]),
               len(r["material_id"]), r["material_id"])
        if r["formula"] not in chosen or key < chosen[r["formula"]]:
            chosen[r["formula"]] = key
    return {formula: key[-1] for formula, key in chosen.items()}


def load_full_corpus(limit: int | None = None) -> SourceResult:
    """MaterialDocs of every Li material of MP 2025.02.12 (values by composition, labelled)."""
    rows = read_index()[:limit]
    energies = MP2019FormationEnergies()
    gaps = band_gaps()
    free = [r for r in rows if not set(r["elements"].split()) & TRANSITION_METALS]
    representative = _representatives(free)
    hull: dict[str, float | None] = {}
    result = SourceResult()
    provenance = (f"MP {DATABASE_VERSION} Li materials index ({CORPUS_NAME}, bundled); gap and "
                  "E_hull by composition from MP-2019 (matbench)")
    free_ids = {r["material_id"] for r in free}
    for r in rows:
        elements = sorted(r["elements"].split())
        formula = r["formula"]
        notes: dict[str, str] = {}
        gap = e_hull = None
        if r["material_id"] in free_ids:
            gap_row = gaps.get(formula)
            gap = gap_row[1] if gap_row else None
            notes["band_gap_ev"] = GAP_NOTE if gap_row else "unknown: formula not in MP-2019 mp_gap"
            if representative[formula] != r["material_id"]:
                notes["energy_above_hull_ev"] = (f"unknown: composition-level values; "
                                                 f"{representative[formula]} represents {formula}")
            else:
                if formula not in hull:
                    hull[formula] = energies.e_above_hull(formula)
                e_hull = hull[formula]
                notes["energy_above_hull_ev"] = (HULL_NOTE if e_hull is not None
                                                 else "unknown: formula not in MP-2019 mp_e_form")
        result.materials.append(MaterialDoc(
            material_id=r["material_id"], formula=formula, elements=elements,
            chemsys="-".join(elements), nelements=len(elements), nsites=int(r["nsites"]),
            has_structure=r["bundled_structure"] == "1",
            structure_source=STRUCTURE_SOURCE if r["bundled_structure"] == "1" else None,
            band_gap_ev=gap, energy_above_hull_ev=e_hull, value_notes=notes,
            source=CORPUS_NAME, database_version=DATABASE_VERSION, provenance=provenance,
        ))
    return result
