"""Settings: environment variables with the ``SUPERIONIC_`` prefix, then ``~/.superionic.yaml``.

Precedence (highest first): keyword arguments, environment variables, the YAML file
(``SUPERIONIC_CONFIG_FILE`` or ``~/.superionic.yaml``), the defaults below.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AliasChoices, BaseModel, Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_CONFIG_FILE = Path("~/.superionic.yaml")


class ScreeningThresholds(BaseModel):
    """The seed's four screens; each can be switched off or moved."""

    exclude_transition_metals: bool = Field(
        True, description="Reject compounds with a d-block transition metal."
    )
    min_band_gap_ev: float = Field(1.0, description="Minimum PBE band gap (eV).")
    max_e_above_hull_ev: float = Field(
        0.0, description="Maximum energy above the convex hull (eV/atom); 0 = on the hull."
    )
    hull_tolerance_ev: float = Field(
        1e-6, description="Numerical tolerance added to the hull threshold (eV/atom)."
    )
    min_oxidation_voltage_v: float = Field(
        3.7,
        description="Minimum oxidation voltage (V) in voltage_convention; must be exceeded.",
    )
    voltage_convention: Literal["seed", "li_metal"] = Field(
        "seed",
        description="'seed': V_ox + |E(Li metal)| (1.909 V on MP GGA), the seed's "
        "reconstructed rule (3.7 V = 1.79 V vs Li/Li+); 'li_metal': physical V_ox vs Li/Li+.",
    )
    exclude_radioactive: bool = Field(
        True,
        description="After the seed's four screens, reject compounds with an element without a "
        "stable isotope (Tc, Pm, Po-Lr: U, Th, Pa, ...); not a seed screen, false brings them back.",
    )
    allow_published_voltage: bool = Field(
        True,
        description="Where no phase diagram can be built offline, use a published "
        "stability window (labelled as such) instead of 'unknown'.",
    )


class JobKindSettings(BaseModel):
    """Where and with what one kind of job runs on a cluster engine (None: the engine's default)."""

    worker: str | None = Field(
        None, description="jobflow-remote worker for this kind (default: --worker, else the project's first)."
    )
    exec_config: str | dict[str, Any] | None = Field(
        None,
        description="jobflow-remote exec_config: a name from the project's exec_config section, or an "
        "inline one (modules, export, pre_run, post_run), e.g. the VASP module loads and command.",
    )
    resources: dict[str, Any] | None = Field(
        None,
        description="jobflow-remote resources: scheduler template keys (SLURM: nodes, ntasks, "
        "cpus_per_task, mem, time, ...) laid over the worker's own resources; dropped on shell workers.",
    )
    category: str | None = Field(
        None, description="FireWorks _category: only an FWorker with this category (or none) runs the job."
    )


class SmallJobSettings(JobKindSettings):
    """Screening, classification, MD set-up / collection / analysis, builders, summary."""

    resources: dict[str, Any] | None = Field(
        default_factory=lambda: {"nodes": 1, "ntasks": 1, "ntasks_per_node": 1, "cpus_per_task": 1, "time": "01:00:00"},
        description="One core for an hour, laid over the worker's resources.",
    )
    category: str | None = Field("superionic-small", description="FireWorks _category.")


class MDJobSettings(JobKindSettings):
    """Force-field relaxation and MD segments."""

    resources: dict[str, Any] | None = Field(
        default_factory=lambda: {"nodes": 1, "ntasks": 1, "ntasks_per_node": 1, "cpus_per_task": 4, "time": "24:00:00"},
        description="Four threads for a day, laid over the worker's resources.",
    )
    category: str | None = Field("superionic-md", description="FireWorks _category.")


