"""What a run says when its Li hops are not resolved: an upper bound on D, and the verdict.

Upper bound on D at one temperature (one-sided 95 %), the larger of two bounds, so that it
holds when either model holds:

* **hop count** (Poisson): ``n`` Li hops counted in ``n_li`` atoms over a time ``t`` bound the
  hop rate per atom by ``n_up / (n_li t)``, ``n_up`` the one-sided 95 % Poisson upper limit of
  ``n`` (``chi2.ppf(0.95, 2 (n + 1)) / 2``; 3.0 for no hop). Uncorrelated jumps of length
  ``l`` give D = rate l^2 / 6; back-and-forth (correlated) jumps give less, so
  ``D_up = n_up l^2 / (6 n_li t)`` is an upper bound, with ``l`` the larger of a stated jump
  length (``DiffusionSettings.bound_hop_length``, 3 A: Li-Li site distances in the seed's
  sulfides and halides are 2-3 A) and the longest hop observed.
* **MSD slope**: the one-sided 95 % quantile of the slope's posterior (Gaussian, correlated-
  MSD covariance, truncated at D >= 0), the same model as the interval of a resolved D.

Coverage is checked on synthetic lattice random walks with 0.5-40 expected hops
(``tests/test_md_analysis.py``).

sigma(300 K) from the temperatures (:func:`sigma_range_from_bounds`): a temperature's D upper
bound is carried to 300 K along an Arrhenius line with the *smallest* activation energy
allowed (``ea_min``: 0.15 eV, below the lowest measured in Li conductors, Li10GeP2S12 ~0.2 eV),
which maximises D(300 K); a resolved D's lower end along the *largest* (``ea_max``, 1 eV), which
minimises it. The data raise ``ea_min`` where a resolved hotter temperature and a bounded
colder one imply a steeper line. The temperatures' ranges are intersected.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2, truncnorm

K_B_EV = 8.617333262e-5
A2_PER_FS_TO_CM2_PER_S = 0.1
EA_MIN_EV = 0.15
EA_MAX_EV = 1.0

VERDICT_SUPERIONIC = "superionic (MD)"
VERDICT_NOT = "not superionic (MD bound)"
VERDICT_UNDECIDED = "undecided (MD): interval spans 1e-4"
VERDICT_UNDECIDED_BOUND = "undecided (MD): bound above 1e-4"
VERDICT_NONE = "insufficient data"
VERDICTS = (VERDICT_SUPERIONIC, VERDICT_NOT, VERDICT_UNDECIDED, VERDICT_UNDECIDED_BOUND, VERDICT_NONE)


def poisson_upper(n: int, confidence: float = 0.95) -> float:
    """One-sided upper confidence limit of a Poisson mean after observing ``n`` events."""
    return float(chi2.ppf(confidence, 2 * (int(n) + 1)) / 2.0)


def hop_upper_bound(n_hops: int, n_li: int, time_fs: float, hop_length: float,
                    confidence: float = 0.95) -> float:
    """Upper bound on D (cm^2/s) from a hop count (see module docstring)."""
    if n_li <= 0 or time_fs <= 0:
        raise ValueError("hop bound needs Li atoms and a positive observation time")
    rate_up = poisson_upper(n_hops, confidence) / (n_li * time_fs)  # hops per atom per fs
    return rate_up * hop_length**2 / 6.0 * A2_PER_FS_TO_CM2_PER_S


def slope_upper_bound(slope: float, slope_std: float, confidence: float = 0.95) -> float:
    """One-sided upper quantile of D (cm^2/s) from the MSD slope's truncated Gaussian."""
    if not slope_std > 0:
        return max(slope, 0.0) * A2_PER_FS_TO_CM2_PER_S / 6.0
    q = truncnorm.ppf(confidence, -slope / slope_std, np.inf, loc=slope, scale=slope_std)
    return float(q) * A2_PER_FS_TO_CM2_PER_S / 6.0


