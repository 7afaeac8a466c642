"""Arrhenius fit of per-temperature diffusivities -> Ea, D(300 K), sigma(300 K) with intervals.

* One material and one MD protocol (engine, potential, preset) per fit: documents of several
  protocols are refused (``ValueError``), never mixed.
* Only ``DiffusionDoc.usable`` temperatures enter; the others are listed with their reason.
* Weighted least squares of ln D vs 1/T; the weight of a temperature is 1 / s^2 with
  s = (ln D_hi - ln D_lo) / (2 * 1.96) from its 95 % interval. With three or more points the
  covariance is multiplied by the reduced chi^2 when that exceeds 1 (Birge ratio: scatter
  beyond the stated errors widens the interval, never narrows it).
* D(300 K) = exp(a + b / 300); its interval is exp(ln D300 +/- 1.96 s) with s^2 = J C J^T,
  J = (1, 1/300), C the fit covariance (normal quantiles).
* sigma = n q^2 D / (k_B T), n the Li number density (from the structure given, else from the
  simulated cells), q = e, Haven ratio 1. The same factor maps the D interval to sigma.
* Fewer than two resolved temperatures (or Ea <= 0): the range of sigma(300 K) the resolved
  intervals and the unresolved temperatures' D upper bounds allow, with a stated range of Ea
  (:func:`superionic.md.analysis.bounds.sigma_range_from_bounds`).
* Verdict (:func:`superionic.md.analysis.bounds.md_verdict`): "superionic (MD)" when the range lies
  above the threshold, "not superionic (MD bound)" below, "undecided (MD): interval spans
  1e-4" across, "undecided (MD): bound above 1e-4" for an upper bound alone; "insufficient data" only when no temperature bounds D (all melted/failed).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from superionic.md.analysis.bounds import (
    EA_MAX_EV,
    EA_MIN_EV,
    VERDICT_NONE,
    VERDICT_SUPERIONIC,
    VERDICT_UNDECIDED,
    md_verdict,
    sigma_range_from_bounds,
)
from superionic.md.analysis.diffusion import ANALYSIS_VERSION
from superionic.schemas.md import ConductivityDoc, DiffusionDoc, ExcludedTemperature

K_B_EV = 8.617333262e-5  # eV / K
K_B_J = 1.380649e-23  # J / K
E_CHARGE = 1.602176634e-19  # C
Z95 = 1.959963984540054
SUPERIONIC_THRESHOLD = 1e-4  # S/cm at room temperature (the seed's label)
ROOM_T = 300.0


def nernst_einstein(d_cm2_s: float, li_density_cm3: float, temperature: float) -> float:
    """Conductivity (S/cm) from a tracer diffusivity, charge e, Haven ratio 1."""
    return li_density_cm3 * E_CHARGE**2 * d_cm2_s / (K_B_J * temperature)


def li_density(structure) -> float:
    """Li atoms per cm^3 of a pymatgen Structure."""
    n_li = sum(1 for site in structure if site.specie.symbol == "Li")
    return n_li / (structure.volume * 1e-24)


def weighted_arrhenius(temps, d, sigma_ln_d) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Fit ln D = a + b / T. Returns ([b, a], covariance, reduced chi^2 or None)."""
    x = 1.0 / np.asarray(temps, dtype=float)
    y = np.log(np.asarray(d, dtype=float))
    w = 1.0 / np.asarray(sigma_ln_d, dtype=float) ** 2
    design = np.stack([x, np.ones_like(x)], axis=1)
    cov = np.linalg.inv(design.T @ (design * w[:, None]))
    beta = cov @ design.T @ (w * y)
    chi2 = None
    if len(x) > 2:
        chi2 = float(np.sum(w * (y - design @ beta) ** 2) / (len(x) - 2))
        cov = cov * max(1.0, chi2)
    return beta, cov, chi2


FIT_RULES = "r2"
"""Bumped when the fit rules change (r2: a rejected fit, Ea <= 0, stores no D300/sigma300)."""


def conductivity_version(threshold: float = SUPERIONIC_THRESHOLD, ea_min: float = EA_MIN_EV,
                         ea_max: float = EA_MAX_EV) -> str:
    """``ConductivityDoc.analysis_version``: the rules' version, Ea limits and threshold."""
    return f"{ANALYSIS_VERSION}:ea{ea_min:g}-{ea_max:g}:thr{threshold:g}:{FIT_RULES}"


def _pick_per_temperature(docs: list[DiffusionDoc]) -> tuple[list[DiffusionDoc], list[str]]:
    by_t: dict[float, DiffusionDoc] = {}
    flags = []
    for doc in docs:
        old = by_t.get(doc.temperature)
        if old is not None:
            flags.append(f"duplicate_temperature: {doc.temperature:g} K analysed twice; the "
                         "latest document is used")
            if doc.last_updated < old.last_updated:
                continue
        by_t[doc.temperature] = doc
    return [by_t[t] for t in sorted(by_t)], flags