class VaspJobSettings(JobKindSettings):
    """atomate2 VASP MD runs."""

    exec_config: str | dict[str, Any] | None = Field(
        "vasp", description="The project's exec_config with the VASP modules and command (see config/)."
    )
    resources: dict[str, Any] | None = Field(
        default_factory=lambda: {"nodes": 1, "ntasks_per_node": 32, "time": "24:00:00"},
        description="A node of 32 MPI ranks for a day, laid over the worker's resources.",
    )
    category: str | None = Field("superionic-vasp", description="FireWorks _category.")


class ClusterSettings(BaseModel):
    """Per job kind settings applied when a flow is submitted to FireWorks or jobflow-remote.

    Kinds (see ``superionic.engines.cluster_settings``): ``small`` (screening, classification,
    MD set-up, collection, analysis, builders, summary), ``md`` (force-field relaxation and MD
    segments) and ``vasp`` (atomate2 VASP MD runs). Env: ``SUPERIONIC_CLUSTER__VASP__EXEC_CONFIG=vasp6``.
    """

    small: SmallJobSettings = Field(default_factory=SmallJobSettings, description="Short single-core jobs.")
    md: MDJobSettings = Field(default_factory=MDJobSettings, description="Force-field relaxation and MD segments.")
    vasp: VaspJobSettings = Field(default_factory=VaspJobSettings, description="VASP AIMD runs (atomate2 MDMaker jobs).")


class _YamlSource(PydanticBaseSettingsSource):
    """Reads ``~/.superionic.yaml`` (or ``SUPERIONIC_CONFIG_FILE``) if it exists."""

    def _data(self) -> dict[str, Any]:
        path = Path(os.environ.get("SUPERIONIC_CONFIG_FILE", DEFAULT_CONFIG_FILE)).expanduser()
        if not path.is_file():
            return {}
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"Settings file {path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"Settings file {path} must hold a mapping of settings.")
        return data

    def get_field_value(self, field, field_name):  # pragma: no cover - unused by __call__
        return self._data().get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._data()


class SuperionicSettings(BaseSettings):
    """Everything a run can be configured with. Env: ``SUPERIONIC_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="SUPERIONIC_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Field(
        Path("~/.superionic").expanduser(),
        description="Where the embedded store, trained models and reports live.",
    )
    store: str = Field(
        "",
        description="Store spec: monty://PATH, mongodb://HOST/DB, memory://, a name from "
        "stores/ or a YAML spec file. Empty: monty:// under data_dir.",
    )
    mp_api_key: str | None = Field(
        None,
        validation_alias=AliasChoices("SUPERIONIC_MP_API_KEY", "MP_API_KEY", "mp_api_key"),
        description="Materials Project API key (also read from MP_API_KEY).",
    )
    screening: ScreeningThresholds = Field(
        default_factory=ScreeningThresholds, description="Screening thresholds."
    )
    n_jobs: int = Field(1, description="Worker processes for CPU-heavy steps.")
    local_workers: int = Field(
        0, ge=0,
        description="Processes that run the MD jobs (force-field relaxations and segments) of a local "
        "run side by side: 0 = one per CPU core (at most 4); 1 = one job at a time in the run's own "
        "process (jobflow's run_locally).",
    )
    md_compile: bool = Field(
        True,
        description="Run SevenNet's MD through torch.compile (about half the CPU per step; a minute of compiling "
        "once per process; checked against the eager model and given up with a warning on any failure).",
    )
    cluster: ClusterSettings = Field(
        default_factory=ClusterSettings,
        description="Per job kind worker, exec_config, resources and FireWorks category for `superionic submit`.",
    )

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return (init_settings, env_settings, _YamlSource(settings_cls), file_secret_settings)

    @property
    def store_spec(self) -> str:
        """The store spec to use; the on-disk montydb store under ``data_dir`` by default."""
        return self.store or f"monty://{Path(self.data_dir).expanduser() / 'store'}"


@lru_cache
def get_settings() -> SuperionicSettings:
    """The process-wide settings (cached; call ``get_settings.cache_clear()`` in tests)."""
    return SuperionicSettings()
