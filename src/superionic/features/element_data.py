"""Element tables behind the Magpie descriptors, read from the installed matminer package.

matminer is the reference implementation of Ward et al. 2016's descriptors; to give the same
numbers we read the very tables its featurisers use, once, into arrays indexed by atomic
number:

- ``MagpieData`` (``matminer/utils/data_files/magpie_elementdata/*.table``) for the 22
  ``ElementProperty`` properties and the valence-orbital counts, read with
  ``impute_nan=False`` so that missing values stay missing;
- ``PymatgenData`` (pymatgen's ``Element``) for ``IonProperty``: Pauling electronegativity
  ``X`` and the common oxidation states.

Nothing is downloaded. An element is *supported* when every Magpie property used has a
value; matminer's default would silently replace missing values by the average over all
elements (``impute_nan=True``). We refuse such elements instead and say which properties are
missing: for the 90 elements that have complete data the two choices give identical
numbers, so results still equal matminer's wherever we return any.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

MAGPIE_PROPERTIES: tuple[str, ...] = (
    "Number",
    "MendeleevNumber",
    "AtomicWeight",
    "MeltingT",
    "Column",
    "Row",
    "CovalentRadius",
    "Electronegativity",
    "NsValence",
    "NpValence",
    "NdValence",
    "NfValence",
    "NValence",
    "NsUnfilled",
    "NpUnfilled",
    "NdUnfilled",
    "NfUnfilled",
    "NUnfilled",
    "GSvolume_pa",
    "GSbandgap",
    "GSmagmom",
    "SpaceGroupNumber",
)
"""The properties of matminer's ``ElementProperty.from_preset("magpie")``, in its order."""

VALENCE_PROPERTIES: tuple[str, ...] = ("NsValence", "NpValence", "NdValence", "NfValence", "NValence")
"""Properties used by ``ValenceOrbital`` (s, p, d, f shells, then the total)."""

MAX_Z = 118


@dataclass(frozen=True)
class ElementTables:
    """Element data as arrays indexed by atomic number (row 0 unused)."""

    symbols: tuple[str, ...]
    """Element symbol by atomic number (index 0 is an empty string)."""
    magpie: np.ndarray
    """(MAX_Z + 1, len(MAGPIE_PROPERTIES)) Magpie values; NaN where matminer has none."""
    valence: np.ndarray
    """(MAX_Z + 1, 5) Ns, Np, Nd, Nf and total valence electrons (Magpie)."""
    pauling_x: np.ndarray
    """(MAX_Z + 1,) pymatgen Pauling electronegativity (``IonProperty``)."""
    oxidation_states: tuple[tuple[int, ...], ...]
    """pymatgen common oxidation states by atomic number (``IonProperty(fast=True)``)."""
    missing: dict[str, tuple[str, ...]]
    """Unsupported element symbol -> the properties it lacks."""
    supported: np.ndarray
    """(MAX_Z + 1,) bool: every property needed is present."""
    z_of: dict[str, int]
    """Element symbol -> atomic number."""


@lru_cache(maxsize=1)
def element_tables() -> ElementTables:
    """Read matminer's and pymatgen's element data once (about 0.2 s)."""
    from matminer.utils.data import MagpieData, PymatgenData
    from pymatgen.core.periodic_table import Element

    magpie_source = MagpieData(impute_nan=False)
    pymatgen_source = PymatgenData(impute_nan=False)
    props = magpie_source.all_elemental_props

    symbols = [""] + [Element.from_Z(z).symbol for z in range(1, MAX_Z + 1)]
    magpie = np.full((MAX_Z + 1, len(MAGPIE_PROPERTIES)), np.nan)
    valence = np.full((MAX_Z + 1, len(VALENCE_PROPERTIES)), np.nan)
    pauling_x = np.full(MAX_Z + 1, np.nan)
    oxidation_states: list[tuple[int, ...]] = [()]
    missing: dict[str, tuple[str, ...]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns for elements without X
        for z in range(1, MAX_Z + 1):
            symbol = symbols[z]
            element = Element(symbol)
            magpie[z] = [props[p][symbol] for p in MAGPIE_PROPERTIES]
            valence[z] = [props[p][symbol] for p in VALENCE_PROPERTIES]
            x = pymatgen_source.get_elemental_property(element, "X")
            pauling_x[z] = np.nan if x is None else float(x)
            oxidation_states.append(tuple(int(o) for o in pymatgen_source.get_oxidation_states(element)))
            lacking = [p for p, v in zip(MAGPIE_PROPERTIES, magpie[z]) if np.isnan(v)]
            if np.isnan(pauling_x[z]):
                lacking.append("X (pymatgen electronegativity)")
            if lacking:
                missing[symbol] = tuple(lacking)

    supported = np.zeros(MAX_Z + 1, dtype=bool)
    for z in range(1, MAX_Z + 1):
        supported[z] = symbols[z] not in missing
    return ElementTables(
        symbols=tuple(symbols),
        magpie=magpie,
        valence=valence,
        pauling_x=pauling_x,
        oxidation_states=tuple(oxidation_states),
        missing=missing,
        supported=supported,
        z_of={s: z for z, s in enumerate(symbols) if s},
    )
