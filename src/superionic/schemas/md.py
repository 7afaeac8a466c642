"""Documents of the MD validation step: per-temperature diffusion and per-material conductivity.

Trajectories are never stored inline: a ``DiffusionDoc`` keeps a small down-sampled MSD curve
for plots and, where the trajectory lives in a data store, a reference to it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from superionic.schemas.base import SuperionicDoc

Verdict = Literal[
    "superionic (MD)", "not superionic (MD bound)", "undecided (MD): interval spans 1e-4",
    "insufficient data",
]
SigmaKind = Literal["interval", "upper_bound", "range"]
DStatus = Literal["resolved", "upper_bound", "none"]


def diffusion_doc_id(material_id: str, temperature: float) -> str:
    """Stable key of a ``DiffusionDoc``: ``"<material_id>:<T>K"``."""
    return f"{material_id}:{temperature:g}K"


class MSDSummary(BaseModel):
    """A few points of the MSD curves, log-spaced in lag time, for plotting."""

    lag_ps: list[float] = Field(default_factory=list, description="Lag times (ps).")
    msd_li: list[float] = Field(
        default_factory=list,
        description="Li mean squared displacement at each lag, all time origins (Angstrom^2).",
    )
    msd_framework: list[float] = Field(
        default_factory=list,
        description="Mean squared displacement of all non-Li atoms at each lag (Angstrom^2).",
    )


class FitWindow(BaseModel):
    """Lag-time window of the MSD fit and the rule that chose it."""

    start_ps: float = Field(description="First lag time fitted (ps).")
    end_ps: float = Field(description="Last lag time fitted (ps).")
    n_lags: int = Field(description="Number of lag times used in the generalised least squares.")
    rule: str = Field(description="How the window was chosen, in words.")


class DiffusionDoc(SuperionicDoc):
    """Li tracer diffusion from one MD trajectory of one material at one temperature."""

    doc_id: str = Field(description="Stable key: '<material_id>:<temperature>K'.")
    material_id: str = Field(description="Material identifier (e.g. an MP id).")
    formula: str = Field(description="Reduced formula of the simulated cell.")
    temperature: float = Field(description="Nominal (thermostat) temperature of the run (K).")
    engine: str = Field(
        "unknown", description="MD engine label, e.g. 'vasp' or 'forcefield:CHGNet'."
    )
    preset: str | None = Field(
        None, description="MD protocol preset, e.g. 'seed' (the paper's) or 'quick' (laptop)."
    )

    diffusivity: float | None = Field(
        None, description="Li tracer diffusivity D (cm^2/s): posterior median of the MSD fit."
    )
    diffusivity_ci95: tuple[float, float] | None = Field(
        None, description="95 % interval of D (cm^2/s), correlated-MSD covariance, D >= 0."
    )
    diffusivity_std: float | None = Field(
        None, description="Standard deviation of the MSD slope / 6 (cm^2/s), before D >= 0."
    )
    d_status: DStatus = Field(
        "none",
        description="'resolved' (D with its interval enters the Arrhenius fit), 'upper_bound' "
        "(hops not resolved: only diffusivity_upper95 holds) or 'none' (melted, failed, off "
        "target: nothing can be said).",
    )
    diffusivity_upper95: float | None = Field(
        None,
        description="One-sided 95 % upper bound on D (cm^2/s): the larger of the hop-count "
        "(Poisson) and MSD-slope bounds; None when d_status is 'none'.",
    )
    upper_bound_method: str = Field("", description="Which bound gave diffusivity_upper95, how.")
    start_relaxed: bool | None = Field(
        None,
        description="Whether the MD started from a force-field-relaxed cell (False: the "
        "relaxation failed and MD started unrelaxed; None: no relaxation step, e.g. VASP).",
    )
    analysis_version: str = Field(
        "", description="'<analysis version>:<settings hash>'; builders redo a stale analysis."
    )
    msd_intercept: float | None = Field(
        None, description="Intercept of the fitted MSD line (Angstrom^2): vibrational offset."
    )
    fit_window: FitWindow | None = Field(None, description="Lag window of the fit.")
    method: str = Field(
        "", description="How D and its interval were computed (estimator, covariance model)."
    )
    loglog_slope: float | None = Field(
        None,
        description="Slope of log(MSD - fitted offset) vs log t in the fit window (1 when "
        "diffusive); None when the MSD does not rise above its offset.",
    )

    n_frames: int = Field(0, description="Stored frames analysed.")
    frame_interval_fs: float | None = Field(None, description="Time between stored frames (fs).")
    duration_ps: float = Field(0.0, description="Simulated time covered by the frames (ps).")
    n_segments: int = Field(
        1, description="Continuous segments (joined runs split at detected breaks)."
    )
    n_li: int = Field(0, description="Li atoms in the simulation cell.")
    li_density_cm3: float | None = Field(
        None, description="Li number density of the simulated cell (atoms / cm^3)."
    )
    n_hops: int = Field(0, description="Li site-to-site hops counted (rule in hop_rule).")
    hop_rule: str = Field("", description="How a hop is counted.")
    framework_msd: dict[str, float] = Field(
        default_factory=dict,
        description="MSD per non-Li element at the end of the fit window (Angstrom^2).",
    )
    framework_displaced_fraction: dict[str, float] = Field(
        default_factory=dict,
        description="Per non-Li element, fraction of atoms that left their starting site "
        "(block-averaged position more than the melting distance from the start).",
    )
    max_drift: float | None = Field(
        None, description="Largest framework centre-of-mass drift removed (Angstrom)."
    )
    measured_temperature: float | None = Field(
        None, description="Mean instantaneous temperature recorded in the trajectory (K)."
    )

    flags: list[str] = Field(
        default_factory=list,
        description="'code: reason' strings. Codes that exclude the run from the Arrhenius "
        "fit: md_failed, analysis_failed, no_li, too_few_li, too_short, too_few_hops, "
        "framework_melting, d_not_resolved, temperature_off_target. Warnings: non_linear_msd, "
        "framework_hops, framework_drift, short_fit_window, join_break, temperature_mismatch.",
    )
    usable: bool = Field(False, description="Whether D may enter the Arrhenius fit.")
    reason: str | None = Field(None, description="Why the run is not usable (None if usable).")

    msd_summary: MSDSummary = Field(
        default_factory=MSDSummary, description="Down-sampled MSD curves for plots."
    )
    source: str = Field("", description="Where the trajectory came from (files or task).")
    trajectory_ref: str | None = Field(
        None, description="Reference to the trajectory in the data store, if stored there."
    )
    settings: dict = Field(
        default_factory=dict, description="Analysis settings used (thresholds, window rule)."
    )

    @model_validator(mode="after")
    def _key(self):
        expected = diffusion_doc_id(self.material_id, self.temperature)
        if self.doc_id != expected:
            raise ValueError(f"doc_id must be {expected!r}, got {self.doc_id!r}")
        return self


class ExcludedTemperature(BaseModel):
    """A temperature left out of the Arrhenius fit, and why."""

    temperature: float = Field(description="Temperature (K).")
    doc_id: str = Field(description="The DiffusionDoc that was excluded.")
    reason: str = Field(description="Why it was excluded.")


class ConductivityDoc(SuperionicDoc):
    """Arrhenius extrapolation of the Li diffusivity to 300 K and the Nernst-Einstein sigma."""

    material_id: str = Field(description="Material identifier; the key of this collection.")
    formula: str = Field("", description="Reduced formula.")
    engine: str = Field("unknown", description="MD engine label of the source runs.")
    preset: str | None = Field(None, description="MD protocol preset of the source runs.")

    temperatures_used: list[float] = Field(
        default_factory=list, description="Temperatures in the Arrhenius fit (K)."
    )
    excluded: list[ExcludedTemperature] = Field(
        default_factory=list, description="Temperatures left out, each with its reason."
    )
    activation_energy: float | None = Field(None, description="Activation energy Ea (eV).")
    activation_energy_std: float | None = Field(
        None, description="Standard error of Ea (eV), from the weighted fit covariance."
    )
    prefactor: float | None = Field(None, description="Arrhenius prefactor D0 (cm^2/s).")
    d300: float | None = Field(None, description="Extrapolated Li diffusivity at 300 K (cm^2/s).")
    d300_ci95: tuple[float, float] | None = Field(
        None, description="95 % interval of D(300 K) (cm^2/s), fit covariance propagated."
    )
    sigma300: float | None = Field(
        None, description="Li conductivity at 300 K (S/cm), Nernst-Einstein, Haven ratio 1."
    )
    sigma300_ci95: tuple[float, float] | None = Field(
        None, description="95 % interval of sigma(300 K) (S/cm) from the Arrhenius fit."
    )
    sigma300_kind: SigmaKind | None = Field(
        None,
        description="What sigma300_lower/upper are: 'interval' (Arrhenius fit of >= 2 resolved "
        "temperatures), 'upper_bound' (no resolved temperature: D upper bounds carried to "
        "300 K with the smallest allowed Ea), 'range' (one resolved temperature: carried with "
        "the smallest and largest allowed Ea).",
    )
    sigma300_lower: float | None = Field(
        None, description="Lower end of the sigma(300 K) range the verdict uses (S/cm); 0 for a "
        "pure upper bound."
    )
    sigma300_upper: float | None = Field(
        None, description="Upper end (or upper bound) of sigma(300 K) the verdict uses (S/cm)."
    )
    ea_limits: tuple[float, float] | None = Field(
        None, description="Activation energies (eV) assumed for carrying bounds to 300 K: "
        "(lower limit used, upper limit); None for a fitted interval."
    )
    analysis_version: str = Field(
        "", description="Version and settings hash of the fit and verdict rules."
    )
    li_density_cm3: float | None = Field(
        None, description="Li number density used in Nernst-Einstein (atoms / cm^3)."
    )
    haven_ratio: float = Field(1.0, description="Haven ratio assumed (tracer = charge D).")
    chi2_reduced: float | None = Field(
        None, description="Reduced chi^2 of the weighted fit (None with two temperatures)."
    )
    method: str = Field("", description="How the fit and the intervals were computed.")
    threshold: float = Field(1e-4, description="Conductivity threshold of the verdict (S/cm).")
    verdict: Verdict = Field(
        "insufficient data",
        description="'superionic (MD)' when the sigma(300 K) range lies above the threshold, "
        "'not superionic (MD bound)' below, 'undecided (MD): interval spans 1e-4' across it, "
        "'insufficient data' when no temperature bounds D (all melted or failed).",
    )
    verdict_reason: str = Field("", description="Why the verdict is what it is.")
    flags: list[str] = Field(default_factory=list, description="'code: reason' warnings.")
    source_doc_ids: list[str] = Field(
        default_factory=list, description="doc_ids of the DiffusionDocs considered."
    )
