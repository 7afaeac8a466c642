"""Published electrochemical stability windows: a labelled fallback, never a computation.

Source: Wang et al., Adv. Funct. Mater. 2024, DFT windows (reduction and oxidation limits
vs Li/Li+) of 1,502 ICSD compounds, shipped as ``superionic/data/reference/
esw_wang2024.csv`` (provenance in the PROVENANCE.md beside it).

Matching is by reduced formula. 176 formulas have several rows (polymorphs / ICSD
entries), whose oxidation limits differ by up to 2.7 V; the lookup returns the row with the
LOWEST oxidation limit (conservative for a V_ox > threshold screen) and lists the others
in the warnings.
"""

from __future__ import annotations

import csv
import math
from functools import cache
from importlib import resources
from pathlib import Path

from pymatgen.core import Composition

from superionic.screening.voltage import StabilityWindow, chemsys_string

WANG2024_METHOD = "published:Wang2024"
WANG2024_CITATION = (
    "Wang et al., Adv. Funct. Mater. 2024: DFT electrochemical stability windows of "
    "1,502 ICSD compounds (file esw_wang2024.csv)"
)
WANG2024_FILE = "esw_wang2024.csv"


def default_reference_dir() -> Path:
    """Folder of the bundled published reference tables."""
    return Path(str(resources.files("superionic") / "data" / "reference"))


def _reduced(formula: str) -> str | None:
    try:
        return Composition(formula).reduced_formula
    except Exception:
        return None


@cache
def _wang2024_rows(path: Path) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            key = _reduced(row["formula"])
            if key is None:
                continue
            icsd = row["ICSD_id"].strip()
            rows.setdefault(key, []).append(
                {
                    "icsd_id": str(int(float(icsd))) if icsd else None,
                    "formula": row["formula"],
                    "reduction": float(row["reduction_limit_V"]),
                    "oxidation": float(row["oxidation_limit_V"]),
                }
            )
    return rows


def published_windows(formula: str | Composition, path: Path | None = None) -> list[dict]:
    """Every Wang2024 row whose reduced formula matches (icsd_id, reduction, oxidation)."""
    key = formula.reduced_formula if isinstance(formula, Composition) else _reduced(formula)
    if key is None:
        return []
    table = _wang2024_rows(path or default_reference_dir() / WANG2024_FILE)
    return list(table.get(key, []))


def published_window(
    formula: str | Composition, path: Path | None = None, point_tol_v: float = 1e-4
) -> StabilityWindow | None:
    """The published window of ``formula`` (lowest-V_ox row if several), or None."""
    rows = published_windows(formula, path)
    if not rows:
        return None
    rows.sort(key=lambda r: (r["oxidation"], -r["reduction"]))
    chosen = rows[0]
    comp = Composition(chosen["formula"])
    warnings = [
        "published value looked up by formula, not computed: the polymorph and the "
        "energy set behind it may differ from this material's"
    ]
    if len(rows) > 1:
        others = ", ".join(
            f"{r['reduction']:.2f}-{r['oxidation']:.2f} V (ICSD {r['icsd_id']})" for r in rows[1:]
        )
        warnings.append(
            f"{len(rows)} published rows for {comp.reduced_formula}; the lowest oxidation "
            f"limit is reported, others: {others}"
        )
    width = chosen["oxidation"] - chosen["reduction"]
    label = f"ICSD {chosen['icsd_id']}" if chosen["icsd_id"] else "no ICSD id"
    return StabilityWindow(
        formula=comp.reduced_formula,
        chemsys=chemsys_string(comp.elements),
        method=WANG2024_METHOD,
        reduction_limit_v=chosen["reduction"],
        oxidation_limit_v=chosen["oxidation"],
        width_v=width,
        is_point_window=math.isfinite(width) and width < point_tol_v,
        entry_source=WANG2024_FILE,
        reference=f"{WANG2024_CITATION}; row {label}",
        warnings=warnings,
    )
