"""Anion-framework type: does the anion sublattice match bcc, fcc or hcp?

Wang, Richards, Ong, Miara, Kim, Mo, Ceder, Nat. Mater. 14, 1026 (2015): a bcc anion
sublattice lets Li hop between face-sharing tetrahedra (one low barrier), fcc and hcp make it
pass through an octahedral site (higher barrier); the fast sulfides Li10GeP2S12 and Li7P3S11
have bcc-like S sublattices. As in that paper, the anion sites (all of them, one species)
are compared with the ideal lattices by pymatgen's StructureMatcher after scaling the volume;
the first match in bcc, fcc, hcp order wins, else 'other' (none matched) or 'none' (no anion
sites). The matcher's normalised RMS displacement to each ideal lattice is kept as well: a
continuous measure of how close the sublattice is (None: no match within the tolerances).
"""

from __future__ import annotations

from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Lattice, Structure

ANIONS = frozenset("N O F S Cl Se Br Te I".split())
"""Elements counted as anions of the framework (the seed's anion classes)."""

MATCHER = dict(ltol=0.2, stol=0.3, angle_tol=5.0, primitive_cell=True, scale=True, attempt_supercell=True)
"""StructureMatcher tolerances (pymatgen defaults; Wang et al. used the same matcher)."""

def _reference(kind: str) -> Structure:
    if kind == "bcc":
        return Structure(Lattice.cubic(3.0), ["X0+"] * 2, [[0, 0, 0], [0.5, 0.5, 0.5]])
    if kind == "fcc":
        return Structure(Lattice.cubic(3.0), ["X0+"] * 4, [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    if kind == "hcp":
        return Structure(Lattice.hexagonal(3.0, 3.0 * 1.633), ["X0+"] * 2, [[1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]])
    raise ValueError(kind)


def anion_sublattice(structure: Structure) -> Structure | None:
    """The anion sites as one dummy species in the same cell (None without anions)."""
    coords = [site.frac_coords for site in structure if site.specie.symbol in ANIONS]
    if not coords:
        return None
    return Structure(structure.lattice, ["X0+"] * len(coords), coords)


def anion_framework(structure: Structure) -> tuple[str, dict[str, float | None]]:
    """('bcc' | 'fcc' | 'hcp' | 'other' | 'none', RMS per ideal lattice). The cost grows fast with
    the anion sites (supercells of the ideal lattice): callers cap it (superionic.structure.evidence)."""
    sub = anion_sublattice(structure)
    if sub is None:
        return "none", {}
    sub = sub.get_primitive_structure(tolerance=0.25) if len(sub) > 8 else sub
    matcher = StructureMatcher(**MATCHER)
    rms: dict[str, float | None] = {}
    for kind in ("bcc", "fcc", "hcp"):
        result = matcher.get_rms_dist(sub, _reference(kind))
        rms[kind] = None if result is None else round(float(result[0]), 4)
    matched = [k for k in ("bcc", "fcc", "hcp") if rms[k] is not None]
    if not matched:
        return "other", rms
    return min(matched, key=lambda k: rms[k]), rms
