"""Rebuild the MP data shipped in ``src/superionic/data`` from ``../shared/data``.

    python scripts/bundle_mp_data.py [SHARED_DATA]

Writes (deterministically: fixed zip timestamps, sorted rows):

* ``data/corpus/mp2025_li_structures.zip``: the CIFs of the 560 snapshot materials and of
  every other transition-metal-free material of ``corpus/mp2025_li`` (MP 2025.02.12), the
  appended CrystalNN bond loop removed (pymatgen ignores it);
* ``data/corpus/mp2025_li_index.csv.gz``: all 21,755 materials (id, reduced formula,
  elements, nsites, whether the structure is in the zip);
* ``data/reference/mp2019_e_form_li.csv.gz``: lowest MP-2019 formation energy per reduced
  composition, only compositions inside the chemical system of a transition-metal-free
  Li material of the index or of the snapshot;
* ``data/reference/mp2019_gap_li.csv.gz``: MP-2019 PBE gaps of those compositions (all
  polymorph rows: min, max and count).
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
import tarfile
import zipfile
from collections import defaultdict
from pathlib import Path

from pymatgen.core import Composition

from superionic.screening.elements import TRANSITION_METALS

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "superionic" / "data"
STAMP = (2025, 2, 12, 0, 0, 0)


def strip_bond_loop(text: str) -> str:
    cut = text.find("\nloop_\n_geom_bond")
    return text if cut < 0 else text[: cut + 1]


def reduced(formula: str) -> tuple[str, frozenset[str]] | None:
    try:
        comp = Composition(formula)
    except Exception:  # noqa: BLE001 - a few matbench formulas do not parse
        return None
    return comp.reduced_formula, frozenset(el.symbol for el in comp.elements)


def write_csv_gz(path: Path, header: list[str], rows: list[list]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        handle.write(buf.getvalue().encode())


def main(shared: Path) -> None:
    snapshot = {r["material_id"] for r in csv.DictReader(open(DATA / "corpus" / "mp_li_prescreened_560.csv"))}
    index = list(csv.DictReader(open(shared / "corpus" / "mp2025_li" / "index.csv")))
    free = {r["material_id"] for r in index if not set(r["elements"].split()) & TRANSITION_METALS}
    ship = free | snapshot
    systems = {frozenset(r["elements"].split()) for r in index if r["material_id"] in ship}
    cifs: dict[str, str] = {}
    with tarfile.open(shared / "corpus" / "mp2025_li" / "structures.tar.gz") as tar:
        for member in tar:
            mid = Path(member.name).stem
            if member.isfile() and mid in ship:
                cifs[mid] = strip_bond_loop(tar.extractfile(member).read().decode())
    assert set(cifs) == ship, sorted(ship - set(cifs))[:5]
    with zipfile.ZipFile(DATA / "corpus" / "mp2025_li_structures.zip", "w") as bundle:
        for mid in sorted(cifs, key=lambda m: (len(m), m)):
            info = zipfile.ZipInfo(f"{mid}.cif", STAMP)
            bundle.writestr(info, cifs[mid], compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    rows = []
    for r in index:
        formula, _ = reduced(r["formula"])
        rows.append([r["material_id"], formula, r["elements"], r["nsites"], int(r["material_id"] in ship)])
    write_csv_gz(DATA / "corpus" / "mp2025_li_index.csv.gz",
                 ["material_id", "formula", "elements", "nsites", "bundled_structure"], rows)

    def inside(symbols: frozenset[str]) -> bool:
        return any(symbols <= s for s in systems)

    lowest: dict[str, float] = {}
    for row in csv.DictReader(open(shared / "reference" / "matbench2019" / "mp_e_form.csv")):
        parsed = reduced(row["formula"])
        if parsed and inside(parsed[1]):
            value = float(row["target"])
            lowest[parsed[0]] = min(value, lowest.get(parsed[0], value))
    write_csv_gz(DATA / "reference" / "mp2019_e_form_li.csv.gz", ["formula", "e_form_ev_per_atom"],
                 [[f, repr(v)] for f, v in sorted(lowest.items())])
    gaps: dict[str, list[float]] = defaultdict(list)
    wanted = {row[1] for row in rows if row[4]}
    for row in csv.DictReader(open(shared / "reference" / "matbench2019" / "mp_gap.csv")):
        parsed = reduced(row["formula"])
        if parsed and parsed[0] in wanted:
            gaps[parsed[0]].append(float(row["target"]))
    write_csv_gz(DATA / "reference" / "mp2019_gap_li.csv.gz", ["formula", "gap_min_ev", "gap_max_ev", "n_rows"],
                 [[f, repr(min(v)), repr(max(v)), len(v)] for f, v in sorted(gaps.items())])
    print(f"structures {len(cifs)}, index {len(rows)}, e_form compositions {len(lowest)}, "
          f"gap compositions {len(gaps)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data")
