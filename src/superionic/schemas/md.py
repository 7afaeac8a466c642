"""Documents of the MD validation step: per-temperature diffusion and per-protocol conductivity.

Trajectories are never stored inline: a ``DiffusionDoc`` keeps a small down-sampled MSD curve
for plots and, where the trajectory lives in a data store, a reference to it.

Keys say what produced a document, so that results of two protocols live side by side:

* ``DiffusionDoc.doc_id`` = :func:`diffusion_doc_id` =
  ``'<material_id>:<engine>:<potential>:<preset>:<T>K'``, e.g.
  ``'mp-1:forcefield:CHGNet:quick:800K'`` or ``'mp-1:vasp:PBE:seed:800K'``;
* ``ConductivityDoc.conductivity_id`` = :func:`conductivity_id` =
  ``'<material_id>:<engine>:<potential>:<preset>'`` (all temperatures of one protocol).

The parts stay separate, queryable fields (``material_id``, ``engine``, ``potential``,
``preset``, ``temperature``); the protocol part is :func:`md_protocol_key`. A missing part is
``'unknown'``; a ``':'`` inside a part (``'CHGNet:r2scan'``) becomes ``'-'`` in the key only.

Documents written before these keys (``doc_id`` = ``'<material_id>:<T>K'``, conductivity keyed
by ``material_id`` alone) still validate: on reading, their key is rebuilt from their fields
(``potential`` then ``'unknown'``). What the builders do with such documents in a store is in
:mod:`superionic.builders.diffusion` and :mod:`superionic.builders.conductivity`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from superionic.schemas.base import SuperionicDoc

Verdict = Literal[
    "superionic (MD)", "not superionic (MD bound)", "undecided (MD): interval spans 1e-4",
    "undecided (MD): bound above 1e-4", "insufficient data",
]
SigmaKind = Literal["interval", "upper_bound", "range"]
DStatus = Literal["resolved", "upper_bound", "none"]


UNKNOWN = "unknown"
"""Key part of a field that is not known (e.g. the potential of a trajectory read from a file)."""


def _key_part(value: object) -> str:
    text = "" if value is None else str(value).strip()
    return (text or UNKNOWN).replace(":", "-")


def md_protocol_key(engine: str | None, potential: str | None, preset: str | None) -> str:
    """What produced an MD result: ``'<engine>:<potential>:<preset>'``, e.g.
    ``'forcefield:CHGNet:quick'``, ``'vasp:PBE:seed'`` (see the module docstring)."""
    return ":".join(_key_part(v) for v in (engine, potential, preset))


def diffusion_doc_id(material_id: str, temperature: float, *, engine: str | None,
                     potential: str | None, preset: str | None) -> str:
    """Stable key of a ``DiffusionDoc``: ``'<material_id>:<engine>:<potential>:<preset>:<T>K'``."""
    return f"{material_id}:{md_protocol_key(engine, potential, preset)}:{float(temperature):g}K"


def conductivity_id(material_id: str, *, engine: str | None, potential: str | None,
                    preset: str | None) -> str:
    """Stable key of a ``ConductivityDoc``: ``'<material_id>:<engine>:<potential>:<preset>'``."""
    return f"{material_id}:{md_protocol_key(engine, potential, preset)}"


def legacy_diffusion_doc_id(material_id: str, temperature: float) -> str:
    """The ``doc_id`` DiffusionDocs had before protocol keys: ``'<material_id>:<T>K'``."""
    return f"{material_id}:{float(temperature):g}K"


def _with_key(data: object, field: str, make_key) -> object:
    """``data`` (a dict about to be validated) with its key ``field`` filled in when it is empty
    or one of the legacy keys ``make_key`` names; ``make_key(data)`` -> (key, legacy keys). A
    wrong key is left for the after-validator to report."""
    if not isinstance(data, dict):
        return data
    try:
        key = make_key(data)
    except (KeyError, TypeError, ValueError):
        return data  # missing material_id / temperature: the field errors say so
    if not data.get(field) or data[field] in key[1]:
        return {**data, field: key[0]}
    return data


def _diffusion_keys(data: dict) -> tuple[str, tuple[str, ...]]:
    mid, t = str(data["material_id"]), float(data["temperature"])
    new = diffusion_doc_id(mid, t, engine=data.get("engine"), potential=data.get("potential"),
                           preset=data.get("preset"))
    return new, (legacy_diffusion_doc_id(mid, t),)


def _conductivity_keys(data: dict) -> tuple[str, tuple[str, ...]]:
    mid = str(data["material_id"])
    new = conductivity_id(mid, engine=data.get("engine"), potential=data.get("potential"),
                          preset=data.get("preset"))
    return new, ()


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


class CrossCheck(BaseModel):
    """A second, independent potential's opinion of frames sampled from one MD run."""

    potential: str = Field(description="Label of the second potential (e.g. 'SevenNet:7net-0').")
    primary: str = Field(description="Label of the potential that ran the MD.")
    n_frames: int = Field(description="Frames re-evaluated (evenly spaced over production, first included).")
    frame_indices: list[int] = Field(default_factory=list, description="Indices of those frames in the trajectory.")
    force_mae: dict[str, float] = Field(
        default_factory=dict,
        description="Mean absolute difference of force components between the two potentials per "
        "element and 'all' (eV/A), over the sampled frames.")
    force_ratio: float | None = Field(
        None, description="sum |F_primary| / sum |F_second| over atoms and frames: below 1 when the "
        "primary potential is softer.")
    reference: str = Field(
        "first frame", description="What the energy rises are measured from: 'relaxed start' (the cell the "
        "MD began from) or 'first frame' (the first sampled frame; older checks).")
    energy_rise_primary: float | None = Field(
        None, description="Primary potential: mean energy of the later half of the sampled frames minus "
        "the reference's (eV/atom).")
    energy_rise_second: float | None = Field(
        None, description="The same under the second potential (eV/atom).")
    excess_energy: float | None = Field(
        None, description="energy_rise_second - energy_rise_primary / force_ratio (eV/atom): how much higher "
        "the second potential puts the configurations the MD visited than the primary does, beyond what "
        "the stiffness ratio explains; large when the primary "
        "reached configurations (a melted framework) that the second finds unfavourable.")
    tolerances: dict[str, float] = Field(
        default_factory=dict, description="Thresholds of the verdict: 'force_mae' (eV/A), 'excess_energy' (eV/atom).")
    agree: bool = Field(description="Whether the second potential backs the run (both within tolerance).")
    summary: str = Field("", description="'cross-checked with X: agree / disagree (numbers)'.")
    seconds: float | None = Field(None, description="Wall time of the cross-check (s).")


