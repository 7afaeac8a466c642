"""The two oxidation-voltage conventions, and the energy set a window came from.

``li_metal`` (physical)
    V_ox vs Li/Li+: ``-(mu_Li at the oxidation onset - mu_Li(Li metal)) / e``, what
    ``superionic.screening.voltage`` computes.
``seed`` (the seed's reconstructed convention)
    ``V_seed = V_ox + |E(Li metal) per atom|`` of the energy set, i.e. minus the raw Li
    chemical potential at the onset, without the Li-metal reference. On MP GGA energies
    |E(Li)| = 1.909 eV, so the seed's "V_ox > 3.7 V" is V_ox > 1.79 V vs Li/Li+. The seed
    never states its formula: this is a reconstruction from its counts (README, "Screening").
"""

from __future__ import annotations

from typing import Literal

from superionic.screening.mp2019_energies import ENERGY_SET, ENERGY_SET_LABEL, LI_METAL_ENERGY_EV
from superionic.screening.voltage import StabilityWindow

VoltageConvention = Literal["seed", "li_metal"]
CONVENTIONS: tuple[str, ...] = ("seed", "li_metal")
MP_GGA_LI_METAL_ENERGY_EV = LI_METAL_ENERGY_EV  # same bcc Li energy in every MP GGA set


def li_metal_energy_ev(window: StabilityWindow) -> float:
    """E(Li metal) per atom of the energy set the window was computed from (eV)."""
    if (window.entry_source or "").startswith(ENERGY_SET):
        return LI_METAL_ENERGY_EV  # formation energies: the diagram's own Li reference is 0
    if window.mu_li_ref_ev:
        return window.mu_li_ref_ev
    return MP_GGA_LI_METAL_ENERGY_EV  # published windows (MP GGA based)


def seed_voltage_v(window: StabilityWindow | None) -> float | None:
    """V_ox in the seed convention, or None without an oxidation limit."""
    if window is None or window.oxidation_limit_v is None:
        return None
    return window.oxidation_limit_v - li_metal_energy_ev(window)


def voltage_in(convention: str, window: StabilityWindow | None) -> float | None:
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown voltage convention {convention!r}: choose seed or li_metal")
    if window is None:
        return None
    return window.oxidation_limit_v if convention == "li_metal" else seed_voltage_v(window)


def threshold_text(min_v: float, convention: str) -> str:
    if convention == "li_metal":
        return f"> {min_v:g} V vs Li/Li+ (li_metal convention)"
    return (f"> {min_v:g} V seed convention (V_ox + {-MP_GGA_LI_METAL_ENERGY_EV:.3f} V; "
            f"{min_v + MP_GGA_LI_METAL_ENERGY_EV:.2f} V vs Li/Li+)")


def energy_set_label(window: StabilityWindow | None, database_version: str | None = None) -> str | None:
    """Which energies (and MP version) a window's numbers came from, in words."""
    if window is None:
        return None
    source = window.entry_source or ""
    if source.startswith(ENERGY_SET):
        return ENERGY_SET_LABEL
    if source.startswith("bundled:"):
        return f"{source} (bundled MP entries, MP2020 corrections)"
    if window.method.startswith("published:"):
        return f"{window.method} (published window, not computed)"
    if database_version and database_version not in source:
        source = f"{source} {database_version}"
    scheme = "r2SCAN, no corrections" if "R2SCAN" in source.upper() else "MP2020 corrections"
    return f"{source or 'entries'} ({scheme})"
