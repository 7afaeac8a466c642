"""Recipes: one YAML file holds every parameter of a discovery run (see ``flows/``).

``flows/seed.yaml`` is the paper's protocol; ``flows/quick.yaml`` the laptop default. A
recipe validates with messages that name the field and the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from superionic.schemas.structure import EvidenceSettings
from superionic.settings import ScreeningThresholds

ENSEMBLE = ("gb", "lgbm")


class RecipeError(ValueError):
    """A recipe file that cannot be read or does not validate."""


class ClassifierRecipe(BaseModel):
    """The classifier study and the GB + LightGBM surrogate."""

    model_config = ConfigDict(extra="forbid")

    algorithms: list[str] = Field(
        default_factory=lambda: list(ENSEMBLE),
        description="Algorithms of the study (gnb lr dt sgd knn rf gb lgbm xgb); the "
        "surrogate always uses gb + lgbm, which must be among them.",
    )
    n_splits: int = Field(100, ge=1, description="Random stratified 80/20 splits (seeds 0..N-1).")
    n_iter: int = Field(6, ge=0, description="Hyper-parameter search draws per split.")
    protocols: list[Literal["random", "grouped", "family"]] = Field(
        default_factory=lambda: ["random"], description="Validation protocols of the study."
    )
    training_sources: list[str] = Field(
        default_factory=lambda: ["kang2023"], description="Training sets (kang2023, obelix, xu2020, poor_conductors) or CSV paths."
    )
    inner_cv: Literal["stratified", "grouped"] = Field(
        "stratified",
        description="How the hyper-parameter search scores each draw: 'stratified' K-fold (the seed's) "
        "or 'grouped' K-fold over composition clusters (chooses parameters for unseen chemistry).",
    )
    calibration_repeats: int = Field(
        3, ge=1, description="Repeats of the grouped 5-fold out-of-fold predictions the calibrator is fitted on."
    )
    calibration_method: Literal["isotonic", "bagged-isotonic", "interpolated-isotonic", "sigmoid"] = Field(
        "isotonic", description="Map from prob_mean to the calibrated probability: isotonic (the seed's), the mean of "
        "one isotonic map per repeat, isotonic interpolated between block centres, or sigmoid (Platt); README, "
        "'Calibration'.",
    )
    descriptors: Literal["magpie", "chemistry", "magpie+chemistry"] = Field(
        "magpie",
        description="Descriptor set: 'magpie' (the 145 Magpie descriptors, the seed's), 'chemistry' (23 "
        "compact Li/anion/framework-cation descriptors) or 'magpie+chemistry' (both); README, 'Classifier, "
        "four protocols'.",
    )
    mobile_ion: Literal["Li"] | None = Field(
        None,
        description="Keep only training compositions containing this element ('Li'); None keeps "
        "every row (the seed's 328, Na compounds included).",
    )

    @field_validator("algorithms")
    @classmethod
    def _ensemble_present(cls, value: list[str]) -> list[str]:
        missing = [a for a in ENSEMBLE if a not in value]
        if missing:
            raise ValueError(f"the surrogate needs {', '.join(missing)} among the algorithms")
        return value


class CandidateRecipe(BaseModel):
    """Which predicted candidates go on to MD."""

    model_config = ConfigDict(extra="forbid")

    top_n: int = Field(2, ge=0, description="How many candidates get MD (0: none).")
    rule: Literal["seed_verdict", "probability"] = Field(
        "seed_verdict",
        description="'seed_verdict': superionic in every split of GB and LightGBM, ranked by "
        "probability; 'probability': ranked by mean probability above min_probability.",
    )
    min_probability: float = Field(0.5, ge=0, le=1, description="Threshold for rule 'probability'.")
    require_structure: bool = Field(
        True, description="Skip candidates without a structure (most of the offline snapshot)."
    )
    material_ids: list[str] = Field(
        default_factory=list, description="Always include these candidates (if screened)."
    )


class FineTuneRecipe(BaseModel):
    """After the VASP AIMD: fine-tune a potential on its frames, then longer force-field MD with it
    at more and lower temperatures (:mod:`superionic.finetune.jobs`)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="Add the fine-tune and the force-field MD after the AIMD (engine vasp).")
    base: str = Field("chgnet-0.3.0", description="Base potential (a CHGNet of the registry).")
    max_frames: int = Field(600, ge=4, description="At most this many AIMD frames, evenly spaced over every run.")
    test_fraction: float = Field(0.15, gt=0, lt=1, description="Frames held out (never trained or selected on).")
    max_epochs: int = Field(20, ge=1, description="At most this many epochs (early stopping on a validation split).")
    max_steps: int | None = Field(None, ge=1, description="Stop after this many optimiser steps.")
    learning_rate: float = Field(1e-4, gt=0)
    batch_size: int = Field(4, ge=1)
    preset: Literal["seed", "quick"] = Field("seed", description="Protocol of the force-field MD.")
    temperatures: list[float] = Field([400, 500, 600, 700, 800, 900, 1000, 1200],
                                      description="Force-field MD temperatures (K): more and lower than the AIMD's.")
    equilibration_steps: int | None = Field(None, ge=0, description="Override the preset's equilibration steps.")
    production_steps: int | None = Field(50000, ge=1, description="Force-field production steps (longer than AIMD).")


