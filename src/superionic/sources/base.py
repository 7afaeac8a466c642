"""What every corpus source returns, and the one place records become MaterialDocs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pymatgen.core import Composition, Element, Structure

from superionic.schemas.material import MaterialDoc, SourceIssue


class SourceError(RuntimeError):
    """A source cannot be read at all (no key, no network, missing folder)."""


@dataclass
class SourceResult:
    """Materials read from a source, and the records that could not be read."""

    materials: list[MaterialDoc] = field(default_factory=list)
    issues: list[SourceIssue] = field(default_factory=list)

    def skip(self, record: str, reason: str) -> None:
        self.issues.append(SourceIssue(record=record, reason=reason))


def clean_float(value: Any) -> float | None:
    """A finite float, or None for missing / NaN / unparseable values."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def parse_formula(formula: str) -> Composition:
    """A pymatgen Composition with real elements, or ValueError saying what is wrong."""
    text = (formula or "").strip()
    if not text:
        raise ValueError("empty formula")
    try:
        comp = Composition(text)
    except Exception as exc:  # pymatgen raises several types for bad formulas
        raise ValueError(f"malformed formula {text!r}: {exc}") from exc
    for el in comp.elements:
        if not isinstance(el, Element) or el.Z > 103:
            raise ValueError(f"unknown element {getattr(el, 'symbol', el)!s} in {text!r}")
    if comp.num_atoms <= 0:
        raise ValueError(f"formula {text!r} has no atoms")
    return comp


def make_material_doc(
    *,
    material_id: str,
    source: str,
    formula: str | None = None,
    structure: Structure | None = None,
    band_gap_ev: Any = None,
    energy_above_hull_ev: Any = None,
    formation_energy_ev: Any = None,
    require_li: bool = True,
    **extra: Any,
) -> MaterialDoc:
    """Validate one record into a MaterialDoc; raise ValueError with a reason otherwise."""
    if structure is not None:
        comp = structure.composition
        if not structure.is_ordered:
            raise ValueError("disordered structure (partial occupancies): order it first")
    else:
        comp = parse_formula(formula or "")
    if require_li and Element("Li") not in comp.elements:
        raise ValueError(f"{comp.reduced_formula} contains no Li")
    elements = sorted(el.symbol for el in comp.elements)
    warnings = list(extra.pop("warnings", []))
    has_structure = bool(extra.pop("has_structure", False)) or structure is not None
    values = {
        "band_gap_ev": clean_float(band_gap_ev),
        "energy_above_hull_ev": clean_float(energy_above_hull_ev),
        "formation_energy_ev": clean_float(formation_energy_ev),
    }
    for name, raw in (("band gap", band_gap_ev), ("energy above hull", energy_above_hull_ev)):
        if raw is not None and clean_float(raw) is None:
            warnings.append(f"{name} {raw!r} is not a number: treated as unknown")
    return MaterialDoc(
        material_id=material_id,
        formula=comp.reduced_formula,
        elements=elements,
        chemsys="-".join(elements),
        nelements=len(elements),
        nsites=len(structure) if structure is not None else None,
        structure=structure.as_dict() if structure is not None else None,
        has_structure=has_structure,
        source=source,
        warnings=warnings,
        **values,
        **extra,
    )
