"""Deterministic MD supercells: a minimum image distance, optionally capped in atoms.

The *image distance* of a cell is taken here as its smallest perpendicular width (the
distance between opposite faces, i.e. the diameter of the largest sphere that fits in the
cell). No atom is closer than this to any of its own periodic images, and it is never larger
than the shortest lattice vector, so it is the conservative reading of "min image distance".

The supercell is diagonal (``n_a x n_b x n_c`` repeats of the input cell): each repeat count
is the smallest integer that brings that width to the target. With ``max_atoms`` the repeats
are then reduced, always on the axis whose reduction keeps the smallest width largest, until
the cell fits; the result says when the target distance is not reached. An input cell that is
itself larger than ``max_atoms`` (e.g. an AIMD supercell) is first reduced to its primitive
cell; if even that is too large it is used as it is, and the result says so.

The lattice is finally rotated into ASE's upper-triangular standard form (fractional
coordinates unchanged): ASE's Nose-Hoover dynamics need it, and a rotation changes no
physics. Everything is a pure function of the input: the same structure and settings give
the same supercell, site for site.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pymatgen.core import Lattice, Structure

PRIMITIVE_TOLERANCE = 0.25  # Angstrom; pymatgen's default for get_primitive_structure


@dataclass(frozen=True)
class SupercellResult:
    """The supercell and how it was chosen."""

    structure: Structure
    scaling: tuple[int, int, int]
    target_image_distance: float
    image_distance: float
    max_atoms: int | None
    capped: bool
    note: str = ""

    @property
    def reached_target(self) -> bool:
        return self.image_distance >= self.target_image_distance - 1e-6

    def summary(self) -> dict:
        """A small JSON-ready record for documents."""
        return {
            "scaling": list(self.scaling),
            "n_sites": len(self.structure),
            "target_image_distance": self.target_image_distance,
            "image_distance": round(self.image_distance, 4),
            "max_atoms": self.max_atoms,
            "capped": self.capped,
            "reached_target": self.reached_target,
            "note": self.note,
        }


def perpendicular_widths(lattice: Lattice | np.ndarray) -> np.ndarray:
    """Distances between opposite faces of the cell, one per lattice vector (Angstrom)."""
    matrix = lattice.matrix if isinstance(lattice, Lattice) else np.asarray(lattice, dtype=float)
    volume = abs(np.linalg.det(matrix))
    return np.array(
        [volume / np.linalg.norm(np.cross(matrix[(i + 1) % 3], matrix[(i + 2) % 3])) for i in range(3)]
    )


def image_distance(lattice: Lattice | np.ndarray) -> float:
    """The smallest perpendicular width: every atom is at least this far from its images."""
    return float(perpendicular_widths(lattice).min())


def choose_scaling(
    lattice: Lattice, n_sites: int, min_image_distance: float, max_atoms: int | None = None
) -> tuple[tuple[int, int, int], bool]:
    """Diagonal repeats reaching ``min_image_distance``, reduced to fit ``max_atoms``.

    Returns the repeats and whether the ``max_atoms`` cap reduced them.
    """
    if min_image_distance < 0:
        raise ValueError(f"min_image_distance must be >= 0, got {min_image_distance}")
    if max_atoms is not None and max_atoms < n_sites:
        raise ValueError(
            f"max_atoms={max_atoms} is below the {n_sites} sites of the input cell; the cell "
            "itself cannot be reduced (raise max_atoms or pass a smaller cell)"
        )
    widths = perpendicular_widths(lattice)
    scaling = [max(1, math.ceil(min_image_distance / w - 1e-9)) for w in widths]
    capped = False
    if max_atoms is not None:
        while n_sites * math.prod(scaling) > max_atoms:
            options = []
            for axis in range(3):
                if scaling[axis] > 1:
                    trial = list(scaling)
                    trial[axis] -= 1
                    # keep the smallest width as large as possible; ties: the earlier axis
                    options.append((-float(min(np.array(trial) * widths)), axis, trial))
            if not options:  # pragma: no cover - guarded by the max_atoms >= n_sites check
                break
            scaling = min(options)[2]
            capped = True
    return (int(scaling[0]), int(scaling[1]), int(scaling[2])), capped


def upper_triangular(structure: Structure) -> Structure:
    """The same crystal with its lattice rotated to ASE's upper-triangular standard form."""
    from ase.cell import Cell

    matrix, _ = Cell(structure.lattice.matrix).standard_form(form="upper")
    return Structure(
        Lattice(matrix),
        structure.species,
        structure.frac_coords,
        site_properties=structure.site_properties or None,
    )


def make_md_supercell(
    structure: Structure, min_image_distance: float = 10.0, max_atoms: int | None = None
) -> SupercellResult:
    """The MD cell of ``structure`` (see the module docstring for the rules)."""
    if not isinstance(structure, Structure):
        raise TypeError(f"expected a pymatgen Structure, got {type(structure).__name__}")
    if not structure.is_ordered:
        raise ValueError(
            f"{structure.composition.reduced_formula}: the structure has partial occupancies; "
            "order it (e.g. pymatgen OrderDisorderedStructureTransformation) before MD"
        )
    note = ""
    if max_atoms is not None and len(structure) > max_atoms:
        primitive = structure.get_primitive_structure(tolerance=PRIMITIVE_TOLERANCE)
        if len(primitive) < len(structure):
            note = (
                f"input cell of {len(structure)} sites exceeds max_atoms={max_atoms}: started "
                f"from its primitive cell ({len(primitive)} sites, tolerance {PRIMITIVE_TOLERANCE} A)"
            )
            structure = primitive
        if len(structure) > max_atoms:
            note = (note + "; " if note else "") + (
                f"the cell ({len(structure)} sites) cannot be brought under max_atoms={max_atoms}; "
                "used as is"
            )
            max_atoms = len(structure)
    scaling, capped = choose_scaling(structure.lattice, len(structure), min_image_distance, max_atoms)
    capped = capped or bool(note)
    supercell = structure.copy()
    for prop in ("velocities", "momenta"):  # MD starts from fresh Maxwell-Boltzmann velocities
        if prop in supercell.site_properties:
            supercell.remove_site_property(prop)
    supercell.make_supercell(scaling)
    supercell = upper_triangular(supercell)
    return SupercellResult(
        structure=supercell,
        scaling=scaling,
        target_image_distance=float(min_image_distance),
        image_distance=image_distance(supercell.lattice),
        max_atoms=max_atoms,
        capped=capped,
        note=note,
    )
