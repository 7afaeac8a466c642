"""Li tracer diffusivity from one trajectory: MSD -> D with an honest interval, hops, flags.

Method (defaults in :class:`DiffusionSettings`):

* MSD of Li over every lag and all time origins (FFT, :mod:`superionic.md.analysis.msd`), after
  removing the framework centre-of-mass drift; joined runs with a break contribute only
  displacements inside each continuous segment.
* Fit window: from ``max(2 ps, 10 % of the longest segment)`` (past the ballistic and caging
  part), but never later than 25 % of it, to 50 % of the longest segment (beyond, few
  independent time origins remain and kinisi's covariance model stops being positive
  definite). A start before 2 ps (runs under 8 ps) carries a ``short_fit_window`` warning.
* D and its interval: generalised least squares of MSD = 6 D t + c with kinisi's covariance
  model for MSD points (McCluskey et al., J. Chem. Theory Comput. 2024,
  doi:10.1021/acs.jctc.4c01249): Var(MSD_i) = var(s_i) / N_i with s the single squared
  displacements and N_i = n_Li * (frames - 1) / lag_i independent windows, and
  Cov(MSD_i, MSD_j) = var(s_i) / N_j for i <= j. The posterior of the slope is Gaussian with a
  flat prior; D >= 0 truncates it. Reported D is the posterior median, with the 2.5-97.5 %
  interval. Up to 50 evenly spaced lags of the window enter the fit (neighbouring MSD points
  are nearly collinear: 100 or all lags change D by < 0.5 % on the kang2023 and Morgan runs).
* Hops: each Li position is averaged over blocks of about 0.5 ps (removes vibration; shorter,
  down to 1/20 of the run, for runs under 10 ps); a hop is counted each time the block average
  is more than 1.5 A from the site where the atom last settled, which then moves there.
* Not resolved (too few hops, slope within 2 sigma of 0, too short a run, few Li): an upper
  bound on D instead, the larger of a hop-count (Poisson) and an MSD-slope bound
  (:mod:`superionic.md.analysis.bounds`); ``d_status`` says which the document carries.
* Framework melting: more than 10 % of all non-Li atoms, or more than half the atoms of one
  non-Li element, leave their site (block average > 1.5 A from the start; one Er of 12
  hopping is a defect, flagged as framework_hops only). The framework's blocks keep their
  ~0.5 ps in short runs (shortened only so that a segment holds two): averages over a few
  tens of fs keep the anions' thermal vibration, and single 200 fs frames of the seed's own
  AIMD read as 26 % of Li3ErBr6's framework off site at 800 K (0 % with 600 fs blocks, the
  averaging the 10 % threshold was set with; benchmarks/melting_block_check.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import truncnorm

from superionic.md.analysis.bounds import d_upper_bound
from superionic.md.analysis.msd import drift_corrected_segments, group_msd, squared_displacement_moments
from superionic.md.analysis.readers import load_trajectory
from superionic.md.analysis.trajectory import LiTrajectory
from superionic.schemas.md import DiffusionDoc, FitWindow, MSDSummary

EXCLUDING = {
    "md_failed", "no_li", "too_few_li", "too_short", "too_few_hops", "framework_melting",
    "d_not_resolved", "temperature_off_target",
}
BOUNDABLE = {"too_few_hops", "d_not_resolved", "too_few_li", "too_short"}
"""Exclusions after which the run still bounds D from above (the others say nothing)."""
A2_PER_FS_TO_CM2_PER_S = 0.1  # 1 A^2/fs = 1e-16 cm^2 / 1e-15 s
ANALYSIS_VERSION = "2"
"""Bumped when the analysis changes in a way its settings do not show (2: D upper bounds)."""


@dataclass(frozen=True)
class DiffusionSettings:
    """Thresholds and window rule of the analysis (recorded in every DiffusionDoc)."""

    fit_start_ps: float = 2.0
    fit_start_fraction: float = 0.1
    fit_end_fraction: float = 0.5
    short_run_start_fraction: float = 0.25
    min_fit_lags: int = 5
    max_fit_lags: int = 50
    hop_distance: float = 1.5  # Angstrom
    block_fs: float = 500.0
    min_hops: int = 10
    min_li: int = 4
    loglog_tolerance: float = 0.3
    melt_distance: float = 1.5  # Angstrom
    melt_fraction: float = 0.1
    melt_block_fs: float = 500.0  # framework positions averaged over this long (see framework_block)
    drift_warning: float = 1.0  # Angstrom
    temperature_tolerance: float = 0.1
    d_resolved_sigmas: float = 2.0
    covariance: str = "random_walk"  # or "kinisi" (see msd_covariance)
    bound_hop_length: float = 3.0  # Angstrom, jump length of the hop-count bound on D
    bound_confidence: float = 0.95  # one-sided


def analysis_version(settings: DiffusionSettings | None = None) -> str:
    """'<ANALYSIS_VERSION>:<hash of the settings>': a document analysed with other settings
    (or an older analysis) carries another value, and the builders redo it."""
    blob = json.dumps(asdict(settings or DiffusionSettings()), sort_keys=True)
    return f"{ANALYSIS_VERSION}:{hashlib.sha1(blob.encode()).hexdigest()[:10]}"


@dataclass
class SlopeFit:
    slope: float  # A^2/fs
    slope_std: float
    intercept: float
    median: float  # D, cm^2/s
    ci95: tuple[float, float]


def gls_slope(lag_fs: np.ndarray, msd: np.ndarray, cov: np.ndarray) -> SlopeFit:
    """Generalised least squares of msd = m t + c; Gaussian posterior, m >= 0 for D."""
    w, v = np.linalg.eigh(0.5 * (cov + cov.T))
    keep = w > w.max() * 1e-12  # pseudo-inverse over the well-defined directions
    inv = (v[:, keep] / w[keep]) @ v[:, keep].T
    x = np.stack([lag_fs, np.ones_like(lag_fs)], axis=1)
    fisher = x.T @ inv @ x
    pcov = np.linalg.inv(fisher)
    slope, intercept = pcov @ x.T @ inv @ msd
    std = float(np.sqrt(pcov[0, 0]))
    lo, med, hi = truncnorm.ppf([0.025, 0.5, 0.975], -slope / std, np.inf, loc=slope, scale=std)
    to_d = A2_PER_FS_TO_CM2_PER_S / 6.0
    return SlopeFit(float(slope), std, float(intercept), float(med * to_d),
                    (float(lo * to_d), float(hi * to_d)))


def msd_covariance(
    var_s: np.ndarray, lags: np.ndarray, n_li: int, segment_steps: list[int],
    model: str = "random_walk",
) -> tuple[np.ndarray, str]:
    """Covariance of the MSD points of the fit, and a description of the model used.

    Variances as in kinisi (McCluskey et al. 2024): Var(MSD_i) = var(s_i) / N_i, with s the
    single squared displacements and N_i = n_li * n_steps / lag_i independent windows (summed
    over the continuous segments at least lag_i steps long; ``segment_steps`` = frames - 1).
    Correlations:

    * ``"random_walk"`` (default): Corr_ij = sqrt(lag_i / lag_j) for i <= j, the correlation of
      a random walk's MSD estimates. Always positive definite.
    * ``"kinisi"``: kinisi's Cov_ij = var(s_i) / N_j (i <= j). Equal to the above when
      var(s) ~ lag^2 (pure diffusion), but not positive definite when var(s) grows slower
      (caged runs, or sampling noise in var(s): 32 of the 36 kang2023 runs); then this falls
      back to ``"random_walk"`` and says so.
    """
    lags = lags.astype(float)
    var_s = np.maximum(var_s, 0.0)
    steps = np.asarray(segment_steps, dtype=float)
    n_indep = n_li * np.array([steps[steps >= k].sum() / k for k in lags])
    small, large = np.minimum.outer(lags, lags), np.maximum.outer(lags, lags)
    used = "random-walk correlation with kinisi's variances"
    cov = None
    if model == "kinisi":
        idx = np.arange(len(lags))
        i_small = np.where(lags[:, None] <= lags[None, :], idx[:, None], idx[None, :])
        j_large = np.where(lags[:, None] <= lags[None, :], idx[None, :], idx[:, None])
        cov = var_s[i_small] / n_indep[j_large]
        eig = np.linalg.eigvalsh(cov)
        if eig.min() < -1e-8 * eig.max():
            cov = None
            used += " (kinisi's matrix was not positive definite)"
        else:
            used = "kinisi's covariance model"
    elif model != "random_walk":
        raise ValueError(f"Unknown covariance model {model!r}: 'random_walk' or 'kinisi'.")
    if cov is None:
        sd = np.sqrt(var_s / n_indep)
        cov = np.outer(sd, sd) * np.sqrt(small / large)
    # a jitter of 1e-9 of the largest variance guards the inversion (changes D < 1e-6 relative)
    cov[np.diag_indices_from(cov)] += 1e-9 * cov.diagonal().max()
    return cov, used


def count_hops(segments: list[np.ndarray], atoms: np.ndarray, block: int, distance: float,
               return_longest: bool = False) -> int | tuple[int, float]:
    """Site-to-site moves of block-averaged positions (see module docstring); with
    ``return_longest`` also the longest hop (Angstrom, 0 without hops)."""
    total, longest = 0, 0.0
    for seg in segments:
        nb = seg.shape[0] // block
        if nb < 2 or atoms.size == 0:
            continue
        xb = seg[: nb * block, atoms].reshape(nb, block, atoms.size, 3).mean(axis=1)
        anchor = xb[0].copy()
        for b in range(1, nb):
            step = np.linalg.norm(xb[b] - anchor, axis=1)
            moved = step > distance
            total += int(moved.sum())
            if moved.any():
                longest = max(longest, float(step[moved].max()))
            anchor[moved] = xb[b][moved]
    return (total, longest) if return_longest else total


def framework_block(n_longest: int, frame_fs: float, melt_block_fs: float) -> int:
    """Frames per block of the framework-displacement test: about ``melt_block_fs``, shortened
    only so that the longest segment holds two blocks (never to 1/20 of a short run, as the Li
    hop blocks are: see the module docstring)."""
    return max(1, min(int(np.ceil(melt_block_fs / frame_fs)), n_longest // 2))


def displaced_fraction(
    segments: list[np.ndarray], atoms: np.ndarray, block: int, distance: float
) -> float:
    """Fraction of ``atoms`` whose block-averaged position ever leaves ``distance`` of the start."""
    left = np.zeros(atoms.size, dtype=bool)
    for seg in segments:
        nb = seg.shape[0] // block
        if nb < 1:
            continue
        xb = seg[: nb * block, atoms].reshape(nb, block, atoms.size, 3).mean(axis=1)
        left |= (np.linalg.norm(xb - xb[0], axis=2) > distance).any(axis=0)
    return float(left.mean()) if atoms.size else 0.0


def loglog_slope(lag_fs: np.ndarray, msd: np.ndarray, offset: float) -> float | None:
    """Slope of log(MSD - offset) vs log(t); 1 for diffusion. The offset (vibrations and
    caging, the fitted intercept when positive) is removed first, else it alone pulls the slope
    of a perfectly linear MSD below 1. None when most points do not rise above the offset."""
    y = msd - max(offset, 0.0)
    ok = y > 0
    if ok.sum() < max(3, len(y) // 2):
        return None
    return float(np.polyfit(np.log(lag_fs[ok]), np.log(y[ok]), 1)[0])


def fit_window(n_longest: int, frame_fs: float, s: DiffusionSettings) -> tuple[int, int, bool]:
    """(first lag, last lag, short) in frames: from max(2 ps, 10 %) but at most 25 % of the
    longest segment, to 50 % of it; ``short`` when the start had to come before 2 ps."""
    steps = n_longest - 1
    end = int(np.floor(s.fit_end_fraction * steps))
    wanted = max(s.fit_start_ps * 1000.0 / frame_fs, s.fit_start_fraction * steps)
    start = max(1, int(np.ceil(min(wanted, s.short_run_start_fraction * steps))))
    return start, end, start < s.fit_start_ps * 1000.0 / frame_fs


def _summary(lag_fs: np.ndarray, msd_li: np.ndarray, msd_fw: np.ndarray | None) -> MSDSummary:
    n = len(msd_li)
    if n < 2:
        return MSDSummary()
    idx = np.unique(np.geomspace(1, n - 1, num=min(40, n - 1)).round().astype(int))
    idx = idx[np.isfinite(msd_li[idx])]
    return MSDSummary(
        lag_ps=[round(float(lag_fs[i]) / 1000.0, 6) for i in idx],
        msd_li=[round(float(msd_li[i]), 6) for i in idx],
        msd_framework=[] if msd_fw is None else [round(float(msd_fw[i]), 6) for i in idx],
    )


def diffusion_from_trajectory(
    traj,
    *,
    material_id: str,
    temperature: float | None = None,
    engine: str = "unknown",
    preset: str | None = None,
    trajectory_ref: str | None = None,
    settings: DiffusionSettings | None = None,
    potential: str | None = None,
    **read_kwargs,
) -> DiffusionDoc:
    """Analyse one trajectory (any form :func:`load_trajectory` reads) into a DiffusionDoc.

    Never raises on bad physics: a run without Li, without hops or with a melting framework
    comes back as a document with ``usable=False`` and the reason.
    """
    s = settings or DiffusionSettings()
    tr: LiTrajectory = load_trajectory(traj, **read_kwargs)
    recorded = tr.temperature
    temperature = temperature if temperature is not None else recorded
    if temperature is None:
        raise ValueError("The temperature of this trajectory is unknown: pass temperature=.")
    temperature = float(temperature)
    li = tr.indices_of("Li")
    framework = np.array([i for i, x in enumerate(tr.species) if x != "Li"], dtype=int)
    frame_fs = tr.frame_interval_fs
    doc = dict(
        material_id=material_id, formula=tr.formula, temperature=temperature, engine=engine,
        potential=potential, preset=preset,
        n_frames=tr.n_frames, frame_interval_fs=frame_fs, duration_ps=tr.duration_ps,
        n_segments=len(tr.segments), n_li=int(li.size),
        li_density_cm3=tr.number_density("Li") if li.size else 0.0,
        source=tr.source, trajectory_ref=trajectory_ref, settings=asdict(s),
        analysis_version=analysis_version(s),
        hop_rule=f"block averages over ~{s.block_fs:g} fs (at most 1/20 of the run); a hop is a "
        f"move > {s.hop_distance} A from the last settled site",
    )
    flags: list[str] = [
        f"join_break: frames {j.boundary_frame - 1}->{j.boundary_frame} not continuous "
        f"({j.reason}); analysed as separate segments"
        for j in tr.joins if j.is_break
    ]
    if recorded and abs(recorded - temperature) > 0.01 * temperature:
        flags.append(f"temperature_mismatch: analysed as {temperature:g} K but the trajectory "
                     f"records {recorded:g} K")
    if tr.measured_temperatures is not None and len(tr.measured_temperatures):
        t_mean = float(np.mean(tr.measured_temperatures))
        doc["measured_temperature"] = t_mean
        if abs(t_mean - temperature) > s.temperature_tolerance * temperature:
            flags.append(f"temperature_off_target: mean {t_mean:.0f} K vs nominal "
                         f"{temperature:g} K")
    if li.size == 0:
        flags.append("no_li: the trajectory has no Li atoms")
        return _finish(doc, flags)
    bad = ~np.isfinite(tr.positions).all(axis=(1, 2))
    if bad.any():
        flags.append(f"md_failed: non-finite positions from frame {int(np.argmax(bad))} "
                     "(the MD blew up)")
        return _finish(doc, flags)
    if li.size < s.min_li:
        flags.append(f"too_few_li: {li.size} Li atoms < {s.min_li}; no statistics")

    segments, max_drift = drift_corrected_segments(tr, framework)
    doc["max_drift"] = max_drift
    if max_drift > s.drift_warning:
        flags.append(f"framework_drift: centre of mass moved {max_drift:.2f} A (removed)")
    msd_li, _ = group_msd(segments, li)
    lag_fs = np.arange(len(msd_li)) * frame_fs
    per_element = {el: group_msd(segments, tr.indices_of(el)) for el in set(tr.species) - {"Li"}}
    msd_fw = None
    if per_element:  # all non-Li atoms, pooled from the per-element sums
        total = sum(np.nan_to_num(m) * n for m, n in per_element.values())
        terms = sum(n for _, n in per_element.values())
        msd_fw = np.where(terms > 0, total / np.maximum(terms, 1), np.nan)
    doc["msd_summary"] = _summary(lag_fs, msd_li, msd_fw)

    n_longest = max(b - a for a, b in tr.segments)
    block = max(1, min(int(np.ceil(s.block_fs / frame_fs)), n_longest // 20))
    n_hops, longest = count_hops(segments, li, block, s.hop_distance, return_longest=True)
    doc["n_hops"] = n_hops
    bound_args = (n_hops, int(li.size), sum(g.shape[0] - 1 for g in segments) * frame_fs, longest,
                  s.bound_hop_length, s.bound_confidence)
    doc["diffusivity_upper95"], doc["upper_bound_method"] = d_upper_bound(*bound_args)
    k0, k1, short = fit_window(n_longest, frame_fs, s)
    if k1 - k0 + 1 < s.min_fit_lags:
        flags.append(f"too_short: {tr.n_frames} frames ({tr.duration_ps:.2f} ps) leave no fit "
                     "window")
        return _finish(doc, flags)
    if short:
        flags.append(f"short_fit_window: run too short for a {s.fit_start_ps:g} ps start; fit "
                     f"from {k0 * frame_fs / 1000:.2f} ps, where caging may still bias D")
    lags = np.unique(np.linspace(k0, k1, min(s.max_fit_lags, k1 - k0 + 1)).round().astype(int))
    _, var_s, _ = squared_displacement_moments(segments, li, lags)
    cov, cov_model = msd_covariance(var_s, lags, li.size, [g.shape[0] - 1 for g in segments],
                                    s.covariance)
    fit = gls_slope(lags * frame_fs, msd_li[lags], cov)
    doc.update(
        diffusivity=fit.median, diffusivity_ci95=fit.ci95,
        diffusivity_std=fit.slope_std * A2_PER_FS_TO_CM2_PER_S / 6.0, msd_intercept=fit.intercept,
        fit_window=FitWindow(
            start_ps=k0 * frame_fs / 1000.0, end_ps=k1 * frame_fs / 1000.0, n_lags=len(lags),
            rule=f"from max({s.fit_start_ps:g} ps, {s.fit_start_fraction:.0%}) but at most "
            f"{s.short_run_start_fraction:.0%} of the longest continuous segment, to "
            f"{s.fit_end_fraction:.0%} of it",
        ),
        method="GLS of MSD vs t; MSD covariance: " + cov_model + "; Gaussian posterior of "
        "the slope truncated at D >= 0; median and 2.5/97.5 % quantiles",
    )
    slope = loglog_slope(lags * frame_fs, msd_li[lags], fit.intercept)
    doc["loglog_slope"] = slope
    if slope is None:
        flags.append("non_linear_msd: the MSD does not rise above its fitted offset in the fit "
                     "window (no diffusive regime)")
    elif abs(slope - 1.0) > s.loglog_tolerance:
        flags.append(f"non_linear_msd: log-log slope of MSD minus its offset {slope:.2f} in the "
                     f"fit window (diffusive = 1 +/- {s.loglog_tolerance})")
    doc["diffusivity_upper95"], doc["upper_bound_method"] = d_upper_bound(
        *bound_args, slope=fit.slope, slope_std=fit.slope_std)
    if fit.slope < s.d_resolved_sigmas * fit.slope_std:
        flags.append(f"d_not_resolved: MSD slope {fit.slope:.3g} +/- {fit.slope_std:.2g} A^2/fs "
                     f"is within {s.d_resolved_sigmas:g} sigma of 0")

    if n_hops < s.min_hops:
        flags.append(f"too_few_hops: {n_hops} Li hops < {s.min_hops}")

    moved: dict[str, tuple[int, int]] = {}
    doc["framework_msd"], doc["framework_displaced_fraction"] = {}, {}
    fw_block = framework_block(n_longest, frame_fs, s.melt_block_fs)
    for el in sorted(set(tr.species) - {"Li"}):
        idx = tr.indices_of(el)
        doc["framework_msd"][el] = float(per_element[el][0][k1])
        frac = displaced_fraction(segments, idx, fw_block, s.melt_distance)
        doc["framework_displaced_fraction"][el] = frac
        moved[el] = (int(round(frac * idx.size)), int(idx.size))
    flags.extend(_framework_flags(moved, doc["framework_msd"], k1 * frame_fs / 1000.0, s))
    return _finish(doc, flags)


def _framework_flags(moved: dict[str, tuple[int, int]], msd_end: dict[str, float],
                     t_end_ps: float, s: DiffusionSettings) -> list[str]:
    """Melting when > melt_fraction of all non-Li atoms, or > half of a non-Li element with
    at least two atoms, left their site; a few displaced atoms are only framework hops."""
    n_moved = sum(m for m, _ in moved.values())
    n_total = sum(n for _, n in moved.values())
    detail = ", ".join(f"{m}/{n} {el} (MSD {msd_end[el]:.2f} A^2)"
                       for el, (m, n) in moved.items() if m)
    sublattice = [el for el, (m, n) in moved.items() if n >= 2 and m > 0.5 * n]
    if n_total and (n_moved > s.melt_fraction * n_total or sublattice):
        return [f"framework_melting: {n_moved} of {n_total} non-Li atoms left their site "
                f"(> {s.melt_distance} A): {detail}; MSD at {t_end_ps:.1f} ps"]
    if n_moved:
        return [f"framework_hops: {detail} left their site; framework intact"]
    return []


def _finish(doc: dict, flags: list[str]) -> DiffusionDoc:
    excluding = [f for f in flags if f.split(":", 1)[0] in EXCLUDING]
    doc["flags"] = flags
    doc["usable"] = not excluding
    doc["reason"] = "; ".join(excluding) if excluding else None
    codes = {f.split(":", 1)[0] for f in excluding}
    if not excluding:
        doc["d_status"] = "resolved"
    elif codes <= BOUNDABLE and doc.get("diffusivity_upper95") is not None:
        doc["d_status"] = "upper_bound"
    else:
        doc["d_status"] = "none"
        doc["diffusivity_upper95"] = None
    return DiffusionDoc(**doc)