def d_upper_bound(n_hops: int, n_li: int, time_fs: float, longest_hop: float, hop_length: float,
                  confidence: float = 0.95, slope: float | None = None,
                  slope_std: float | None = None) -> tuple[float | None, str]:
    """(upper bound on D in cm^2/s, how): the larger of the hop-count bound (jumps of the
    stated ``hop_length`` or the ``longest_hop`` observed) and, given an MSD fit, the slope
    bound. None without Li or observation time."""
    if n_li <= 0 or time_fs <= 0:
        return None, ""
    length = max(hop_length, longest_hop)
    value = hop_upper_bound(n_hops, n_li, time_fs, length, confidence)
    how = (f"hop count: {n_hops} hops of {n_li} Li in {time_fs / 1000:.2f} ps, Poisson "
           f"{confidence:.0%} upper limit, uncorrelated jumps of {length:.2f} A (stated "
           f"{hop_length:g} A or the longest observed)")
    if slope is not None and slope_std is not None:
        from_slope = slope_upper_bound(slope, slope_std, confidence)
        if from_slope > value:
            how = (f"MSD slope: one-sided {confidence:.0%} quantile of the slope posterior "
                   f"(above the hop-count bound {value:.2g} cm^2/s)")
            value = from_slope
    return value, how


def arrhenius_carry(d: float, t_from: float, ea: float, t_to: float = 300.0) -> float:
    """D at ``t_to`` on the Arrhenius line of activation energy ``ea`` through (t_from, d)."""
    return float(d * np.exp(-ea / K_B_EV * (1.0 / t_to - 1.0 / t_from)))


def ea_lower_from_data(points: list[tuple[float, float | None, float]]) -> float | None:
    """The largest Ea lower limit implied by a resolved hotter D (lower end) and a colder
    D upper bound: Ea >= k ln(D_lo(T_h) / D_up(T_c)) / (1/T_c - 1/T_h). ``points``: (T,
    D lower end or None when not resolved, D upper bound)."""
    best = None
    for t_h, lo_h, _ in points:
        if not lo_h:
            continue
        for t_c, _, up_c in points:
            if t_c >= t_h or not up_c:
                continue
            ea = K_B_EV * np.log(lo_h / up_c) / (1.0 / t_c - 1.0 / t_h)
            if ea > 0 and (best is None or ea > best):
                best = float(ea)
    return best


def sigma_range_from_bounds(
    points: list[tuple[float, float | None, float]], to_sigma, *, ea_min: float = EA_MIN_EV,
    ea_max: float = EA_MAX_EV, t_to: float = 300.0,
) -> tuple[float, float, float, str]:
    """(sigma lower, sigma upper, Ea lower limit used, how) at ``t_to`` from per-temperature
    D ranges ``points`` = (T, D lower end or None, D upper bound); ``to_sigma(D)`` is
    Nernst-Einstein at ``t_to``. Lower is 0 when no temperature is resolved."""
    if not points:
        raise ValueError("no temperature with a D range")
    from_data = ea_lower_from_data(points)
    ea_low = max(ea_min, from_data or 0.0)
    ups = [to_sigma(arrhenius_carry(up, t, ea_low, t_to)) for t, _, up in points]
    lows = [to_sigma(arrhenius_carry(lo, t, ea_max, t_to)) for t, lo, _ in points if lo]
    upper, lower = min(ups), max(lows) if lows else 0.0
    how = (f"each temperature's D range carried to {t_to:g} K along Arrhenius lines with Ea "
           f"between {ea_low:.2f} eV (upper end; stated minimum {ea_min:g} eV"
           + (f", raised by the data to {from_data:.2f} eV" if from_data and from_data > ea_min
              else "") + f") and {ea_max:g} eV (lower end); ranges intersected")
    return lower, upper, ea_low, how


def md_verdict(lower: float | None, upper: float | None, threshold: float) -> str:
    """The verdict of a sigma(300 K) range: decided when the threshold lies outside it; an
    undecided upper bound alone (no lower end) says "bound above", not "interval spans"."""
    if upper is None and lower is None:
        return VERDICT_NONE
    if lower is not None and lower >= threshold:
        return VERDICT_SUPERIONIC
    if upper is not None and upper < threshold:
        return VERDICT_NOT
    return VERDICT_UNDECIDED if lower else VERDICT_UNDECIDED_BOUND
