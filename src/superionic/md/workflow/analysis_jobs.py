"""jobflow jobs around the diffusion analysis (thin wrappers; the science is in
:mod:`superionic.md.analysis.diffusion` and :mod:`superionic.md.analysis.arrhenius`).

``analyze_diffusion`` never fails the flow on a bad trajectory: a file that cannot be read or a
run that blew up comes back as a ``DiffusionDoc`` with ``usable=False`` and the reason, so the
other temperatures and materials go on and ``fit_conductivity`` reports what is left.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from jobflow import job

from superionic.md.analysis.arrhenius import SUPERIONIC_THRESHOLD, conductivity_from_diffusion
from superionic.md.analysis.diffusion import DiffusionSettings, diffusion_from_trajectory
from superionic.schemas.md import ConductivityDoc, DiffusionDoc


def _settings(settings: DiffusionSettings | dict | None) -> DiffusionSettings | None:
    if settings is None or isinstance(settings, DiffusionSettings):
        return settings
    known = {f.name for f in fields(DiffusionSettings)}
    unknown = set(settings) - known
    if unknown:
        raise ValueError(f"Unknown diffusion settings {sorted(unknown)}; known: {sorted(known)}")
    return DiffusionSettings(**settings)


def _clean(doc: Any) -> Any:
    """A document that went through a store/JSON: drop monty's '@module'/'@class' keys."""
    if isinstance(doc, dict):
        return {k: v for k, v in doc.items() if not k.startswith("@")}
    return doc


@job
def analyze_diffusion(
    trajectory: Any,
    material_id: str,
    temperature: float | None = None,
    engine: str = "unknown",
    preset: str | None = None,
    trajectory_ref: str | None = None,
    settings: DiffusionSettings | dict | None = None,
    potential: str | None = None,
    **read_kwargs: Any,
) -> DiffusionDoc:
    """One trajectory of one material at one temperature -> ``DiffusionDoc``.

    ``trajectory``: anything :func:`superionic.md.analysis.readers.load_trajectory` reads (a path,
    a pymatgen ``Trajectory``, an atomate2 force-field task document, a list of consecutive
    runs, ...). ``read_kwargs``: ``md_time_step_fs``, ``step_skip`` or ``frame_interval_fs``
    for formats that do not record the time between frames (atomate2 ``traj_interval`` is
    ``step_skip``). ``potential``: the force field or DFT functional (part of the key).
    """
    try:
        return diffusion_from_trajectory(
            trajectory, material_id=material_id, temperature=temperature, engine=engine,
            potential=potential, preset=preset, trajectory_ref=trajectory_ref, settings=_settings(settings),
            **read_kwargs,
        )
    except Exception as exc:  # recorded, not raised: the other temperatures go on
        if temperature is None:
            raise
        reason = f"analysis_failed: {type(exc).__name__}: {exc}"
        return DiffusionDoc(
            material_id=material_id, formula="", temperature=float(temperature), engine=engine,
            potential=potential, preset=preset,
            trajectory_ref=trajectory_ref, flags=[reason], usable=False, reason=reason,
        )


@job
def fit_conductivity(
    diffusion_docs: list[DiffusionDoc | dict],
    structure: Any = None,
    threshold: float = SUPERIONIC_THRESHOLD,
) -> ConductivityDoc:
    """Per-temperature ``DiffusionDoc``s of one material -> ``ConductivityDoc``."""
    docs = [DiffusionDoc(**_clean(d)) if isinstance(d, dict) else d for d in diffusion_docs]
    if isinstance(structure, dict):
        from pymatgen.core import Structure

        structure = Structure.from_dict(structure)
    return conductivity_from_diffusion(docs, structure, threshold=threshold)
