"""DFT frames (structures with energies and forces) to fine-tune a potential on."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from superionic.schemas.base import SuperionicDoc


class DFTFramesDoc(SuperionicDoc):
    """Frames of one DFT method: never two codes or two functionals in one document."""

    frames_id: str = Field(description="Stable key: hash of the frames' content, code and functional.")
    code: str = Field(description="DFT code that computed the frames ('vasp', 'cp2k', or 'unknown').")
    functional: str = Field(description="Exchange-correlation functional ('PBE', 'PBEsol', 'r2SCAN', ...).")
    settings: dict[str, Any] = Field(
        default_factory=dict, description="DFT settings that change energies (e.g. ENCUT, EDIFF, PREC, kpoints).")
    sources: list[str] = Field(
        default_factory=list, description="Where the frames came from: file paths or 'jobstore:<uuid>' references.")
    n_frames: int = Field(description="Number of frames.")
    elements: list[str] = Field(description="Elements present, sorted.")
    formulas: list[str] = Field(description="Reduced formulas of the distinct cells.")
    structures: list[dict] = Field(description="pymatgen Structure dicts, one per frame.")
    energies: list[float] = Field(description="Total energy per frame (eV; VASP: energy without entropy).")
    forces: list[list[list[float]]] = Field(description="Forces per frame and atom (eV/A).")
    stresses: list[list[list[float]]] | None = Field(
        None, description="Stress per frame (3x3, GPa, positive = tensile, ASE/pymatgen sign), where the code gave it.")
