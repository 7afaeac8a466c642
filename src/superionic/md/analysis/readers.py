"""Readers from MD output formats into :class:`superionic.md.analysis.trajectory.LiTrajectory`.

Every reader takes the same keywords; explicit values win over what a file records:
``temperature`` (K), ``md_time_step_fs`` and ``step_skip`` (frames stored every N MD steps),
or ``frame_interval_fs`` directly (time between stored frames).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np

from superionic.md.analysis.trajectory import LiTrajectory, from_fractional, join_trajectories


def _interval(kw: dict, recorded: float | None, what: str) -> float:
    """Time between stored frames: explicit > time step x skip > recorded in the file."""
    if kw.get("frame_interval_fs"):
        return float(kw["frame_interval_fs"])
    if kw.get("md_time_step_fs"):
        return float(kw["md_time_step_fs"]) * int(kw.get("step_skip") or 1)
    if recorded:
        return float(recorded)
    raise ValueError(
        f"{what} does not record the time between frames: pass md_time_step_fs "
        "(CLI --time-step) and step_skip if frames were stored every N steps (--step-skip)."
    )


def _open_text(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode()


# --------------------------------------------------------------------------------------------
# VASP
# --------------------------------------------------------------------------------------------
def read_xdatcar(path: str | Path, **kw: Any) -> LiTrajectory:
    """VASP XDATCAR (VASP 5 header, fixed cell or a header per frame; plain or gzip)."""
    path = Path(path)
    lines = _open_text(path).splitlines()
    species: list[str] | None = None
    frames, lattices = [], []
    i, n = 0, len(lines)
    while i < n:
        if not lines[i].strip():
            i += 1
            continue
        scale = float(lines[i + 1].split()[0])
        lat = np.array([[float(x) for x in lines[i + k].split()[:3]] for k in (2, 3, 4)])
        lat = lat * scale if scale > 0 else lat * (abs(scale) / abs(np.linalg.det(lat))) ** (1 / 3)
        names = lines[i + 5].split()
        if all(t.isdigit() for t in names):
            raise ValueError(f"{path}: XDATCAR without element names (VASP 4) is not supported.")
        counts = [int(t) for t in lines[i + 6].split()]
        frame_species = [el for el, c in zip(names, counts) for _ in range(c)]
        if species is None:
            species = frame_species
        elif frame_species != species:
            raise ValueError(f"{path}: the atoms change between frames.")
        n_atoms = len(species)
        i += 7
        while i < n and lines[i].lower().lstrip().startswith(("direct", "cartesian")):
            if lines[i].lower().lstrip().startswith("cartesian"):
                raise ValueError(f"{path}: Cartesian XDATCAR frames are not supported.")
            block = lines[i + 1 : i + 1 + n_atoms]
            if len(block) < n_atoms:  # truncated last frame of a killed run
                i = n
                break
            if len(block[0].split()) == 3:
                frames.append(" ".join(block))
            else:  # pymatgen writes the element after the coordinates
                frames.append(" ".join(" ".join(ln.split()[:3]) for ln in block))
            lattices.append(lat)
            i += 1 + n_atoms
    if not frames or species is None:
        raise ValueError(f"{path}: no frames found in XDATCAR.")
    frac = np.array(" ".join(frames).split(), dtype=np.float64).reshape(len(frames), -1, 3)
    return from_fractional(
        species,
        frac[:, : len(species)],
        np.array(lattices),
        frame_interval_fs=_interval(kw, None, f"XDATCAR {path.name}"),
        temperature=kw.get("temperature"),
        source=str(path),
        provenance={"format": "XDATCAR", "md_time_step_fs": kw.get("md_time_step_fs"),
                    "step_skip": kw.get("step_skip")},
    )


def read_vasprun(path: str | Path, **kw: Any) -> LiTrajectory:
    """vasprun.xml of a VASP MD run: temperature from TEBEG, time step from POTIM."""
    from pymatgen.io.vasp.outputs import Vasprun

    path = Path(path)
    vr = Vasprun(str(path), parse_dos=False, parse_eigen=False, parse_projected_eigen=False,
                 parse_potcar_file=False, exception_on_bad_xml=False)
    incar = vr.incar or {}
    structures = vr.structures
    frac = np.array([s.frac_coords for s in structures])
    lat = np.array([s.lattice.matrix for s in structures])
    temperature = kw.get("temperature") or incar.get("TEBEG")
    return from_fractional(
        [s.specie.symbol for s in structures[0]],
        frac,
        lat,
        frame_interval_fs=_interval(kw, incar.get("POTIM"), f"vasprun {path.name}"),
        temperature=float(temperature) if temperature else None,
        source=str(path),
        provenance={"format": "vasprun", "TEBEG": incar.get("TEBEG"),
                    "TEEND": incar.get("TEEND"), "POTIM": incar.get("POTIM"),
                    "MDALGO": incar.get("MDALGO")},
    )


# --------------------------------------------------------------------------------------------
# pymatgen / emmet / ASE objects (atomate2 force-field MD)
# --------------------------------------------------------------------------------------------
def from_pymatgen_trajectory(traj, **kw: Any) -> LiTrajectory:
    """pymatgen ``Trajectory`` of Structures (atomate2 ``traj_file_fmt="pmg"`` output).

    atomate2 does not set ``time_step``; give ``md_time_step_fs`` x ``step_skip`` (its
    ``traj_interval``) or ``frame_interval_fs``. Per-frame ``temperature`` frame properties
    (recorded by atomate2 MD) are kept as measured temperatures.
    """
    if getattr(traj, "lattice", None) is None:
        raise ValueError("The trajectory has no lattice: molecules are not analysed.")
    frac = np.asarray(traj.coords, dtype=np.float64)
    if getattr(traj, "coords_are_displacement", False):  # without mutating the caller's object
        frac = np.asarray(traj.base_positions, dtype=np.float64) + np.cumsum(frac, axis=0)
    species = [getattr(sp, "symbol", str(sp)) for sp in traj.species]
    props = traj.frame_properties or []
    temps = [p.get("temperature") for p in props] if props else []
    measured = np.array(temps, dtype=float) if temps and None not in temps else None
    return from_fractional(
        species,
        frac,
        np.asarray(traj.lattice),
        frame_interval_fs=_interval(kw, getattr(traj, "time_step", None), "This trajectory"),
        temperature=kw.get("temperature"),
        measured_temperatures=measured,
        source=kw.get("source", "pymatgen Trajectory"),
        provenance={"format": "pymatgen Trajectory"},
    )


def from_atom_trajectory(traj, **kw: Any) -> LiTrajectory:
    """emmet ``AtomTrajectory`` (atomate2 with ``use_emmet_models``)."""
    from pymatgen.core import Element

    cart = np.asarray(traj.cart_coords, dtype=np.float64)
    lat = np.asarray(traj.lattice, dtype=np.float64).reshape(-1, 3, 3)
    if lat.shape[0] == 1:
        frac = cart @ np.linalg.inv(lat[0])
    else:
        frac = np.einsum("tai,tij->taj", cart, np.linalg.inv(lat))
    temps = getattr(traj, "temperature", None)
    return from_fractional(
        [Element.from_Z(int(z)).symbol for z in traj.elements],
        frac,
        lat,
        frame_interval_fs=_interval(kw, getattr(traj, "time_step", None), "This trajectory"),
        temperature=kw.get("temperature"),
        measured_temperatures=np.asarray(temps, dtype=float) if temps else None,
        source=kw.get("source", "emmet AtomTrajectory"),
        provenance={"format": "emmet AtomTrajectory"},
    )


def read_ase_traj(path: str | Path, **kw: Any) -> LiTrajectory:
    """ASE ``.traj`` file (atomate2's default ``traj_file_fmt="ase"``)."""
    from ase.io import read

    path = Path(path)
    images = read(str(path), index=":")
    frac = np.array([a.get_scaled_positions(wrap=False) for a in images])
    lat = np.array([a.cell[:] for a in images])
    measured = None
    if all(a.get_momenta() is not None and np.any(a.get_momenta()) for a in images):
        measured = np.array([a.get_temperature() for a in images])
    return from_fractional(
        images[0].get_chemical_symbols(),
        frac,
        lat,
        frame_interval_fs=_interval(kw, None, f"ASE trajectory {path.name}"),
        temperature=kw.get("temperature"),
        measured_temperatures=measured,
        source=str(path),
        provenance={"format": "ase"},
    )


# --------------------------------------------------------------------------------------------
# pymatgen DiffusionAnalyzer dumps
# --------------------------------------------------------------------------------------------
def from_diffusion_analyzer_dict(d: dict, **kw: Any) -> LiTrajectory:
    """``DiffusionAnalyzer.as_dict()``: structure + displacements (n_sites, n_frames, 3).

    The displacements are unwrapped and relative to the first frame; positions are the first
    structure's Cartesian coordinates plus them. Temperature and time come from the dict.
    """
    from pymatgen.core import Structure

    structure = Structure.from_dict(d["structure"])
    disp = np.asarray(d["displacements"], dtype=np.float64)
    positions = structure.cart_coords[None, :, :] + disp.transpose(1, 0, 2)
    lattices = np.asarray(d.get("lattices") or [structure.lattice.matrix], dtype=np.float64)
    recorded = float(d["time_step"]) * int(d.get("step_skip", 1))
    species = [site.specie.symbol for site in structure]
    if d.get("specie") and d["specie"] != "Li":
        raise ValueError(f"This DiffusionAnalyzer dump follows {d['specie']}, not Li.")
    temperature = kw.get("temperature") or d.get("temperature")
    return LiTrajectory(
        species=species,
        positions=positions,
        lattices=lattices.reshape(-1, 3, 3),
        frame_interval_fs=_interval(kw, recorded, "DiffusionAnalyzer dump"),
        temperature=float(temperature) if temperature else None,
        source=kw.get("source", "DiffusionAnalyzer dict"),
        provenance={"format": "DiffusionAnalyzer", "time_step": d["time_step"],
                    "step_skip": d.get("step_skip"), "smoothed": d.get("smoothed"),
                    "avg_nsteps": d.get("avg_nsteps")},
    )


def _decode_json(path: Path) -> Any:
    """JSON file, gzip ok; a JSON string that itself holds JSON is decoded twice."""
    data = json.loads(_open_text(path))
    if isinstance(data, str):
        data = json.loads(data)
    return data


def _from_dict(d: dict, **kw: Any) -> LiTrajectory:
    cls = d.get("@class")
    if cls == "DiffusionAnalyzer" or ("displacements" in d and "structure" in d):
        return from_diffusion_analyzer_dict(d, **kw)
    if cls == "Trajectory":
        from pymatgen.core.trajectory import Trajectory

        return from_pymatgen_trajectory(Trajectory.from_dict(d), **kw)
    if cls == "AtomTrajectory":
        from emmet.core.trajectory import AtomTrajectory

        return from_atom_trajectory(AtomTrajectory(**d), **kw)
    traj = _trajectory_in_task_doc(d)
    if traj is not None:
        return load_trajectory(traj, **kw)
    raise ValueError(
        "Unrecognised trajectory dict: expected a DiffusionAnalyzer dump, a pymatgen "
        "Trajectory, an emmet AtomTrajectory or an atomate2 task document holding one."
    )


def _trajectory_in_task_doc(doc) -> Any:
    """The trajectory object of an atomate2 ForceFieldTaskDocument (or its dict)."""
    objects = doc.get("objects") if isinstance(doc, dict) else getattr(doc, "objects", None)
    if not objects:
        return None
    for key, value in objects.items():
        if str(getattr(key, "value", key)).lower().endswith("trajectory") and value is not None:
            return value
    return None


# --------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------
def read_trajectory(path: str | Path, **kw: Any) -> LiTrajectory:
    """A trajectory file (or a VASP run folder) -> ``LiTrajectory``, format from its name."""
    path = Path(path).expanduser()
    if path.is_dir():
        for pattern in ("vasprun.xml*", "XDATCAR*", "*XDATCAR*"):
            hits = sorted(path.glob(pattern))
            if hits:
                return read_trajectory(hits[0], **kw)
        raise ValueError(f"{path}: no vasprun.xml or XDATCAR in this folder.")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such trajectory file.")
    name = path.name.lower()
    if "xdatcar" in name:
        return read_xdatcar(path, **kw)
    if "vasprun" in name and ".xml" in name:
        return read_vasprun(path, **kw)
    if name.endswith(".traj"):
        return read_ase_traj(path, **kw)
    if ".json" in name:
        data = _decode_json(path)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: JSON does not hold a trajectory dict.")
        return _from_dict(data, source=str(path), **kw)
    raise ValueError(
        f"{path}: unknown trajectory format; expected an XDATCAR, vasprun.xml, ASE .traj, "
        "pymatgen Trajectory JSON or DiffusionAnalyzer JSON (gzip ok)."
    )


def load_trajectory(obj, **kw: Any) -> LiTrajectory:
    """Any supported object -> ``LiTrajectory``.

    Accepts a ``LiTrajectory``, a path, a pymatgen ``Trajectory``, an emmet
    ``AtomTrajectory``, an atomate2 force-field task document (or its dict) holding one, a
    DiffusionAnalyzer / Trajectory dict, or a list of these: consecutive runs that are joined
    with :func:`superionic.md.analysis.trajectory.join_trajectories` (breaks detected).
    """
    if isinstance(obj, LiTrajectory):
        return obj
    if isinstance(obj, (list, tuple)):
        if not obj:
            raise ValueError("Empty list of trajectories.")
        return join_trajectories([load_trajectory(o, **kw) for o in obj])
    if isinstance(obj, (str, Path)):
        return read_trajectory(obj, **kw)
    if isinstance(obj, dict):
        return _from_dict(obj, **kw)
    if hasattr(obj, "frame_properties") and hasattr(obj, "coords"):
        return from_pymatgen_trajectory(obj, **kw)
    if hasattr(obj, "cart_coords") and hasattr(obj, "elements"):
        return from_atom_trajectory(obj, **kw)
    inner = _trajectory_in_task_doc(obj)
    if inner is not None:
        return load_trajectory(inner, **kw)
    raise TypeError(f"Cannot read a trajectory from {type(obj).__name__}.")