def conductivity_from_diffusion(
    docs: Iterable[DiffusionDoc | dict],
    structure=None,
    *,
    threshold: float = SUPERIONIC_THRESHOLD,
    target_temperature: float = ROOM_T,
    ea_min: float = EA_MIN_EV,
    ea_max: float = EA_MAX_EV,
) -> ConductivityDoc:
    """Per-temperature DiffusionDocs of one material -> ConductivityDoc (see module doc)."""
    docs = [d if isinstance(d, DiffusionDoc) else DiffusionDoc(**d) for d in docs]
    if not docs:
        raise ValueError("No DiffusionDocs given.")
    ids = {d.material_id for d in docs}
    if len(ids) > 1:
        raise ValueError(f"DiffusionDocs of several materials given: {sorted(ids)}")
    protocols = {d.protocol for d in docs}
    if len(protocols) > 1:  # one Arrhenius fit never mixes engines, potentials or presets
        raise ValueError(f"DiffusionDocs of several MD protocols given: {sorted(protocols)}; "
                         "fit each protocol on its own")
    docs, flags = _pick_per_temperature(docs)
    first = docs[0]
    out = dict(
        material_id=first.material_id, formula=first.formula, engine=first.engine,
        potential=first.potential, preset=first.preset, source_doc_ids=[d.doc_id for d in docs],
        threshold=threshold,
    )
    used, excluded = [], []
    for d in docs:
        if not d.usable:
            excluded.append(ExcludedTemperature(temperature=d.temperature, doc_id=d.doc_id,
                                                reason=d.reason or "not usable"))
        elif not d.diffusivity or not d.diffusivity_ci95 or d.diffusivity_ci95[0] <= 0:
            excluded.append(ExcludedTemperature(temperature=d.temperature, doc_id=d.doc_id,
                                                reason="no positive D with an interval"))
        else:
            used.append(d)
    out["excluded"] = excluded
    out["temperatures_used"] = [d.temperature for d in used]
    if structure is not None:
        density = li_density(structure)
    else:
        densities = [d.li_density_cm3 for d in (used or docs) if d.li_density_cm3]
        density = float(np.mean(densities)) if densities else None
    out["li_density_cm3"] = density
    out["analysis_version"] = conductivity_version(threshold, ea_min, ea_max)
    unrelaxed = [d.temperature for d in docs if d.start_relaxed is False]
    if unrelaxed:
        flags.append("unrelaxed_start: the force-field relaxation failed, MD at "
                     + ", ".join(f"{t:g}" for t in unrelaxed) + " K started from the unrelaxed cell")
    out["method"] = (
        "weighted least squares of ln D vs 1/T (weights from each 95 % interval; covariance "
        "scaled by reduced chi^2 if > 1); D(300 K) interval from the propagated fit "
        "covariance (normal); Nernst-Einstein with the Li number density, Haven ratio 1. "
        "Without two resolved temperatures: bounds (superionic.md.analysis.bounds)"
    )
    out["flags"] = flags
    if len(used) >= 2:
        _fit(out, used, flags, target_temperature)
    if out.get("sigma300_kind") is None:
        _bounds(out, used, docs, density, flags, target_temperature, ea_min, ea_max)
    lower, upper = out.get("sigma300_lower"), out.get("sigma300_upper")
    out["verdict"] = md_verdict(lower, upper, threshold)
    if out["verdict"] == VERDICT_NONE:
        why = "; ".join(f"{e.temperature:g} K: {e.reason}" for e in excluded) or "none excluded"
        if not density:
            why = "no Li number density for Nernst-Einstein; " + why
        out["verdict_reason"] = f"no temperature bounds D ({why})"
    else:
        out["verdict_reason"] = _range_text(out, threshold, target_temperature)
    _apply_cross_checks(out, docs)
    return ConductivityDoc(**out)


def _apply_cross_checks(out: dict, docs: list[DiffusionDoc]) -> None:
    """A second potential's opinions into ``out``: the ``cross_check`` summary, and a verdict
    that is never "superionic (MD)" when a run it rests on is disowned."""
    checked = [d for d in docs if d.cross_check is not None]
    if not checked:
        return
    disowned = [d for d in checked if not d.cross_check.agree]
    melts = [d for d in checked if any(f.startswith("melt_disowned") for f in d.flags)]
    who = checked[0].cross_check.potential
    parts = [f"cross-checked with {who}: " + ("agree" if not disowned else "disagree")
             + " at " + ", ".join(f"{d.temperature:g} K" for d in (disowned or checked))]
    parts += [f"{d.temperature:g} K: {d.cross_check.summary.split(': ', 1)[1]}" for d in disowned]
    if melts:
        parts.append("framework melted where " + who + " would likely hold it at "
                     + ", ".join(f"{d.temperature:g} K" for d in melts))
    out["cross_check"] = "; ".join(parts)
    if disowned and out["verdict"] == VERDICT_SUPERIONIC:
        out["verdict"] = VERDICT_UNDECIDED
        out["verdict_reason"] += f"; not 'superionic (MD)': {who} disowns the run(s) it rests on"


