"""Bundled MP structures, read lazily: one CIF is parsed only when a job asks for it.

``data/corpus/mp2025_li_structures.zip`` holds the relaxed MP (database 2025.02.12)
structures of the 560 snapshot materials and of every other transition-metal-free Li
material of MP (3,524 CIFs, 2.9 MB); ``mp2025_li_index.csv.gz`` lists all 21,755 Li
materials of that database (id, reduced formula, elements, nsites, whether the structure
is bundled). Opening the bundle reads only the zip directory; a CIF is inflated and parsed
by :func:`bundled_structure`. A damaged bundle (bad CRC, truncated file, a CIF that no
longer parses) raises :class:`StructureBundleError` naming the file and the member.
Provenance: ``data/corpus/PROVENANCE.md``.
"""

from __future__ import annotations

import warnings
import zipfile
import zlib
from functools import cache
from importlib import resources
from pathlib import Path

from pymatgen.core import Structure

BUNDLE_FILE = "mp2025_li_structures.zip"
INDEX_FILE = "mp2025_li_index.csv.gz"
STRUCTURE_SOURCE = "Materials Project 2025.02.12 (mp2025_li bundle, CC BY 4.0)"


class StructureBundleError(RuntimeError):
    """The bundled structure file is damaged or unreadable."""


def corpus_dir() -> Path:
    """Folder of the bundled corpus inside the installed package."""
    return Path(str(resources.files("superionic") / "data" / "corpus"))


@cache
def _bundle(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise StructureBundleError(
            f"The bundled structure file {path} cannot be opened ({exc}): reinstall "
            "superionic or restore the file from git."
        ) from exc


def bundle_path() -> Path:
    return corpus_dir() / BUNDLE_FILE


@cache
def bundled_ids(path: Path | None = None) -> frozenset[str]:
    """material_ids whose structure is in the bundle (reads the zip directory only)."""
    names = _bundle(path or bundle_path()).namelist()
    return frozenset(name[: -len(".cif")] for name in names if name.endswith(".cif"))


def has_bundled_structure(material_id: str) -> bool:
    return material_id in bundled_ids()


def bundled_cif(material_id: str, path: Path | None = None) -> str | None:
    """The CIF text of ``material_id``, or None when it is not bundled."""
    path = path or bundle_path()
    if material_id not in bundled_ids(path):
        return None
    try:
        return _bundle(path).read(f"{material_id}.cif").decode("utf-8")
    except (zipfile.BadZipFile, zlib.error, OSError, UnicodeDecodeError) as exc:
        raise StructureBundleError(
            f"The bundled structure of {material_id} in {path} is damaged ({exc}): "
            "reinstall superionic or restore the file from git."
        ) from exc


def bundled_structure(material_id: str, path: Path | None = None) -> Structure | None:
    """The bundled MP structure of ``material_id`` (parsed now), or None if not bundled."""
    text = bundled_cif(material_id, path)
    if text is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            structure = Structure.from_str(text, fmt="cif")
    except Exception as exc:  # pymatgen raises several types for a broken CIF
        raise StructureBundleError(
            f"The bundled CIF of {material_id} in {path or bundle_path()} does not parse "
            f"({type(exc).__name__}: {exc}): the file is damaged."
        ) from exc
    return structure


__all__ = [
    "STRUCTURE_SOURCE",
    "StructureBundleError",
    "bundled_cif",
    "bundled_ids",
    "bundled_structure",
    "corpus_dir",
    "has_bundled_structure",
]
