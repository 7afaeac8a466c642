"""A compact, chemically meaningful descriptor set for Li conductors (beside Magpie's 145).

Magpie's statistics average elemental properties over the whole composition, so the anion
sublattice (what a Li ion hops through) and the Li content are diluted into the framework
cations. These descriptors name them directly, meant to carry over between structural
families (measured against Magpie in the README, "Classifier, four protocols"): what
fraction of the atoms is Li, which anions there are, how polarisable and how electronegative
they are, how many Li per anion, and the mean charge and size spread of the other
(framework) cations, and the fractions of the usual polyanion formers (P, B, Si/Ge/Sn) and
of the rare earths (Sc, Y, La-Lu: garnets, perovskites, halide spinels).

Anions with their usual charges: O, S, Se, Te -2; N -3; F, Cl, Br, I -1, except S, Se and Te
with three or more O atoms each (sulfates, tellurates: oxoanion centres, counted as
framework cations). The framework charge is what balances the anions after Li+ (no
oxidation-state search: fast, and defined for every composition).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from superionic.features.composition import CompositionError, parse_composition
from superionic.features.magpie import _dist_version

ANION_CHARGE = {"O": -2, "S": -2, "Se": -2, "Te": -2, "N": -3, "F": -1, "Cl": -1, "Br": -1, "I": -1}
ANION_FRACTION_COLUMNS = {"O": "frac O", "S": "frac S", "Se": "frac Se+Te", "Te": "frac Se+Te", "N": "frac N",
                          "F": "frac F", "Cl": "frac Cl", "Br": "frac Br", "I": "frac I"}
CHEMISTRY_FEATURE_LABELS: list[str] = [
    "frac Li", *dict.fromkeys(ANION_FRACTION_COLUMNS.values()), "frac H", "frac anions", "Li per anion",
    "anion species", "anion mean electronegativity", "anion mean ionic radius",
    "framework mean electronegativity", "framework mean ionic radius", "framework ionic radius std",
    "framework mean charge", "frac P", "frac B", "frac Si+Ge+Sn", "frac rare earths",
]
"""The 23 names, in column order."""
CHEMISTRY_VERSION = f"chemistry23-v1+pymatgen-{_dist_version('pymatgen-core')}"
"""Cached descriptors and saved models carry it: changes with this code or pymatgen's element data."""
CHALCOGENS = frozenset({"S", "Se", "Te"})
RARE_EARTHS = frozenset({"Sc", "Y", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm",
                         "Yb", "Lu"})


@lru_cache(maxsize=None)
def _element(symbol: str, charge: int | None = None) -> tuple[float, float]:
    """(Pauling electronegativity, ionic radius at ``charge``, else the average ionic radius) in A."""
    from pymatgen.core import Element

    el = Element(symbol)
    if charge is not None and charge in el.ionic_radii:
        return float(el.X), float(el.ionic_radii[charge])
    return float(el.X), float(el.average_ionic_radius) or float(el.atomic_radius or np.nan)


@lru_cache(maxsize=None)
def _symbol(z: int) -> str:
    from pymatgen.core import Element

    return Element.from_Z(z).symbol


def chemistry_features(formula) -> list[float]:
    """The :data:`CHEMISTRY_FEATURE_LABELS` of one formula; raises ``CompositionError``."""
    parsed = parse_composition(formula)
    symbols = [_symbol(z) for z in parsed.z]
    amounts = np.asarray(parsed.amounts, float)
    frac = dict(zip(symbols, amounts / amounts.sum()))
    oxygen = frac.get("O", 0.0)
    # S, Se, Te with three or more O each are oxoanion centres (sulfate, tellurate): cations
    anions = {s: f for s, f in frac.items()
              if s in ANION_CHARGE and not (s in CHALCOGENS and oxygen >= 3 * f)}
    framework = {s: f for s, f in frac.items() if s not in anions and s != "Li"}
    li, total_anion = frac.get("Li", 0.0), sum(anions.values())
    row = {"frac Li": li, "frac H": frac.get("H", 0.0), "frac anions": total_anion,
           "anion species": float(len(anions)), "frac P": frac.get("P", 0.0), "frac B": frac.get("B", 0.0),
           "frac Si+Ge+Sn": sum(frac.get(s, 0.0) for s in ("Si", "Ge", "Sn")),
           "frac rare earths": sum(f for s, f in frac.items() if s in RARE_EARTHS)}
    for column in dict.fromkeys(ANION_FRACTION_COLUMNS.values()):
        row[column] = sum(f for s, f in anions.items() if ANION_FRACTION_COLUMNS[s] == column)
    row["Li per anion"] = li / total_anion if total_anion else np.nan
    if anions:
        w = np.array(list(anions.values())) / total_anion
        el = [_element(s, ANION_CHARGE[s]) for s in anions]
        row["anion mean electronegativity"] = float(w @ [e for e, _ in el])
        row["anion mean ionic radius"] = float(w @ [r for _, r in el])
    if framework:
        w = np.array(list(framework.values()))
        el = [_element(s) for s in framework]
        x, r = np.array([e for e, _ in el]), np.array([r for _, r in el])
        row["framework mean electronegativity"] = float(w @ x / w.sum())
        mean_r = float(w @ r / w.sum())
        row["framework mean ionic radius"] = mean_r
        row["framework ionic radius std"] = float(np.sqrt(w @ (r - mean_r) ** 2 / w.sum()))
        anion_charge = -sum(ANION_CHARGE[s] * f for s, f in anions.items())
        row["framework mean charge"] = (anion_charge - li) / w.sum()
    return [float(row.get(c, np.nan)) for c in CHEMISTRY_FEATURE_LABELS]


def featurize_chemistry(formulas: Sequence) -> tuple[pd.DataFrame, dict[int, str]]:
    """One row per formula (NaN rows where parsing fails) and {row: reason} of the failures."""
    rows, failures = [], {}
    for i, formula in enumerate(formulas):
        try:
            rows.append(chemistry_features(formula))
        except CompositionError as exc:
            failures[i] = str(exc)
            rows.append([np.nan] * len(CHEMISTRY_FEATURE_LABELS))
    return pd.DataFrame(rows, columns=CHEMISTRY_FEATURE_LABELS, dtype=float), failures