def _fit(out: dict, used: list[DiffusionDoc], flags: list[str], target_temperature: float) -> None:
    """Arrhenius fit of the resolved temperatures into ``out`` (an interval if Ea > 0)."""
    temps = np.array([d.temperature for d in used])
    dvals = np.array([d.diffusivity for d in used])
    lo = np.array([d.diffusivity_ci95[0] for d in used])
    hi = np.array([d.diffusivity_ci95[1] for d in used])
    s_ln = (np.log(hi) - np.log(lo)) / (2 * Z95)
    (b, a), cov, chi2 = weighted_arrhenius(temps, dvals, s_ln)
    ea, ea_std = -b * K_B_EV, float(np.sqrt(cov[0, 0])) * K_B_EV
    jac = np.array([1.0 / target_temperature, 1.0])
    ln_d, s_d = a + b / target_temperature, float(np.sqrt(jac @ cov @ jac))
    out.update(activation_energy=float(ea), activation_energy_std=ea_std,
               prefactor=float(np.exp(a)), chi2_reduced=chi2)
    if len(used) == 2:
        flags.append("two_temperatures: Ea from two points; its error comes only from the D "
                     "intervals, the Arrhenius form itself is not tested")
    if ea <= 0:  # a line that falls with 1/T extrapolates to nonsense (tens of S/cm): none stored
        flags.append(f"fit_rejected: Ea = {ea:.2f} eV <= 0 (D does not rise with temperature); "
                     "no extrapolation; the verdict uses the per-temperature bounds")
        return
    d300 = float(np.exp(ln_d))
    d_ci = (float(np.exp(ln_d - Z95 * s_d)), float(np.exp(ln_d + Z95 * s_d)))
    out.update(d300=d300, d300_ci95=d_ci)
    density = out["li_density_cm3"]
    if not density:
        return
    sig = nernst_einstein(d300, density, target_temperature)
    sig_ci = tuple(nernst_einstein(x, density, target_temperature) for x in d_ci)
    out.update(sigma300=sig, sigma300_ci95=sig_ci, sigma300_kind="interval",
               sigma300_lower=sig_ci[0], sigma300_upper=sig_ci[1])


def _bounds(out: dict, used: list[DiffusionDoc], docs: list[DiffusionDoc], density: float | None,
            flags: list[str], target_temperature: float, ea_min: float, ea_max: float) -> None:
    """sigma(300 K) range from per-temperature D ranges / upper bounds (superionic.md.analysis.bounds)."""
    points = [(d.temperature, d.diffusivity_ci95[0], d.diffusivity_ci95[1]) for d in used]
    points += [(d.temperature, None, d.diffusivity_upper95) for d in docs
               if d.d_status == "upper_bound" and d.diffusivity_upper95]
    if not points or not density:
        return
    lower, upper, ea_low, how = sigma_range_from_bounds(
        points, lambda x: nernst_einstein(x, density, target_temperature),
        ea_min=ea_min, ea_max=ea_max, t_to=target_temperature)
    if lower > upper:
        flags.append(f"inconsistent_bounds: lower end {lower:.2g} above the upper bound "
                     f"{upper:.2g} S/cm; the upper bound is kept")
        lower = 0.0
    out.update(sigma300_kind="range" if lower > 0 else "upper_bound", sigma300_lower=lower,
               sigma300_upper=upper, ea_limits=(ea_low, ea_max))
    out["method"] += "; " + how


def _range_text(out: dict, threshold: float, target_temperature: float) -> str:
    lower, upper, kind = out["sigma300_lower"], out["sigma300_upper"], out["sigma300_kind"]
    t = f"sigma({target_temperature:g} K)"
    if kind == "interval":
        temps = ", ".join(f"{x:g}" for x in out["temperatures_used"])
        return (f"{t} = {out['sigma300']:.3g} S/cm, 95 % [{lower:.2g}, {upper:.2g}] vs {threshold:g} "
                f"S/cm; Ea = {out['activation_energy']:.2f} +/- {out['activation_energy_std']:.2f} eV "
                f"from {temps} K")
    ea_low, ea_high = out["ea_limits"]
    if kind == "upper_bound":
        return (f"{t} <= {upper:.2g} S/cm (95 % bound; Li hops not resolved, Ea >= {ea_low:.2f} eV "
                f"assumed) vs {threshold:g} S/cm")
    n_used = len(out["temperatures_used"])
    basis = ("one resolved temperature" if n_used < 2
             else f"{n_used} resolved temperatures, Arrhenius fit rejected (Ea <= 0)")
    return (f"{t} in [{lower:.2g}, {upper:.2g}] S/cm ({basis}; each carried to {target_temperature:g} K "
            f"with Ea between {ea_low:.2f} and {ea_high:g} eV) vs {threshold:g} S/cm")
