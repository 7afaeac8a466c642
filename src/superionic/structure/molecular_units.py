"""Isolated molecular units in a crystal: water of hydration, ammonium, ammonia, organics.

A battery chemist drops a hydrate or an ammonium salt from a solid-electrolyte shortlist (it
loses water / NH3 on heating, reacts with Li metal, its Li conduction is protonic or
solvent-assisted), yet the composition classifier cannot tell LiH2ClO5 (LiClO4 . H2O) from a
dense oxide. The test here reads the MP structure: atoms of the non-metals below are bonded
when closer than ``BOND_SCALE`` x the sum of their covalent radii (O-H 1.12 A, N-H 1.18 A;
a hydrogen bond at 1.6-1.9 A is not a bond); metals (Li, Al, Sn, ...) are never bonded, so
the graph holds only covalent units. A connected unit is *finite* (a molecule or molecular
ion) unless walking it returns to an atom in another unit cell (then it is a chain, layer or
framework). Finite units with H are named; ``FLAGGED`` are the kinds that make a compound a
hydrate or a molecular salt. Hydroxide (OH), amide (NH2), imide (NH), borohydride (BH4) and
hydride units are listed but not flagged: Li2OHCl, LiNH2 and LiBH4 are studied Li
conductors.

Only compounds containing H are analysed (every flagged kind has H): seconds for the corpus.
"""

from __future__ import annotations

from collections import Counter, deque

import numpy as np
from pymatgen.core import Composition, Structure
from pymatgen.core.periodic_table import Element

NONMETALS = frozenset("H B C N O F Si P S Cl As Se Br Te I".split())
"""Elements whose covalent bonds define a molecular unit (metals never bond here)."""

BOND_SCALE = 1.15
"""Bonded when d < BOND_SCALE x (r_cov(a) + r_cov(b)) (Cordero covalent radii)."""

FLAGGED = {
    "H2O": "water (hydrate)",
    "H4N": "ammonium (NH4+)",
    "H3N": "ammonia (ammine complex)",
    "H4N2": "hydrazine",
    "H5N2": "hydrazinium",
    "H2O4S": "sulfuric acid (acid solvate)",
}
"""Reduced unit formula (alphabetical, pymatgen ``formula`` without spaces) -> what it is."""

NAMED = {"HO": "hydroxide", "H2N": "amide", "HN": "imide", "BH4": "borohydride", "H": "hydride"}


def _radius(symbol: str) -> float:
    from pymatgen.analysis.molecule_structure_comparator import CovalentRadius

    return float(CovalentRadius.radius[symbol])


def _unit_key(symbols: list[str]) -> str:
    return "".join(f"{el}{n if n > 1 else ''}" for el, n in sorted(Counter(symbols).items()))


def unit_kind(key: str) -> str | None:
    """What a finite unit is ('water (hydrate)', 'organic', ...); None for an unflagged unit."""
    if key in FLAGGED:
        return FLAGGED[key]
    elements = set(Composition(key).elements)
    if Element("C") in elements and Element("H") in elements:
        return "organic (C-H) unit"
    return None


def finite_units(structure: Structure) -> list[str]:
    """Formula keys ('H2O', 'H4N', 'HO', ...) of every finite covalent unit, one per unit."""
    idx = [i for i, site in enumerate(structure) if site.specie.symbol in NONMETALS]
    if not idx:
        return []
    sub = Structure.from_sites([structure[i] for i in idx])
    symbols = [site.specie.symbol for site in sub]
    rmax = 2 * BOND_SCALE * max(_radius(s) for s in set(symbols))
    centers, points, images, dists = sub.get_neighbor_list(rmax)
    bonds: dict[int, list[tuple[int, np.ndarray]]] = {i: [] for i in range(len(sub))}
    for a, b, img, d in zip(centers, points, images, dists):
        if d < BOND_SCALE * (_radius(symbols[a]) + _radius(symbols[b])):
            bonds[int(a)].append((int(b), np.asarray(img, dtype=int)))
    seen: dict[int, np.ndarray] = {}
    units = []
    for start in range(len(sub)):
        if start in seen:
            continue
        seen[start] = np.zeros(3, dtype=int)
        members, periodic, queue = [start], False, deque([start])
        while queue:
            a = queue.popleft()
            for b, img in bonds[a]:
                offset = seen[a] + img
                if b not in seen:
                    seen[b] = offset
                    members.append(b)
                    queue.append(b)
                elif not np.array_equal(seen[b], offset):
                    periodic = True
        if not periodic and (len(members) > 1 or symbols[start] == "H"):
            units.append(_unit_key([symbols[m] for m in members]))
    return units


def molecular_summary(structure: Structure) -> tuple[dict[str, int], list[str]]:
    """(H-bearing finite units -> count per cell, flag texts), e.g. ({'H2O': 4}, ['water (hydrate): 4 H2O per cell'])."""
    if "H" not in {el.symbol for el in structure.composition.elements}:
        return {}, []
    counts = Counter(u for u in finite_units(structure) if "H" in Composition(u))
    flags = []
    for key, n in sorted(counts.items()):
        kind = unit_kind(key)
        if kind:
            flags.append(f"{kind}: {n} {key} per cell")
    if not any(f.startswith("organic") for f in flags) and _has_c_h_bond(structure):
        flags.append("organic (C-H bonds in an extended unit)")
    return dict(counts), flags


def _has_c_h_bond(structure: Structure) -> bool:
    symbols = {el.symbol for el in structure.composition.elements}
    if not {"C", "H"} <= symbols:
        return False
    cutoff = BOND_SCALE * (_radius("C") + _radius("H"))
    for site in structure:
        if site.specie.symbol == "C":
            if any(n.specie.symbol == "H" for n in structure.get_neighbors(site, cutoff)):
                return True
    return False
