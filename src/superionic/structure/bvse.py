"""BVSE percolation barriers of Li+ (bvlain), with explicit oxidation states and caps.

bvlain (Fedotov et al.) computes the bond-valence site energy of a Li+ test ion on a grid
and the lowest energy at which the low-energy region percolates in 1, 2 and 3 dimensions.
Its cost grows with the grid (neighbour arrays of grid points x ``K_NEIGHBOURS``): at its
default 0.2 A grid an MP cell costs up to 2.9 GB (8.8 GB on skewed cells; issue 22). Here the
grid spacing is widened until the cell has at most ``MAX_GRID_POINTS`` points (the spacing used
is stored), which bounds memory to roughly ``BYTES_PER_POINT`` x that.

Oxidation states: pymatgen's BVAnalyzer on the structure, else the composition's most likely
integer guess (``Composition.oxi_state_guesses``); when neither gives states (S-S bonds as in
Li2B2S5) the barrier is not computed and the reason is recorded. Every failure is returned,
never raised.
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings

from pymatgen.core import Structure

RESOLUTION = 0.2
"""bvlain's default grid spacing (A): used when the cell is small enough."""

MAX_GRID_POINTS = 60_000
"""Grid points at most (the spacing grows beyond RESOLUTION to stay under it)."""

K_NEIGHBOURS = 100
"""Framework neighbours per grid point (bvlain's default)."""

BYTES_PER_POINT = 16 * 8 * K_NEIGHBOURS
"""Rough peak bytes per grid point (about 16 float arrays of K neighbours)."""

ENCUT = 5.0
"""Energies above this (eV) count as no percolation."""


def grid_resolution(structure: Structure, max_points: int = MAX_GRID_POINTS) -> float:
    """Grid spacing (A): RESOLUTION, or wider so the cell holds at most ``max_points``."""
    return max(RESOLUTION, (structure.volume / max_points) ** (1 / 3))


def oxidation_states(structure: Structure) -> tuple[Structure | None, str]:
    """(decorated structure or None, how the states were found / why not)."""
    from pymatgen.analysis.bond_valence import BVAnalyzer

    plain = structure.copy()
    plain.remove_oxidation_states()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return BVAnalyzer(forbidden_species=["O-", "P3-"]).get_oxi_state_decorated_structure(plain), "BVAnalyzer"
    except Exception as exc:  # noqa: BLE001 - BVAnalyzer raises ValueError and others
        reason = f"BVAnalyzer: {type(exc).__name__}"
    guesses = plain.composition.oxi_state_guesses(max_sites=-1)
    if guesses:
        decorated = plain.copy()
        decorated.add_oxidation_state_by_element({el: int(round(q)) for el, q in guesses[0].items()})
        if any(abs(q - round(q)) > 1e-6 for q in guesses[0].values()):
            return None, f"{reason}; composition guess not integer"
        return decorated, f"composition guess ({reason})"
    return None, f"{reason}; no charge-balanced integer guess (e.g. S-S bonds)"


def bvse_barriers(structure: Structure, max_points: int = MAX_GRID_POINTS) -> dict:
    """{'bvse_e1d', 'bvse_e2d', 'bvse_e3d' (eV or None), 'bvse_resolution', 'bvse_status',
    'bvse_reason', 'bvse_seconds', 'oxidation_state_method'}; never raises."""
    out: dict = {"bvse_e1d": None, "bvse_e2d": None, "bvse_e3d": None, "bvse_resolution": None,
                 "bvse_status": "failed", "bvse_reason": None, "bvse_seconds": None, "oxidation_state_method": None}
    start = time.perf_counter()
    try:
        from bvlain import Lain
    except ImportError:
        out.update(bvse_status="not_computed", bvse_reason="bvlain not installed (pip install 'superionic[bvse]')")
        return out
    decorated, how = oxidation_states(structure)
    out["oxidation_state_method"] = how
    if decorated is None:
        out.update(bvse_status="not_computed", bvse_reason=f"no oxidation states: {how}")
        return out
    resolution = grid_resolution(structure, max_points)
    out["bvse_resolution"] = round(resolution, 4)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            calc = Lain(verbose=False)
            calc.read_structure(decorated, oxi_check=False)
            calc.bvse_distribution(mobile_ion="Li1+", resolution=resolution, k=K_NEIGHBOURS)
            energies = calc.percolation_barriers(encut=ENCUT)
    except MemoryError:
        out.update(bvse_reason=f"MemoryError at {resolution:.3f} A grid")
    except Exception as exc:  # noqa: BLE001 - recorded, not raised
        out.update(bvse_reason=f"{type(exc).__name__}: {str(exc)[:200]}")
    else:
        for dim in (1, 2, 3):
            e = energies.get(f"E_{dim}D")
            out[f"bvse_e{dim}d"] = None if e is None or e != e or e == float("inf") else round(float(e), 4)
        out.update(bvse_status="ok", bvse_reason=None)
    out["bvse_seconds"] = round(time.perf_counter() - start, 3)
    return out
