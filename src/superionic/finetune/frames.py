"""DFT frames from where they live -> ``DFTFramesDoc``, one per DFT method, with provenance.

Readers:

* :func:`frames_from_extxyz`: extended XYZ (ASE), energy and forces per frame. The method comes
  from the file (an info key ``dft`` / ``functional`` / ``code``, e.g. LiPS's ``dft="PBE (VASP),
  ..."``) or from the caller; a file that states neither is refused, never assumed.
* :func:`frames_from_vasprun`: every ionic step of a ``vasprun.xml`` (energy without entropy,
  forces, stress); functional from VASP's own parameters (``Vasprun.run_type``).
* :func:`frames_from_task_document`: an atomate2 VASP task document (MD or static) as the
  seed recipe's production path stores it in the JobStore: its ionic steps (MD: its trajectory).

:func:`combine` joins documents of one method and refuses two codes or two functionals.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
from pymatgen.core import Structure

from superionic.schemas.frames import DFTFramesDoc

FUNCTIONALS = ("r2SCAN", "SCAN", "PBEsol", "PBE", "HSE", "LDA")
"""Names recognised in free text (longest first, so PBEsol is not read as PBE)."""


class FramesError(ValueError):
    """Frames that cannot be used as given (no energies or forces, unknown or mixed methods)."""


def _method_from_text(text: str) -> tuple[str | None, str | None]:
    functional = next((f for f in FUNCTIONALS if re.search(rf"\b{f}\b", text, re.IGNORECASE)), None)
    code = next((c for c in ("vasp", "cp2k", "qe", "gpaw") if re.search(rf"\b{c}\b", text, re.IGNORECASE)), None)
    canonical = {f.lower(): f for f in FUNCTIONALS}
    return (canonical[functional.lower()] if functional else None), code


def frames_doc(structures: list[Structure], energies, forces, *, code: str, functional: str,
               settings: dict | None = None, sources: list[str] = (), stresses=None) -> DFTFramesDoc:
    """A ``DFTFramesDoc`` keyed by a hash of its content and method."""
    if not structures:
        raise FramesError("no frames")
    if not (len(structures) == len(energies) == len(forces)):
        raise FramesError("every frame needs a structure, an energy and forces")
    energies = [float(e) for e in energies]
    forces = [np.asarray(f, dtype=float).round(8).tolist() for f in forces]
    for s, f in zip(structures, forces):
        if np.shape(f) != (len(s), 3):
            raise FramesError(f"forces of shape {np.shape(f)} for a {len(s)}-atom frame")
    digest = hashlib.sha256(json.dumps([code, functional, energies, forces,
                                        [s.cart_coords.round(6).tolist() for s in structures]]).encode())
    return DFTFramesDoc(
        frames_id=f"frames-{digest.hexdigest()[:16]}", code=code, functional=functional, settings=settings or {},
        sources=list(sources), n_frames=len(structures),
        elements=sorted({el.symbol for s in structures for el in s.composition.elements}),
        formulas=sorted({s.composition.reduced_formula for s in structures}),
        structures=[s.as_dict() for s in structures], energies=energies, forces=forces,
        stresses=None if stresses is None else [np.asarray(x, dtype=float).tolist() for x in stresses],
    )


def frames_from_extxyz(path: str | Path, *, code: str | None = None, functional: str | None = None) -> DFTFramesDoc:
    """Every frame of an extended XYZ file with energy and forces (see module docstring)."""
    from ase.io import read
    from pymatgen.io.ase import AseAtomsAdaptor

    path = Path(path)
    frames = read(path, ":")
    stated = " ".join(str(frames[0].info.get(k, "")) for k in ("dft", "functional", "code", "method")) if frames else ""
    read_functional, read_code = _method_from_text(stated)
    functional = functional or read_functional
    code = code or read_code
    if functional is None:
        raise FramesError(f"{path}: the file does not say which functional computed it (info key 'dft' or "
                          "'functional'); give it explicitly (--functional PBE)")
    energies, forces = [], []
    for i, atoms in enumerate(frames):
        try:
            energies.append(atoms.get_potential_energy())
            forces.append(atoms.get_forces())
        except Exception as exc:  # noqa: BLE001 - ASE raises several kinds
            raise FramesError(f"{path}: frame {i} has no energy or forces ({exc})") from None
    structures = [AseAtomsAdaptor.get_structure(a) for a in frames]
    return frames_doc(structures, energies, forces, code=code or "unknown", functional=functional,
                      sources=[str(path)])


VASP_SETTINGS = ("ENCUT", "EDIFF", "PREC", "ISMEAR", "SIGMA", "LASPH", "GGA", "METAGGA", "IVDW", "LHFCALC")


def _vasp_frames(ionic_steps: list[dict], settings: dict, functional: str, source: str) -> DFTFramesDoc:
    structures, energies, forces, stresses = [], [], [], []
    for step in ionic_steps:
        structure = step["structure"]
        structures.append(structure if isinstance(structure, Structure) else Structure.from_dict(structure))
        energies.append(step.get("e_wo_entrp", step.get("e_fr_energy")))
        forces.append(step["forces"])
        stresses.append(step.get("stress"))
    if any(e is None for e in energies) or any(f is None for f in forces):
        raise FramesError(f"{source}: an ionic step without energy or forces")
    stress = None if any(s is None for s in stresses) else [-0.1 * np.asarray(s) for s in stresses]  # kBar -> GPa, ASE sign
    return frames_doc(structures, energies, forces, code="vasp", functional=functional,
                      settings={k: settings[k] for k in VASP_SETTINGS if settings.get(k) is not None},
                      sources=[source], stresses=stress)


def _canonical(functional: str) -> str:
    return _method_from_text(functional)[0] or functional


def frames_from_vasprun(path: str | Path) -> DFTFramesDoc:
    """Every ionic step of a ``vasprun.xml`` (gzip or not)."""
    from pymatgen.io.vasp import Vasprun

    run = Vasprun(str(path), parse_dos=False, parse_eigen=False, parse_potcar_file=False)
    settings = {**run.parameters, **run.incar}
    return _vasp_frames(run.ionic_steps, settings, _canonical(str(run.run_type)), str(path))


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def frames_from_task_document(task: Any, source: str = "") -> DFTFramesDoc:
    """The ionic steps of an atomate2 VASP task document (object or its dict form, loaded from
    the JobStore with its data-store objects): a static or relaxation's ``ionic_steps``, or an
    MD's trajectory (``vasp_objects["trajectory"]``, every ionic step with energies, forces and
    stress in its frame properties)."""
    calcs = _get(task, "calcs_reversed") or []
    if not calcs:
        raise FramesError(f"{source or 'task'}: no calculation in the task document")
    steps, functional, settings = [], None, {}
    for calc in reversed(calcs):  # calcs_reversed: latest first
        output = _get(calc, "output")
        steps.extend(_get(output, "ionic_steps") or [])
        run_type = _get(calc, "run_type")
        functional = functional or (str(getattr(run_type, "value", run_type)) if run_type else None)
        settings = {**(_get(_get(calc, "input"), "incar") or {}), **settings}
    steps = [s if isinstance(s, dict) else s.model_dump() for s in steps]
    if not steps:
        from superionic.md.workflow.segment_store import vasp_task_trajectory

        trajectory = vasp_task_trajectory(task)
        if trajectory is not None:
            props = trajectory.frame_properties or [{} for _ in range(len(trajectory))]
            steps = [{**p, "structure": trajectory.get_structure(k)} for k, p in enumerate(props)]
    if not steps:
        raise FramesError(f"{source or 'task'}: the task document holds no ionic steps")
    return _vasp_frames(steps, settings, _canonical(functional or "unknown"), source or "task document")


def combine(docs: list[DFTFramesDoc]) -> DFTFramesDoc:
    """One document from several of the same code and functional; two methods are refused."""
    if not docs:
        raise FramesError("no frames")
    methods = {(d.code, d.functional) for d in docs}
    if len(methods) > 1:
        raise FramesError("frames of different DFT methods cannot be mixed: "
                          + ", ".join(f"{c}/{f}" for c, f in sorted(methods)))
    settings = [d.settings for d in docs]
    if any(s != settings[0] for s in settings[1:]):
        raise FramesError("frames computed with different DFT settings cannot be mixed: "
                          + "; ".join(json.dumps(s, sort_keys=True, default=str) for s in settings))
    return frames_doc([Structure.from_dict(s) for d in docs for s in d.structures],
                      [e for d in docs for e in d.energies], [f for d in docs for f in d.forces],
                      code=docs[0].code, functional=docs[0].functional, settings=settings[0],
                      sources=[src for d in docs for src in d.sources],
                      stresses=None if any(d.stresses is None for d in docs) else [s for d in docs for s in d.stresses])