class MDRecipe(BaseModel):
    """MD validation of the chosen candidates."""

    model_config = ConfigDict(extra="forbid")

    engine: Literal["forcefield", "vasp"] = Field("forcefield", description="MD engine.")
    preset: Literal["seed", "quick"] = Field("quick", description="MD protocol preset.")
    temperatures: list[float] | None = Field(None, description="Override the preset's temperatures (K).")
    equilibration_steps: int | None = Field(None, ge=0, description="Override equilibration steps.")
    production_steps: int | None = Field(None, ge=1, description="Override production steps.")
    force_field: str = Field(
        "auto", description="Force field of the forcefield engine: a name of "
        "superionic.md.engines.potentials.POTENTIALS (weights in the wheels), 'finetuned:<potential_id>' (a fine-tuned potential in the store), or 'auto': the "
        "preset's default (quick: CHGNet 0.3.0, seed: SevenNet-0; potentials.DEFAULT_BY_PRESET).")
    cross_check: str | None = Field(
        "auto", description="Second opinion on every force-field run: 'auto' (the other family's "
        "default: SevenNet-0 for CHGNet, CHGNet 0.3.0 for SevenNet), a potential name, or null (off).")
    extend: bool = Field(False, description="Extend production until the verdict is decided, D is "
                         "tight or the budget below is spent (forcefield engine).")
    extend_steps: int = Field(500, ge=1, description="Production steps added per round and temperature.")
    max_production_steps: int = Field(2000, ge=1, description="Budget: production steps per temperature.")
    finetune: FineTuneRecipe = Field(default_factory=FineTuneRecipe, description="VASP engine: AIMD -> fine-tune "
                                     "-> force-field MD with the tuned potential (opt-in: enabled).")
    max_wall_s: float | None = Field(None, gt=0, description="Safety stop only: MD seconds per material (all "
                                     "temperatures); the budget is max_production_steps. When it fires, the "
                                     "ConductivityDoc says so (flag wall_time_cap).")

    @field_validator("force_field", "cross_check")
    @classmethod
    def _known_potential(cls, value, info):
        from superionic.md.engines.potentials import POTENTIALS

        allowed = [*POTENTIALS, "auto"] + ([None] if info.field_name == "cross_check" else [])
        finetuned = info.field_name == "force_field" and str(value).startswith("finetuned:ft-")
        if value not in allowed and not finetuned:
            raise ValueError(f"unknown force field {value!r}; choose one of {allowed}")
        return value

    @field_validator("temperatures")
    @classmethod
    def _positive(cls, value):
        if value is not None and (not value or any(t <= 0 for t in value)):
            raise ValueError("temperatures must be a non-empty list of positive kelvin values")
        return value


class Recipe(BaseModel):
    """Every parameter of one discovery run."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Recipe name.")
    description: str = Field("", description="What the recipe is for.")
    source: Literal["snapshot", "mp", "files"] = Field("snapshot", description="Corpus source.")
    source_path: str | None = Field(None, description="Folder of structures for source 'files'.")
    screening: ScreeningThresholds = Field(default_factory=ScreeningThresholds, description="Screens.")
    structure: EvidenceSettings = Field(default_factory=EvidenceSettings, description="Structural evidence of "
                                        "the survivors (the structure builder, after screening).")
    classifier: ClassifierRecipe = Field(default_factory=ClassifierRecipe, description="ML study.")
    candidates: CandidateRecipe = Field(default_factory=CandidateRecipe, description="MD selection.")
    md: MDRecipe = Field(default_factory=MDRecipe, description="MD validation.")

    def build_options(self, show_progress: bool = False) -> dict[str, dict]:
        """Builder name -> constructor options this recipe sets (the structure builder's settings)."""
        return {"structure": {"settings": self.structure.model_dump(), "show_progress": show_progress}}


def recipes_dir() -> Path:
    """The ``flows/`` folder of a source checkout, else the copies bundled in the package."""
    from superionic.package_files import bundled_dir

    return bundled_dir("flows")


def load_recipe(name_or_path: str | Path) -> Recipe:
    """A recipe by name ('quick', 'seed') or path; RecipeError names the problem and file."""
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        candidate = recipes_dir() / f"{Path(str(name_or_path)).stem}.yaml"
        if not candidate.is_file():
            raise RecipeError(f"No recipe {str(name_or_path)!r}: give a YAML file or one of "
                              f"{sorted(p.stem for p in recipes_dir().glob('*.yaml'))}.")
        path = candidate
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RecipeError(f"Recipe {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RecipeError(f"Recipe {path} must be a mapping of recipe fields.")
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise RecipeError(f"Recipe {path} is invalid: {problems}") from exc