class DiffusionDoc(SuperionicDoc):
    """Li tracer diffusion from one MD trajectory of one material at one temperature."""

    doc_id: str = Field(
        "",
        description="Stable key: '<material_id>:<engine>:<potential>:<preset>:<T>K' "
        "(superionic.schemas.md.diffusion_doc_id), e.g. 'mp-1:forcefield:CHGNet:quick:800K'; "
        "filled from the fields when not given.",
    )
    material_id: str = Field(description="Material identifier (e.g. an MP id).")
    formula: str = Field(description="Reduced formula of the simulated cell.")
    temperature: float = Field(description="Nominal (thermostat) temperature of the run (K).")
    engine: str = Field(
        "unknown", description="MD engine: 'forcefield' or 'vasp' (or a label given with files)."
    )
    potential: str | None = Field(
        None,
        description="What gave the forces: the force field ('CHGNet', 'CHGNet:r2scan') or the DFT "
        "functional ('PBE', 'r2SCAN'); None when unknown (e.g. a trajectory read from files).",
    )
    preset: str | None = Field(
        None,
        description="MD protocol preset, e.g. 'seed' (the paper's) or 'quick' (laptop); a preset "
        "with changed values is named after its changes (e.g. 'seed+prod=20000').",
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
    cross_check: CrossCheck | None = Field(
        None, description="A second potential's opinion of frames of this run (force-field MD only).")
    source: str = Field("", description="Where the trajectory came from (files or task).")
    trajectory_ref: str | None = Field(
        None, description="Reference to the trajectory in the data store, if stored there."
    )
    settings: dict = Field(
        default_factory=dict, description="Analysis settings used (thresholds, window rule)."
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_key(cls, data):
        return _with_key(data, "doc_id", _diffusion_keys)

    @property
    def protocol(self) -> str:
        """``'<engine>:<potential>:<preset>'`` (:func:`md_protocol_key`)."""
        return md_protocol_key(self.engine, self.potential, self.preset)

    @model_validator(mode="after")
    def _key(self):
        expected = diffusion_doc_id(self.material_id, self.temperature, engine=self.engine,
                                    potential=self.potential, preset=self.preset)
        if self.doc_id != expected:
            raise ValueError(f"doc_id must be {expected!r}, got {self.doc_id!r}")
        return self


class ExcludedTemperature(BaseModel):
    """A temperature left out of the Arrhenius fit, and why."""

    temperature: float = Field(description="Temperature (K).")
    doc_id: str = Field(description="The DiffusionDoc that was excluded.")
    reason: str = Field(description="Why it was excluded.")


class ConductivityDoc(SuperionicDoc):
    """Arrhenius extrapolation of the Li diffusivity to 300 K and the Nernst-Einstein sigma,
    from the DiffusionDocs of one material and one protocol (engine, potential, preset)."""

    conductivity_id: str = Field(
        "",
        description="Stable key: '<material_id>:<engine>:<potential>:<preset>' "
        "(superionic.schemas.md.conductivity_id), e.g. 'mp-1:vasp:PBE:seed'; filled from the "
        "fields when not given.",
    )
    material_id: str = Field(description="Material identifier.")
    formula: str = Field("", description="Reduced formula.")
    engine: str = Field("unknown", description="MD engine of the source runs ('forcefield', 'vasp').")
    potential: str | None = Field(
        None, description="Force field or DFT functional of the source runs (None when unknown)."
    )
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
        "'undecided (MD): bound above 1e-4' when only an upper bound above the threshold is known, "
        "'insufficient data' when no temperature bounds D (all melted or failed).",
    )
    verdict_reason: str = Field("", description="Why the verdict is what it is.")
    cross_check: str | None = Field(
        None, description="A second potential's opinion of the runs: 'cross-checked with X: agree / "
        "disagree at T (numbers)', and temperatures where the framework melted but X would likely "
        "hold it. A run X disowns never gives 'superionic (MD)'.")
    flags: list[str] = Field(default_factory=list, description="'code: reason' warnings.")
    source_doc_ids: list[str] = Field(
        default_factory=list, description="doc_ids of the DiffusionDocs considered."
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_key(cls, data):
        return _with_key(data, "conductivity_id", _conductivity_keys)

    @property
    def protocol(self) -> str:
        """``'<engine>:<potential>:<preset>'`` (:func:`md_protocol_key`)."""
        return md_protocol_key(self.engine, self.potential, self.preset)

    @model_validator(mode="after")
    def _key(self):
        expected = conductivity_id(self.material_id, engine=self.engine, potential=self.potential,
                                   preset=self.preset)
        if self.conductivity_id != expected:
            raise ValueError(f"conductivity_id must be {expected!r}, got {self.conductivity_id!r}")
        return self
