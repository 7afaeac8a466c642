"""The 145 Magpie descriptors of Ward et al. 2016, vectorised, equal to matminer's.

matminer computes them as::

    MultipleFeaturizer([ElementProperty.from_preset("magpie"), Stoichiometry(),
                        IonProperty(fast=True), ValenceOrbital(props=["frac"])])

(132 + 6 + 3 + 4 = 145 columns; ``Stoichiometry`` with its default p-norms 0, 2, 3, 5, 7,
10). That takes 5-8 ms per composition. Here the same statistics are computed with numpy over
all compositions with the same number of elements at once, over matminer's own element
tables (:mod:`superionic.features.element_data`), in the same order of floating-point
operations, so the values are bit-identical to matminer's (the p-norms may differ in the last
bit: numpy's power against Python's). Quirks kept on purpose:

- ``mode``: the value of the element with the largest amount; ties (``np.isclose`` on the
  amounts) resolve to the smallest value.
- ``avg_dev``: the amount-weighted mean absolute deviation from the weighted mean.
- ``compound possible`` (``IonProperty(fast=True)``): whether some choice of ONE common
  oxidation state (pymatgen) per element sums to zero (``np.isclose``, atol 1e-8); the
  charges themselves when every species of a Composition carries an oxidation state. Stored
  as 1.0/0.0 so that a failed row can be NaN.
- single-element compositions: ``compound possible`` 1.0, ionic characters 0.

Elements without complete Magpie data (He, Ne, Ar, At, Rn, Fr and Z >= 97) are refused, with
the reason, where matminer would silently impute an average; the other 90 elements give the
same numbers either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from superionic.features.composition import ParsedComposition, parse_composition, parse_many
from superionic.features.element_data import MAGPIE_PROPERTIES, element_tables

STATS = ("minimum", "maximum", "range", "mean", "avg_dev", "mode")
P_NORMS = (0, 2, 3, 5, 7, 10)
ORBITALS = ("s", "p", "d", "f")

MAGPIE_FEATURE_LABELS: list[str] = (
    [f"MagpieData {stat} {prop}" for prop in MAGPIE_PROPERTIES for stat in STATS]
    + [f"{p}-norm" for p in P_NORMS]
    + ["compound possible", "max ionic char", "avg ionic char"]
    + [f"frac {orb} valence electrons" for orb in ORBITALS]
)
"""The 145 feature names, matminer's, in matminer's order."""


def _dist_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover - both are dependencies
        return "absent"


ALGORITHM_VERSION = "1"
FEATURIZER_VERSION: str = (
    f"magpie145-v{ALGORITHM_VERSION}+matminer-{_dist_version('matminer')}"
    f"+pymatgen-{_dist_version('pymatgen-core')}"
)
"""Changes whenever the numbers could: our algorithm, matminer's tables or pymatgen's
element data (electronegativity, oxidation states). Cached features carry it."""

N_FEATURES = len(MAGPIE_FEATURE_LABELS)
_ABS_TOL_CHARGE = 1e-8  # np.isclose(x, 0) as matminer calls it


def featurize_formulas(formulas: Sequence[Any]) -> tuple[pd.DataFrame, dict[int, str]]:
    """Featurise formulas (or pymatgen Compositions); never raises for a bad row.

    Returns a DataFrame with one row per input (index 0..n-1) and the 145 columns of
    :data:`MAGPIE_FEATURE_LABELS` (NaN rows where featurisation failed), and a dict that maps
    each failed row position to the reason (empty formula, unparseable formula, element
    without Magpie data, ...).
    """
    formulas = list(formulas)
    parsed = parse_many(formulas)
    failures = {i: p for i, p in enumerate(parsed) if isinstance(p, str)}
    values = np.full((len(formulas), N_FEATURES), np.nan)
    ok = [i for i, p in enumerate(parsed) if not isinstance(p, str)]
    if ok:
        values[ok] = compute_features([parsed[i] for i in ok])
    return pd.DataFrame(values, columns=MAGPIE_FEATURE_LABELS), failures


def featurize_composition(comp: Any) -> np.ndarray:
    """The 145 descriptors of one formula or Composition; ``ValueError`` if impossible."""
    return compute_features([parse_composition(comp)])[0]


def compute_features(comps: Sequence[ParsedComposition]) -> np.ndarray:
    """(len(comps), 145) descriptors of parsed compositions."""
    out = np.empty((len(comps), N_FEATURES))
    by_size: dict[int, list[int]] = {}
    for i, comp in enumerate(comps):
        by_size.setdefault(len(comp.z), []).append(i)
    for n, rows in by_size.items():
        z = np.array([comps[i].z for i in rows], dtype=np.intp).reshape(len(rows), n)
        w = np.array([comps[i].amounts for i in rows], dtype=float).reshape(len(rows), n)
        out[rows] = _features_same_size(z, w, [comps[i] for i in rows])
    return out


def _features_same_size(z: np.ndarray, w: np.ndarray, comps: list[ParsedComposition]) -> np.ndarray:
    """Descriptors of m compositions that all have n elements: z, w of shape (m, n)."""
    tables = element_tables()
    m, n = z.shape
    # (m, n_props, n): the element axis last and contiguous, so numpy sums it exactly the
    # way matminer's 1-D np.average does (pairwise summation along a contiguous axis).
    x = np.ascontiguousarray(tables.magpie[z].transpose(0, 2, 1))
    w3 = w[:, None, :]
    w_sum = w.sum(axis=-1)[:, None]

    minimum = x.min(axis=-1)
    maximum = x.max(axis=-1)
    mean = np.multiply(x, w3).sum(axis=-1) / w_sum
    avg_dev = np.multiply(np.abs(x - mean[..., None]), w3).sum(axis=-1) / w_sum
    most_frequent = np.isclose(w, w.max(axis=-1, keepdims=True))[:, None, :]
    mode = np.where(most_frequent, x, np.inf).min(axis=-1)
    element_stats = np.stack([minimum, maximum, maximum - minimum, mean, avg_dev, mode], axis=-1)

    return np.hstack(
        [
            element_stats.reshape(m, -1),
            _stoichiometry(w),
            _ion_properties(z, w, comps),
            _valence_fractions(z, w, w_sum),
        ]
    )


def _stoichiometry(w: np.ndarray) -> np.ndarray:
    """matminer ``Stoichiometry``: L_p norms of the atomic fractions (p = 0 counts)."""
    m, n = w.shape
    n_atoms = _sequential_sum(w)  # Python's sum() over the amounts
    out = np.empty((m, len(P_NORMS)))
    for k, p in enumerate(P_NORMS):
        if p == 0:
            out[:, k] = n
            continue
        total = np.zeros(m)
        for j in range(n):
            total = total + (w[:, j] / n_atoms) ** p
        out[:, k] = total ** (1.0 / p)
    return out


def _ion_properties(z: np.ndarray, w: np.ndarray, comps: list[ParsedComposition]) -> np.ndarray:
    """matminer ``IonProperty(fast=True)``: compound possible, max and avg ionic character."""
    tables = element_tables()
    m, n = z.shape
    out = np.empty((m, 3))
    if n < 2:
        out[:] = (1.0, 0.0, 0.0)
        return out
    elec = tables.pauling_x[z]
    frac = w / _sequential_sum(w)[:, None]
    pairs = list(combinations(range(n), 2))
    ionic = np.empty((m, len(pairs)))
    avg = np.zeros(m)
    for k, (a, b) in enumerate(pairs):
        ionic[:, k] = 1.0 - np.exp(-0.25 * ((elec[:, a] - elec[:, b]) ** 2))
        avg = avg + frac[:, a] * frac[:, b] * ionic[:, k]
    out[:, 0] = [_compound_possible(c, tables.oxidation_states) for c in comps]
    out[:, 1] = ionic.max(axis=1)
    out[:, 2] = avg
    return out


def _valence_fractions(z: np.ndarray, w: np.ndarray, w_sum: np.ndarray) -> np.ndarray:
    """matminer ``ValenceOrbital(props=["frac"])``: mean s/p/d/f electrons over mean total."""
    val = np.ascontiguousarray(element_tables().valence[z].transpose(0, 2, 1))
    means = np.multiply(val, w[:, None, :]).sum(axis=-1) / w_sum
    return means[:, :4] / means[:, 4:5]


def _sequential_sum(w: np.ndarray) -> np.ndarray:
    """Row sums added left to right, as Python's ``sum()`` does."""
    total = np.zeros(w.shape[0])
    for j in range(w.shape[1]):
        total = total + w[:, j]
    return total


