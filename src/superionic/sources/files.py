"""A user's folder of structures: CIF, POSCAR/CONTCAR (*.vasp) and pymatgen JSON.

Plain structure files carry no band gap and no energy. What can be filled offline is, and
every value says where it came from (``MaterialDoc.value_notes``):

1. ``properties.csv`` beside the structures (columns ``file`` — the file name relative to
   the folder — or ``material_id``, and any of ``band_gap_ev``, ``energy_above_hull_ev``;
   ``band_gap`` and ``energy_above_hull`` are accepted too): the user's values win;
2. pymatgen JSON ``{"structure": ..., "band_gap": ..., "energy_above_hull": ...}``;
3. else, when the composition is in the bundled MP-2019 data, its composition-level values
   (E_hull of the lowest MP-2019 row of the formula; max PBE gap over its polymorphs): they
   describe MP's ground state of that formula, not necessarily your structure;
4. else ``unknown``, with the reason (the funnel counts it; ``superionic screen`` prints it).

V_ox needs only the composition: it is computed against the bundled energies as for any
other source.
"""

from __future__ import annotations

import csv
import gzip
import json
import warnings
from pathlib import Path

from pymatgen.core import Structure

from superionic.sources.base import SourceError, SourceResult, make_material_doc

PROPERTIES_FILE = "properties.csv"
_ALIASES = {"band_gap": "band_gap_ev", "energy_above_hull": "energy_above_hull_ev"}
PATTERNS = ("*.cif", "*.vasp", "POSCAR*", "CONTCAR*", "*.json", "*.json.gz", "*.cif.gz")


def _read_structure(path: Path) -> tuple[Structure, dict]:
    """A structure and any properties stored beside it (pymatgen JSON may carry some)."""
    name = path.name.lower()
    if name.endswith((".json", ".json.gz")):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt") as handle:
            data = json.load(handle)
        if isinstance(data, dict) and "structure" in data and "sites" not in data:
            props = {k: data.get(k) for k in ("band_gap", "energy_above_hull", "material_id")}
            return Structure.from_dict(data["structure"]), props
        return Structure.from_dict(data), {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Structure.from_file(path), {}


def material_id_for(path: Path, root: Path) -> str:
    """Stable key of a file's material: ``file:<path relative to the folder>``."""
    return f"file:{path.relative_to(root).as_posix()}"


def read_properties(root: Path) -> dict[str, dict[str, str]]:
    """{file name or material_id: {property: value}} from ``properties.csv``, if present."""
    path = root / PROPERTIES_FILE
    if not root.is_dir() or not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        key = "file" if "file" in (reader.fieldnames or []) else "material_id"
        if key not in (reader.fieldnames or []):
            raise SourceError(f"{path} needs a 'file' or 'material_id' column (has {reader.fieldnames}).")
        rows = {}
        for row in reader:
            values = {_ALIASES.get(k, k): v for k, v in row.items() if k != key and v not in (None, "")}
            rows[row[key].strip()] = values
    return rows


def _fill(doc_kwargs: dict, supplied: dict, formula: str, notes: dict[str, str]) -> None:
    """Band gap and E_hull: user value, else MP-2019 by composition, else unknown (noted)."""
    from superionic.screening.mp2019_energies import MP2019FormationEnergies, band_gap_by_formula

    for prop in ("band_gap_ev", "energy_above_hull_ev"):
        if supplied.get(prop) is not None:
            doc_kwargs[prop] = supplied[prop]
            notes[prop] = f"user-supplied ({supplied.get('_origin', PROPERTIES_FILE)})"
            continue
        if prop == "band_gap_ev":
            gap = band_gap_by_formula(formula)
            value = None if gap is None else gap[1]
            label = "max PBE gap over the MP-2019 polymorphs of the formula"
        else:
            value = MP2019FormationEnergies().e_above_hull(formula)
            label = "E_hull of the formula's lowest MP-2019 row"
        if value is None:
            notes[prop] = (f"unknown: not in the structure file, no {PROPERTIES_FILE} value, and "
                           f"{formula} is not in the bundled MP-2019 data")
        else:
            doc_kwargs[prop] = value
            notes[prop] = f"composition-level: {label} (MP's ground state, maybe not this structure)"


def load_files(folder: str | Path) -> SourceResult:
    """Every structure file under ``folder``; files that do not parse are recorded, not fatal."""
    root = Path(folder).expanduser()
    if not root.exists():
        raise SourceError(f"Structure folder {root} does not exist.")
    paths = [root] if root.is_file() else sorted({p for pat in PATTERNS for p in root.rglob(pat)})
    base = root.parent if root.is_file() else root
    result = SourceResult()
    properties = read_properties(root)
    if not paths:
        raise SourceError(f"No structure files (CIF, POSCAR, *.vasp, pymatgen JSON) under {root}.")
    for path in paths:
        record = str(path.relative_to(base))
        try:
            structure, props = _read_structure(path)
        except Exception as exc:  # any parser error: record and go on
            result.skip(record, f"could not parse as a structure: {type(exc).__name__}: {exc}")
            continue
        material_id = str(props.get("material_id") or material_id_for(path, base))
        supplied = {"band_gap_ev": props.get("band_gap"),
                    "energy_above_hull_ev": props.get("energy_above_hull"), "_origin": path.name}
        user = properties.get(record) or properties.get(material_id) or {}
        if user:
            supplied |= {k: v for k, v in user.items() if k in ("band_gap_ev", "energy_above_hull_ev")}
            supplied["_origin"] = PROPERTIES_FILE
        kwargs: dict = {}
        notes: dict[str, str] = {}
        try:
            _fill(kwargs, supplied, structure.composition.reduced_formula, notes)
            doc = make_material_doc(
                material_id=material_id,
                source="files",
                structure=structure,
                provenance=str(path.resolve()),
                value_notes=notes,
                **kwargs,
            )
        except ValueError as exc:
            result.skip(record, str(exc))
            continue
        result.materials.append(doc)
    return result
