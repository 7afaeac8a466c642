"""A user's folder of structures: CIF, POSCAR/CONTCAR (*.vasp) and pymatgen JSON."""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

from pymatgen.core import Structure

from superionic.sources.base import SourceError, SourceResult, make_material_doc

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


def load_files(folder: str | Path) -> SourceResult:
    """Every structure file under ``folder``; files that do not parse are recorded, not fatal."""
    root = Path(folder).expanduser()
    if not root.exists():
        raise SourceError(f"Structure folder {root} does not exist.")
    paths = [root] if root.is_file() else sorted({p for pat in PATTERNS for p in root.rglob(pat)})
    base = root.parent if root.is_file() else root
    result = SourceResult()
    if not paths:
        raise SourceError(f"No structure files (CIF, POSCAR, *.vasp, pymatgen JSON) under {root}.")
    for path in paths:
        record = str(path.relative_to(base))
        try:
            structure, props = _read_structure(path)
        except Exception as exc:  # any parser error: record and go on
            result.skip(record, f"could not parse as a structure: {type(exc).__name__}: {exc}")
            continue
        try:
            doc = make_material_doc(
                material_id=str(props.get("material_id") or material_id_for(path, base)),
                source="files",
                structure=structure,
                band_gap_ev=props.get("band_gap"),
                energy_above_hull_ev=props.get("energy_above_hull"),
                provenance=str(path.resolve()),
            )
        except ValueError as exc:
            result.skip(record, str(exc))
            continue
        result.materials.append(doc)
    return result