def _compound_possible(comp: ParsedComposition, oxidation_states) -> float:
    """Can one common oxidation state per element make the composition neutral?

    matminer enumerates the Cartesian product of the states; here the reachable partial
    charge sums are propagated element by element (duplicates merged, sums that can no
    longer return to zero pruned), which gives the same answer without the exponential
    blow-up.
    """
    if comp.charge_balanced is not None:
        return float(comp.charge_balanced)
    choices = [
        [amount * state for state in oxidation_states[z]] for z, amount in zip(comp.z, comp.amounts)
    ]
    if any(not c for c in choices):
        return 0.0
    lowest = [min(c) for c in choices]
    highest = [max(c) for c in choices]
    sums = {0.0: 0.0}
    for i, options in enumerate(choices):
        rest_low = sum(lowest[i + 1 :])
        rest_high = sum(highest[i + 1 :])
        reached: dict[float, float] = {}
        for s in sums.values():
            for charge in options:
                t = s + charge
                if t + rest_low > _ABS_TOL_CHARGE or t + rest_high < -_ABS_TOL_CHARGE:
                    continue
                reached.setdefault(round(t, 9), t)
        if not reached:
            return 0.0
        sums = reached
    return float(any(abs(t) <= _ABS_TOL_CHARGE for t in sums.values()))
