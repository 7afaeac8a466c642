"""Turn formulas or pymatgen Compositions into the arrays the featuriser works on.

Parsing is pymatgen's ``Composition``, exactly what matminer featurises, so element order
and amounts are the same. Every way a formula can fail raises :class:`CompositionError`
with a message a user can act on; the batch featuriser records it per row.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from superionic.features.element_data import element_tables


class CompositionError(ValueError):
    """A formula or composition that cannot be featurised; the message says why."""


@dataclass(frozen=True)
class ParsedComposition:
    """A composition as matminer sees it: elements in ``element_composition`` order."""

    z: tuple[int, ...]
    """Atomic numbers, in the composition's order."""
    amounts: tuple[float, ...]
    """Amount of each element (not normalised), as pymatgen parsed it."""
    charge_balanced: bool | None
    """For compositions whose species all carry oxidation states: whether they sum to
    zero (matminer's ``IonProperty`` then uses them); ``None`` otherwise."""
    composition: Any = field(repr=False, compare=False)
    """The pymatgen Composition it came from."""

    @property
    def reduced_formula(self) -> str:
        """pymatgen's reduced formula of the element composition: the key of cached features."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.composition.element_composition.reduced_formula


def is_missing(value: Any) -> bool:
    """True for None, NaN and blank strings."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def to_composition(value: Any):
    """A pymatgen ``Composition`` from a formula string or a Composition-like object."""
    from pymatgen.core import Composition

    if is_missing(value):
        raise CompositionError("empty formula")
    if isinstance(value, Composition):
        return value
    if not isinstance(value, (str, dict)):
        raise CompositionError(f"not a formula: {value!r} (type {type(value).__name__})")
    text = value.strip() if isinstance(value, str) else value
    try:
        return Composition(text)
    except (ValueError, KeyError, TypeError, OverflowError, IndexError) as exc:
        raise CompositionError(f"unparseable formula {value!r}: {exc}") from exc


def parse_composition(value: Any) -> ParsedComposition:
    """Parse one formula/Composition; raise :class:`CompositionError` with the reason."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _parse(value)


def _parse(value: Any) -> ParsedComposition:
    from pymatgen.core import Element

    comp = to_composition(value)
    tables = element_tables()
    amounts: dict[str, float] = {}  # matminer's element_composition: species merged
    charges: list = []
    species_amounts: list[float] = []
    for specie, amount in comp.items():
        if type(specie) is Element:
            symbol = specie.symbol
            charges.append(None)
        else:
            element = getattr(specie, "element", None)
            if not isinstance(element, Element):
                symbol = getattr(specie, "symbol", str(specie))
                raise CompositionError(f"unknown element {symbol!r} in formula {value!r}")
            symbol = element.symbol
            charges.append(getattr(specie, "oxi_state", None))
        species_amounts.append(float(amount))
        amounts[symbol] = amounts.get(symbol, 0.0) + float(amount)
    if not amounts:
        raise CompositionError(f"formula {value!r} has no elements with a non-zero amount")
    bad_amount = [s for s, a in amounts.items() if not math.isfinite(a) or a <= 0]
    if bad_amount:
        raise CompositionError(
            f"formula {value!r} has non-finite or non-positive amounts for {', '.join(bad_amount)}"
        )
    z = tuple(tables.z_of[s] for s in amounts)
    if not all(tables.supported[i] for i in z):
        lacking = [s for s in amounts if not tables.supported[tables.z_of[s]]]
        detail = "; ".join(_lacks(s, tables.missing[s]) for s in lacking)
        raise CompositionError(f"element without Magpie data in {value!r}: {detail}")

    charge_balanced = None
    if all(c is not None for c in charges):  # matminer's has_oxidation_states
        charge_balanced = bool(np.isclose(float(np.dot(charges, species_amounts)), 0))
    return ParsedComposition(
        z=z, amounts=tuple(amounts.values()), charge_balanced=charge_balanced, composition=comp
    )


def _lacks(symbol: str, properties: tuple[str, ...]) -> str:
    if len(properties) > 10:
        return f"{symbol} has no Magpie data ({len(properties)} properties missing)"
    return f"{symbol} lacks {', '.join(properties)}"


def parse_many(values: list[Any]) -> list[ParsedComposition | str]:
    """Parse each value; a failure becomes its reason string. Repeated strings parse once."""
    cache: dict[str, ParsedComposition | str] = {}
    out: list[ParsedComposition | str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for value in values:
            out.append(_parse_cached(value, cache))
    return out


def _parse_cached(value: Any, cache: dict) -> ParsedComposition | str:
    hashable = isinstance(value, str)
    result = cache.get(value) if hashable else None
    if result is None:
        try:
            result = _parse(value)
        except CompositionError as exc:
            result = str(exc)
        if hashable:
            cache[value] = result
    return result
