"""A potential fine-tuned on DFT frames: the record that finds, checks and names its weights."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from superionic.schemas.base import SuperionicDoc


class FineTunedPotentialDoc(SuperionicDoc):
    """One fine-tuned potential (``potentials`` collection, key ``potential_id``).

    Its weights (a torch ``state_dict``, base64) are in the ``data`` store under ``blob_uuid``;
    they are deserialised only after their sha256 matches :attr:`sha256`, and only on the
    base model and package version they were tuned from.
    """

    potential_id: str = Field(description="Stable id: 'ft-' + the first 12 hex digits of the weights' sha256.")
    label: str = Field(description="The potential part of MD keys and documents, e.g. 'CHGNet:ft-1a2b3c4d5e6f'.")
    force_field_name: str = Field("CHGNet", description="atomate2 force-field family of the base model.")
    base_potential: str = Field(description="Registry name of the base potential (e.g. 'chgnet-0.3.0').")
    base_model: str = Field(description="The base weights inside the package (CHGNet model_name, e.g. '0.3.0').")
    package: str = Field("chgnet", description="Package whose model class the weights load into.")
    package_version: str = Field(description="Version of that package at tuning time (weights load only on it).")
    software: dict[str, str] = Field(default_factory=dict, description="Other package versions (torch, ...).")
    frames_id: str = Field(description="DFTFramesDoc id (content hash) of the training frames.")
    frames_code: str = Field(description="DFT code of the frames.")
    frames_functional: str = Field(description="Functional of the frames.")
    frames_sources: list[str] = Field(default_factory=list, description="Where the frames came from.")
    held_out_frames_id: str | None = Field(None, description="DFTFramesDoc id of the held-out test frames.")
    n_train: int = Field(description="Frames trained on.")
    n_val: int = Field(description="Frames for early stopping (split from the training frames).")
    n_test: int = Field(0, description="Held-out frames (never trained or selected on).")
    settings: dict[str, Any] = Field(description="TuningSettings of the fine-tune.")
    energy_offset_ev_per_atom: float = Field(description="Added to DFT energies to put them on the base model's reference.")
    epochs_run: int
    steps_run: int
    best_epoch: int
    val_force_mae: list[float] = Field(description="Validation force MAE (eV/A) before training and after every epoch.")
    seconds: float = Field(description="Wall time of the fine-tune (s).")
    held_out_before: dict[str, float] = Field(
        default_factory=dict, description="Base potential on the held-out frames: force MAE (eV/A) per element and "
        "'all', and 'ratio' = sum|F| / sum|F_DFT|.")
    held_out_after: dict[str, float] = Field(default_factory=dict, description="The same for the fine-tuned potential.")
    sha256: str = Field(description="sha256 of the serialised weights (the bytes before base64).")
    n_bytes: int = Field(description="Size of the serialised weights.")
    blob_uuid: str = Field(description="Key of the weights in the data store.")
    encoding: str = Field("torch-state-dict+base64", description="How the weights are stored.")

    @property
    def name(self) -> str:
        """The potential name recipes, makers and ``superionic md --force-field`` accept."""
        return f"finetuned:{self.potential_id}"
