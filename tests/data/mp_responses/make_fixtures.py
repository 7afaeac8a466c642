"""Rebuild the recorded Materials Project responses in this folder from bundled MP data.

Not captured live (this machine has no network): every body below is written in the wire
format that mp-api 0.46's client parses (``_submit_request_and_process``: JSON
``{"data": [...], "meta": {"total_doc": N, ...}}``; ``_get_heartbeat_info``: the
heartbeat JSON), filled with real MP records shipped in ``shared/data/corpus``.

    .venv/bin/python tests/data/mp_responses/make_fixtures.py [/path/to/shared/data]
"""

from __future__ import annotations

import csv
import gzip
import json
import sys
from pathlib import Path

from pymatgen.core import Composition

HERE = Path(__file__).resolve().parent
DB_VERSION = "2025.02.12-fixture"  # a label for these files, not a real MP release
API_VERSION = "0.87.3"  # emmet-api version the heartbeat reports (>= mp-api's minimum)
SUMMARY_FIELDS = [
    "material_id", "formula_pretty", "structure", "band_gap", "energy_above_hull",
    "formation_energy_per_atom",
]
# (material_id, note); order = the server's order when sorted by material_id
SUMMARY_RECORDS = [
    ("mp-13725", "Li3PO4"),
    ("mp-1960", "Li2O"),
    ("mp-2452", "P2O5: no Li (the client must skip it)"),
    ("mp-27687", "LiP7"),
    ("mp-841", "Li2O2: band gap NaN in MP -> null on the wire"),
]
PAGE_SIZE = 3


def _meta(total: int) -> dict:
    return {"api_version": API_VERSION, "time_stamp": "2025-03-01T12:00:00.000000",
            "total_doc": total, "max_limit": 1000, "facet": {}}


def _write(name: str, body: dict, indent: int | None = 1) -> None:
    (HERE / name).write_text(json.dumps(body, indent=indent) + "\n", encoding="utf-8")


def main(shared: Path) -> None:
    corpus = shared / "corpus"
    rows = {r["material_id"]: r for r in csv.DictReader(open(corpus / "mp_li_prescreened_560.csv"))}
    with gzip.open(corpus / "mp_entries_legacy" / "Fe_Li_O_P_entries.json.gz", "rt") as fh:
        legacy = json.load(fh)
    by_id = {e["entry_id"]: e for e in legacy}

    docs = []
    for material_id, _note in SUMMARY_RECORDS:
        entry = by_id[material_id]
        row = rows.get(material_id)
        structure_file = corpus / "mp_structures" / "reaction_network_fe_li_o_p" / f"{material_id}.json"
        structure = (json.loads(structure_file.read_text()) if structure_file.exists()
                     else entry["structure"])
        doc = {
            "material_id": material_id,
            "formula_pretty": None,
            "structure": structure,
            "band_gap": float(row["bandgap"]) if row else None,
            "energy_above_hull": float(row["energy_above_hull"]) if row else None,
            "formation_energy_per_atom": float(row["formation_energy_per_atom"]) if row else None,
        }
        doc["formula_pretty"] = Composition(entry["composition"]).reduced_formula
        if material_id == "mp-841":
            doc["band_gap"] = None  # orjson (MP's server) writes NaN as null
        docs.append(doc)

    _write("heartbeat.json", {
        "status": "OK", "time": "2025-03-01T12:00:00.000000", "version": API_VERSION,
        "pymatgen": "2025.1.24", "db_version": DB_VERSION, "suffix": "",
        "access_controlled_batch_ids": [],
    })
    _write("summary_count.json", {"data": [{"material_id": docs[0]["material_id"]}],
                                  "meta": _meta(len(docs))})
    for page in (1, 2):
        chunk = docs[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        _write(f"summary_page{page}.json", {"data": chunk, "meta": _meta(len(docs))})

    # thermo endpoint, GGA_GGA+U: every entry of the Li-O system and its subsystems
    thermo = []
    for entry in legacy:
        if not set(entry["composition"]) <= {"Li", "O"}:
            continue
        run_type = entry["parameters"].get("run_type", "GGA")
        wire = dict(entry)
        wire["entry_id"] = f"{entry['entry_id']}-{run_type}"  # current MP thermo-style id
        wire["data"] = {**entry["data"], "material_id": entry["entry_id"], "run_type": run_type}
        thermo.append({"entries": {run_type: wire}, "thermo_type": "GGA_GGA+U"})
    _write("thermo_Li-O.json", {"data": thermo, "meta": _meta(len(thermo))}, indent=None)
    print(f"wrote {len(docs)} summary docs, {len(thermo)} thermo docs to {HERE}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/data"))
