"""Anion type of a composition (oxide, sulfide, halide, ..., mixed), as in the seed's Fig. 2c.

Rule
----
1. *Oxidation states.* Every element gets ONE oxidation state (the same for all its
   atoms), chosen from pymatgen's ``Element.common_oxidation_states`` (0 for an element
   that has none), such that the formula is charge neutral. Among the neutral
   assignments the one with the lowest ``sum(n_i * state_i * EN_i)`` (Pauling EN) wins:
   negative charge sits on the most electronegative atoms. This makes P, S, C, B, N, Cl,
   I, H... the *centre* of an oxo/thio/nitrido anion when a more electronegative partner
   needs the charge (Li3PO4: P+5; Li2SO4: S+6; LiClO4: Cl+7; LiBH4: B+3, H-1; LiOH:
   H+1) and an anion otherwise (Li3PS4: S-2; Li3P: P-3).
2. *Fallback* when no integer assignment is neutral (peroxides Li2O2, polysulfides Li2S8,
   Zintl phases LiSi, closo-borates Li2B12H12): the most electronegative element takes the
   (non-integer) average state that balances the others, the others as in step 1; the
   assignment must leave that element negative.
3. *Anions* are the elements with a negative state. The label is
   - the anion's name when there is one kind: ``oxide sulfide selenide telluride nitride
     phosphide arsenide antimonide carbide silicide germanide boride hydride``;
   - ``halide`` when all anions are halogens (``subtype``: fluoride / chloride / bromide /
     iodide, or ``mixed halide``);
   - ``mixed`` when anions of two or more of those classes are present (``subtype`` joins
     their names by decreasing electronegativity, e.g. ``oxide+chloride`` for Li3OCl,
     ``sulfide+chloride`` for the argyrodite Li6PS5Cl);
   - ``intermetallic`` when the negative element is a metal (Li-Sn, Li-Al, K-Li-Sn Zintl
     phases) and ``element`` for a single element.
   Thiophosphates (Li3PS4), thioborates, thiosilicates are *sulfides* (the anion is S2-;
   P, B, Si are cations in them); phosphates, borates, nitrates are *oxides*.
"""

from __future__ import annotations

import itertools
import math

from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Composition, Element

ANION_NAMES: dict[str, str] = {
    "F": "fluoride", "Cl": "chloride", "Br": "bromide", "I": "iodide",
    "O": "oxide", "S": "sulfide", "Se": "selenide", "Te": "telluride",
    "N": "nitride", "P": "phosphide", "As": "arsenide", "Sb": "antimonide",
    "C": "carbide", "Si": "silicide", "Ge": "germanide", "B": "boride", "H": "hydride",
}  # fmt: skip
HALOGEN_SYMBOLS = frozenset({"F", "Cl", "Br", "I"})
ANION_TYPES = (
    "oxide", "halide", "sulfide", "selenide", "telluride", "nitride", "phosphide",
    "arsenide", "antimonide", "carbide", "silicide", "germanide", "boride", "hydride",
    "mixed", "intermetallic", "element",
)  # fmt: skip


class AnionClassification(BaseModel):
    """Which elements are anions in a composition and the resulting anion type."""

    model_config = ConfigDict(extra="forbid")

    formula: str = Field(description="Reduced formula classified.")
    anion_type: str = Field(description=f"One of {', '.join(ANION_TYPES)}.")
    subtype: str | None = Field(
        default=None,
        description="Halide kind (fluoride, chloride, ..., 'mixed halide') or, for "
        "'mixed', the anion names joined by '+' in decreasing electronegativity.",
    )
    anions: list[str] = Field(
        description="Symbols with a negative oxidation state, most electronegative first."
    )
    oxidation_states: dict[str, float] = Field(
        description="The per-element oxidation states used (rule in the module docstring)."
    )
    method: str = Field(
        description="'charge_balance' (integer states) or 'electronegative_average' "
        "(fallback: the most electronegative element balances the rest)."
    )


def _en(symbol: str) -> float:
    x = Element(symbol).X
    return 0.0 if math.isnan(x) else x


def _states(symbol: str) -> tuple[int, ...]:
    return tuple(Element(symbol).common_oxidation_states) or (0,)


def _score(amounts: dict[str, float], states: dict[str, float]) -> float:
    return sum(amounts[s] * states[s] * _en(s) for s in amounts)


def _charge_balanced(amounts: dict[str, float]) -> dict[str, float] | None:
    symbols = sorted(amounts)
    best, best_score = None, math.inf
    for combo in itertools.product(*(_states(s) for s in symbols)):
        if abs(sum(amounts[s] * q for s, q in zip(symbols, combo))) > 1e-6:
            continue
        states = dict(zip(symbols, map(float, combo)))
        score = _score(amounts, states)
        if score < best_score - 1e-9:
            best, best_score = states, score
    return best


def _electronegative_average(amounts: dict[str, float]) -> dict[str, float] | None:
    top = max(amounts, key=_en)
    others = sorted(s for s in amounts if s != top)
    best, best_score = None, math.inf
    for combo in itertools.product(*(_states(s) for s in others)):
        charge = sum(amounts[s] * q for s, q in zip(others, combo))
        average = -charge / amounts[top]
        if average >= 0:
            continue
        states = dict(zip(others, map(float, combo))) | {top: average}
        score = _score(amounts, states)
        if score < best_score - 1e-9:
            best, best_score = states, score
    return best


def guess_oxidation_states(composition: Composition | str) -> tuple[dict[str, float], str]:
    """Per-element oxidation states by the module's rule, and which step gave them."""
    comp = Composition(composition).reduced_composition
    amounts = {el.symbol: float(n) for el, n in comp.items()}
    states = _charge_balanced(amounts)
    if states is not None:
        return states, "charge_balance"
    states = _electronegative_average(amounts)
    if states is not None:
        return states, "electronegative_average"
    return {s: 0.0 for s in amounts}, "none"


def _label(anions: list[str]) -> tuple[str, str | None]:
    if any(a not in ANION_NAMES for a in anions):
        return "intermetallic", None
    names = [ANION_NAMES[a] for a in anions]
    if all(a in HALOGEN_SYMBOLS for a in anions):
        return "halide", names[0] if len(names) == 1 else "mixed halide"
    if len(anions) == 1:
        return names[0], None
    return "mixed", "+".join(names)


def classify_anions(composition: Composition | str) -> AnionClassification:
    """Anions, oxidation states and anion type of ``composition`` (see module docstring)."""
    comp = Composition(composition)
    formula = comp.reduced_formula
    if len(comp.elements) == 1:
        symbol = comp.elements[0].symbol
        return AnionClassification(formula=formula, anion_type="element", anions=[],
                                   oxidation_states={symbol: 0.0}, method="element")
    states, method = guess_oxidation_states(comp)
    anions = sorted((s for s, q in states.items() if q < 0), key=lambda s: (-_en(s), s))
    if not anions:
        return AnionClassification(formula=formula, anion_type="intermetallic", anions=[],
                                   oxidation_states=states, method=method)
    anion_type, subtype = _label(anions)
    return AnionClassification(formula=formula, anion_type=anion_type, subtype=subtype,
                               anions=anions, oxidation_states=states, method=method)


def anion_type(composition: Composition | str) -> str:
    """Anion type label of ``composition`` (one of ``ANION_TYPES``)."""
    return classify_anions(composition).anion_type
