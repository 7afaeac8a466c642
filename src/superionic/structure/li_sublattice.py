"""Li-sublattice geometry: Li-Li distances, connectivity of the Li sites and its
dimensionality, and the free volume left by the framework.

- ``li_li_min`` / ``li_li_mean_nearest``: shortest Li-Li distance, and the mean over Li sites
  of the distance to the nearest other Li (A).
- ``li_network_dim``: dimensionality (0-3) of the graph whose edges join Li sites closer than
  ``LI_LI_CUTOFF`` (periodic images included; superionic.structure.periodic_graph).
- ``li_percolation_cutoff_{1,2,3}d``: the smallest Li-Li bond length at which that graph
  first becomes 1D / 2D / 3D periodic (A; None above ``MAX_CUTOFF``). No free parameter: a
  short 3D value means Li sites form a dense 3D network (short hops in every direction).
- ``free_volume_fraction``: 1 - sum of atomic spheres (pymatgen ``Element.atomic_radius``,
  Slater radii) / cell volume; ``volume_per_anion``, ``volume_per_atom`` (A^3).
"""

from __future__ import annotations

import math

import numpy as np
from pymatgen.core import Element, Structure

from superionic.structure.framework import ANIONS
from superionic.structure.periodic_graph import max_dimensionality

LI_LI_CUTOFF = 3.5
"""Li-Li edge length of the connectivity graph (A): about the hop length of fast conductors."""

MAX_CUTOFF = 7.0
"""Longest Li-Li distance searched for the percolation cutoffs (A)."""


def _li_pairs(structure: Structure, cutoff: float):
    li = [i for i, s in enumerate(structure) if s.specie.symbol == "Li"]
    sub = Structure.from_sites([structure[i] for i in li])
    centers, points, images, dists = sub.get_neighbor_list(cutoff)
    keep = centers <= points  # each pair once (self-images have centers == points)
    return len(li), centers[keep], points[keep], images[keep], dists[keep]


def percolation_cutoffs(structure: Structure, max_cutoff: float = MAX_CUTOFF) -> dict[int, float | None]:
    """Smallest Li-Li edge length giving a 1D, 2D and 3D periodic Li network (None if > max)."""
    n, a, b, img, d = _li_pairs(structure, max_cutoff)
    out: dict[int, float | None] = {1: None, 2: None, 3: None}
    if n == 0 or len(d) == 0:
        return out
    lengths = np.unique(np.round(d, 3))
    lo = 0
    for dim in (1, 2, 3):
        # dimensionality grows with the cutoff: bisect on the sorted distinct lengths
        hi = len(lengths) - 1
        if _dim_at(n, a, b, img, d, lengths[hi]) < dim:
            break
        while lo < hi:
            mid = (lo + hi) // 2
            if _dim_at(n, a, b, img, d, lengths[mid]) >= dim:
                hi = mid
            else:
                lo = mid + 1
        out[dim] = float(lengths[lo])
    return out


def _dim_at(n, a, b, img, d, cutoff) -> int:
    m = d <= cutoff + 1e-3  # lengths are rounded to 1e-3 A
    return max_dimensionality(n, list(zip(a[m].tolist(), b[m].tolist(), img[m])))


def li_geometry(structure: Structure) -> dict[str, float | int | None]:
    """The descriptors of the module docstring for one structure."""
    n, a, b, img, d = _li_pairs(structure, MAX_CUTOFF)
    nearest = np.full(n, np.inf)
    for i, j, dist in zip(a, b, d):
        if dist > 1e-6:
            nearest[i] = min(nearest[i], dist)
            nearest[j] = min(nearest[j], dist)
    finite = nearest[np.isfinite(nearest)]
    m = d <= LI_LI_CUTOFF
    dim = max_dimensionality(n, list(zip(a[m].tolist(), b[m].tolist(), img[m]))) if n else None
    perc = percolation_cutoffs(structure)
    volume = structure.volume
    spheres = sum(4 / 3 * math.pi * (Element(site.specie.symbol).atomic_radius or 0.0) ** 3 for site in structure)
    n_anion = sum(site.specie.symbol in ANIONS for site in structure)
    return {
        "n_li_sites": n,
        "li_li_min": float(finite.min()) if finite.size else None,
        "li_li_mean_nearest": float(finite.mean()) if finite.size else None,
        "li_network_dim": dim,
        "li_percolation_cutoff_1d": perc[1],
        "li_percolation_cutoff_2d": perc[2],
        "li_percolation_cutoff_3d": perc[3],
        "free_volume_fraction": float(1 - spheres / volume),
        "volume_per_atom": float(volume / len(structure)),
        "volume_per_anion": float(volume / n_anion) if n_anion else None,
    }
