"""Readers for the training sources: bundled files, column checks, formula and family cleanup.

Each reader turns one CSV file into raw records (formula, conductivity string, family,
reference, ``row`` = ``source:file:line``) and the rows it had to refuse; labelling and
merging happen in :mod:`superionic.ml.training_data`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import pandas as pd

KNOWN_SOURCES = ("kang2023", "obelix", "xu2020", "poor_conductors")

# OBELiX families spelled as the seed's where they are the same family.
_FAMILY_ALIASES = {
    "nasicon": "NASICON",
    "garnet": "Garnet",
    "garnet-like": "Garnet",
    "argyrodite": "Argyrodite",
    "argyrodites": "Argyrodite",
    "perovskite": "Perovskite",
    "perovskites": "Perovskite",
    "antiperovskite": "Anti-perovskite",
    "anti-perovskite": "Anti-perovskite",
    "lisicon": "LISICON",
    "thio-lisicon": "Thio-LISICON",
    "lgps": "LGPS",
    "li-halide": "Li-halide",
    "halides": "Li-halide",
    "chlorides": "Li-halide",
    "cholorides": "Li-halide",
    "fluorides": "Li-halide",
}
UNASSIGNED_FAMILY = "unassigned"


class SkippedRow(NamedTuple):
    """A source row left out of the training set, and why."""

    row: str
    """``source:file:line`` (line 1 is the header)."""
    reason: str


def bundled_path(filename: str) -> Path:
    """Path of a file in ``superionic/data/training``."""
    return Path(str(resources.files("superionic") / "data" / "training" / filename))


_BUNDLED = {
    "kang2023": ["kang2023_database.csv"],
    "obelix": ["obelix_train.csv"],
    "xu2020": ["xu2020_nasicon_train.csv", "xu2020_nasicon_lisicon_test.csv"],
    "poor_conductors": ["poor_conductors.csv"],
}


def resolve_source(source: str | Path, paths: dict) -> tuple[str, list[Path]]:
    """(source name, files) for a known source name (bundled or overridden) or a CSV path."""
    key = str(source)
    if key in KNOWN_SOURCES:
        override = paths.get(key)
        if override is None:
            return key, [bundled_path(f) for f in _BUNDLED[key]]
        files = [override] if isinstance(override, (str, Path)) else list(override)
        return key, [Path(f) for f in files]
    path = Path(source)
    if path.suffix.lower() == ".csv" and path.is_file():
        return path.stem, [path]
    raise ValueError(
        f"unknown training source {source!r}: use one of {', '.join(KNOWN_SOURCES)} or the "
        "path of a CSV file with 'formula' and 'sigma_rt_S_per_cm' columns"
    )


def read_csv(path: str | Path) -> pd.DataFrame:
    """A source file as strings (blank cells stay blank, nothing is guessed as NaN)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"training file {path} does not exist")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _require(frame: pd.DataFrame, columns: Sequence[str], source: str, filename: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{source} file {filename} lacks required column(s) {', '.join(map(repr, missing))} "
            f"(columns found: {', '.join(map(repr, frame.columns))})"
        )


def _row_name(source: str, filename: str, index: int) -> str:
    return f"{source}:{filename}:{index + 2}"  # line numbers: header is line 1


def _record(source, filename, i, formula, sigma, family, reference) -> dict:
    return {
        "row": _row_name(source, filename, i),
        "source": source,
        "formula": (formula or "").strip(),
        "sigma_raw": sigma,
        "family": normalise_family(family),
        "reference": (reference or "").strip(),
    }


def _read_generic(frame: pd.DataFrame, source: str, filename: str):
    """The seed's file, the curated poor conductors and user files.

    Columns: formula, sigma_rt_S_per_cm[, family, source_doi, note]; the reference is the DOI
    and the note together.
    """
    required = ["formula", "sigma_rt_S_per_cm"] + (["family"] if source == "kang2023" else [])
    _require(frame, required, source, filename)
    rows = [
        _record(
            source,
            filename,
            i,
            r["formula"],
            r["sigma_rt_S_per_cm"],
            r.get("family", ""),
            "; ".join(x for x in (r.get("source_doi", "").strip(), r.get("note", "").strip()) if x),
        )
        for i, r in enumerate(frame.to_dict("records"))
    ]
    return rows, []


def _read_obelix(frame: pd.DataFrame, source: str, filename: str):
    """OBELiX: 'Reduced Composition', 'Ionic conductivity (S cm-1)', 'Family', 'DOI'."""
    _require(frame, ["Reduced Composition", "Ionic conductivity (S cm-1)", "Family"], source, filename)
    rows = []
    for i, r in enumerate(frame.to_dict("records")):
        ref = " ".join(x for x in (r.get("ID", ""), r.get("DOI", "")) if x)
        formula, sigma = r["Reduced Composition"], r["Ionic conductivity (S cm-1)"]
        rows.append(_record(source, filename, i, formula, sigma, r["Family"], ref))
    return rows, []


def _read_xu(frame: pd.DataFrame, source: str, filename: str):
    """Xu 2020 tables: 'Formula', 'S' (S/cm); all NASICON-type; formulas cleaned."""
    _require(frame, ["Formula", "S"], source, filename)
    rows, skips = [], []
    for i, r in enumerate(frame.to_dict("records")):
        cleaned, problem = clean_xu_formula(r["Formula"])
        if problem:
            skips.append(SkippedRow(_row_name(source, filename, i), problem))
            continue
        rows.append(_record(source, filename, i, cleaned, r["S"], "NASICON", r.get("Paper", "")))
    return rows, skips


READERS = {"kang2023": _read_generic, "obelix": _read_obelix, "xu2020": _read_xu}


def clean_xu_formula(text: str) -> tuple[str, str | None]:
    """Fix the Xu 2020 tables' spellings ('AL' -> 'Al', 'HF' -> 'Hf', spaces); refuse composites.

    Returns (formula, None) or (text, reason) when the row is not a single compound.
    """
    raw = (text or "").strip()
    if re.search(r"[–—]|\s-\s|\)-", raw):
        return raw, f"composite, not a single compound: {raw!r}"
    cleaned = re.sub(r"\s+", "", raw).replace("AL", "Al").replace("HF", "Hf")
    return cleaned, None


def normalise_family(family: str | None) -> str:
    """A family name as the seed spells it ('garnet' -> 'Garnet'); blank -> 'unassigned'."""
    text = (family or "").strip()
    if not text:
        return UNASSIGNED_FAMILY
    return _FAMILY_ALIASES.get(text.lower(), text)
