"""One in-memory trajectory form for the diffusion analysis, and the readers into it.

``LiTrajectory`` holds unwrapped Cartesian positions (Angstrom) for every stored frame, the
lattice(s), the time between stored frames and the nominal temperature. Consecutive runs can be
joined; a join whose first step does not look like an ordinary MD step is kept as a *break*:
the trajectory then has several continuous segments and no displacement is ever measured across
a break (see :func:`join_trajectories`).

Readers (all end in :func:`from_fractional`): VASP XDATCAR (own fast parser, fixed or variable
cell, gzip ok), vasprun.xml, pymatgen ``Trajectory`` (atomate2 ``traj_file_fmt="pmg"`` and the
trajectory object of a ``ForceFieldTaskDocument``), emmet ``AtomTrajectory``, ASE ``.traj``,
and pymatgen ``DiffusionAnalyzer`` dict dumps (plain or double-encoded JSON, gzip ok).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

# A join is a break when its step is not like an ordinary step of the runs it joins:
# the median per-atom step of the boundary must not exceed BREAK_MEDIAN_FACTOR times the
# largest median of any ordinary frame-to-frame step, and its 99th percentile must not exceed
# BREAK_P99_FACTOR times the largest ordinary 99th percentile.
BREAK_MEDIAN_FACTOR = 1.3
BREAK_P99_FACTOR = 1.5
DUPLICATE_FRAME_TOL = 1e-6  # Angstrom: a boundary step this small is a repeated frame
_ELEMENT = re.compile(r"[A-Z][a-z]?")


@dataclass
class JoinReport:
    """What was found at one boundary between consecutive runs."""

    boundary_frame: int
    median_step: float
    p99_step: float
    reference_median: float
    reference_p99: float
    is_break: bool
    duplicate_dropped: bool
    reason: str


@dataclass
class LiTrajectory:
    """Unwrapped MD trajectory in memory (Angstrom, fs, K)."""

    species: list[str]
    positions: np.ndarray  # (n_frames, n_atoms, 3), unwrapped Cartesian, Angstrom
    lattices: np.ndarray  # (1, 3, 3) for a fixed cell, else (n_frames, 3, 3)
    frame_interval_fs: float  # time between stored frames
    temperature: float | None = None  # nominal (thermostat) temperature, K
    segment_starts: list[int] = field(default_factory=lambda: [0])
    measured_temperatures: np.ndarray | None = None  # instantaneous T per frame, if recorded
    source: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)
    joins: list[JoinReport] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.positions = np.asarray(self.positions, dtype=np.float64)
        self.lattices = np.asarray(self.lattices, dtype=np.float64).reshape(-1, 3, 3)
        if self.positions.ndim != 3 or self.positions.shape[2] != 3:
            raise ValueError(
                f"positions must be (n_frames, n_atoms, 3), got {self.positions.shape}"
            )
        if self.positions.shape[1] != len(self.species):
            raise ValueError(
                f"{len(self.species)} species for {self.positions.shape[1]} atoms in positions"
            )
        if self.lattices.shape[0] not in (1, self.positions.shape[0]):
            raise ValueError("lattices must be one (3, 3) matrix or one per frame")
        if not self.frame_interval_fs or self.frame_interval_fs <= 0:
            raise ValueError("frame_interval_fs (time between stored frames) must be > 0")
        # element symbols only: "Li+" or Species objects with oxidation states -> "Li"
        self.species = [_ELEMENT.match(str(s)).group(0) if _ELEMENT.match(str(s)) else str(s)
                        for s in self.species]

    @property
    def n_frames(self) -> int:
        return self.positions.shape[0]

    @property
    def n_atoms(self) -> int:
        return self.positions.shape[1]

    @property
    def duration_ps(self) -> float:
        """Total simulated time covered by the stored frames (sum over segments)."""
        return sum(b - a - 1 for a, b in self.segments) * self.frame_interval_fs / 1000.0

    @property
    def segments(self) -> list[tuple[int, int]]:
        """Continuous stretches as (start, stop) frame ranges."""
        edges = [*sorted(set(self.segment_starts) | {0}), self.n_frames]
        return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]

    def indices_of(self, element: str) -> np.ndarray:
        return np.array([i for i, s in enumerate(self.species) if s == element], dtype=int)

    @property
    def volume(self) -> float:
        """Mean cell volume, Angstrom^3."""
        return float(np.mean(np.abs(np.linalg.det(self.lattices))))

    def number_density(self, element: str = "Li") -> float:
        """Atoms of ``element`` per cm^3 (mean cell volume)."""
        return len(self.indices_of(element)) / (self.volume * 1e-24)

    @property
    def formula(self) -> str:
        from pymatgen.core import Composition

        return Composition(" ".join(self.species)).reduced_formula

    def structure(self, frame: int = 0):
        """The frame as a pymatgen ``Structure`` (positions wrapped into the cell)."""
        from pymatgen.core import Lattice, Structure

        lattice = self.lattices[frame if self.lattices.shape[0] > 1 else 0]
        return Structure(
            Lattice(lattice), self.species, self.positions[frame], coords_are_cartesian=True,
            to_unit_cell=True,
        )

    def frames(self, stop: int) -> LiTrajectory:
        """The first ``stop`` frames (e.g. to study convergence with trajectory length)."""
        lat = self.lattices if self.lattices.shape[0] == 1 else self.lattices[:stop]
        temps = None if self.measured_temperatures is None else self.measured_temperatures[:stop]
        return replace(
            self,
            positions=self.positions[:stop],
            lattices=lat,
            measured_temperatures=temps,
            segment_starts=[s for s in self.segment_starts if s < stop] or [0],
            joins=[j for j in self.joins if j.boundary_frame < stop],
        )


# --------------------------------------------------------------------------------------------
# Core: fractional coordinates -> unwrapped Cartesian positions
# --------------------------------------------------------------------------------------------
def unwrap_fractional(frac: np.ndarray, lattices: np.ndarray) -> np.ndarray:
    """Unwrapped Cartesian positions from (possibly wrapped) fractional coordinates.

    Each frame-to-frame step is taken as the periodic image nearest in fractional space
    (``df - round(df)``), converted with the lattice of the later frame and summed ("TOR"
    scheme of kinisi, doi:10.1021/acs.jctc.3c00308); for a fixed cell this is the usual
    minimum-image unwrapping. Valid while no atom moves more than half a cell between frames.
    """
    frac = np.asarray(frac, dtype=np.float64)
    lat = np.asarray(lattices, dtype=np.float64).reshape(-1, 3, 3)
    n_frames = frac.shape[0]
    start = frac[0] @ lat[0]
    if n_frames == 1:
        return start[None]
    dfrac = np.diff(frac, axis=0)
    dfrac -= np.round(dfrac)
    if lat.shape[0] == 1:
        steps = dfrac @ lat[0]
    else:
        # Cartesian step between wrapped positions, minus the lattice translation that the
        # fractional rounding identified (lattice of the later frame).
        wrapped = np.einsum("tai,tij->taj", frac, lat)
        shift = np.einsum("tai,tij->taj", np.round(np.diff(frac, axis=0)), lat[1:])
        steps = np.diff(wrapped, axis=0) - shift
    out = np.empty((n_frames, *start.shape))
    out[0] = start
    np.cumsum(steps, axis=0, out=out[1:])
    out[1:] += start
    return out


def from_fractional(
    species: list[str],
    frac: np.ndarray,
    lattices: np.ndarray,
    *,
    frame_interval_fs: float,
    temperature: float | None = None,
    source: str = "",
    provenance: dict | None = None,
    measured_temperatures: np.ndarray | None = None,
) -> LiTrajectory:
    """Build a ``LiTrajectory`` from fractional coordinates (n_frames, n_atoms, 3)."""
    frac = np.asarray(frac, dtype=np.float64)
    if frac.ndim != 3 or frac.shape[0] < 1:
        raise ValueError(f"fractional coordinates must be (n_frames, n_atoms, 3), got {frac.shape}")
    lattices = np.asarray(lattices, dtype=np.float64).reshape(-1, 3, 3)
    if lattices.shape[0] > 1 and np.allclose(lattices, lattices[0], atol=1e-8):
        lattices = lattices[:1]
    return LiTrajectory(
        species=list(species),
        positions=unwrap_fractional(frac, lattices),
        lattices=lattices,
        frame_interval_fs=_require(frame_interval_fs, "time between frames (fs)"),
        temperature=temperature,
        measured_temperatures=measured_temperatures,
        source=source,
        provenance=dict(provenance or {}),
    )


def _require(value, what: str):
    if value is None:
        raise ValueError(f"The {what} is not in this trajectory: give it explicitly.")
    return value


# --------------------------------------------------------------------------------------------
# Joining consecutive runs
# --------------------------------------------------------------------------------------------
def _step_lengths(a: np.ndarray, b: np.ndarray, lattice: np.ndarray) -> np.ndarray:
    """Per-atom minimum-image step (Angstrom) between two Cartesian frames."""
    inv = np.linalg.inv(lattice)
    dfrac = (b - a) @ inv
    dfrac -= np.round(dfrac)
    return np.linalg.norm(dfrac @ lattice, axis=1)


def _ordinary_step_stats(traj: LiTrajectory) -> tuple[float, float]:
    """Largest per-frame median and 99th-percentile atom step inside the runs."""
    meds, p99s = [], []
    for a, b in traj.segments:
        if b - a < 2:
            continue
        steps = np.linalg.norm(np.diff(traj.positions[a:b], axis=0), axis=2)
        meds.append(np.median(steps, axis=1).max())
        p99s.append(np.percentile(steps, 99, axis=1).max())
    if not meds:
        return np.inf, np.inf
    return float(max(meds)), float(max(p99s))


def join_trajectories(trajs: list[LiTrajectory]) -> LiTrajectory:
    """Join consecutive runs (run1, run2, ...) of one simulation into one trajectory.

    At each boundary the step from the last frame of run N to the first frame of run N+1 is
    compared with the ordinary frame-to-frame steps inside both runs. It is a *break* when its
    median atom step exceeds ``BREAK_MEDIAN_FACTOR`` x the largest ordinary per-frame median, or
    its 99th percentile exceeds ``BREAK_P99_FACTOR`` x the largest ordinary 99th percentile, or
    the cell changes by more than 1 %. A break starts a new continuous segment (no displacement
    is measured across it); an ordinary boundary is stitched so positions stay continuous. A
    first frame identical to the previous last frame (a restart that repeats it) is dropped.
    Species lists, frame intervals and temperatures must agree.
    """
    if not trajs:
        raise ValueError("No trajectories to join.")
    out = trajs[0]
    for nxt in trajs[1:]:
        out = _join_two(out, nxt)
    return out


def _join_two(a: LiTrajectory, b: LiTrajectory) -> LiTrajectory:
    if a.species != b.species:
        raise ValueError(
            f"Cannot join {b.source or 'run'} to {a.source or 'run'}: different atoms/order."
        )
    if not np.isclose(a.frame_interval_fs, b.frame_interval_fs, rtol=1e-6):
        raise ValueError(
            f"Cannot join runs with different frame intervals "
            f"({a.frame_interval_fs} fs vs {b.frame_interval_fs} fs)."
        )
    if a.temperature and b.temperature and not np.isclose(a.temperature, b.temperature, rtol=1e-3):
        raise ValueError(f"Cannot join runs at {a.temperature} K and {b.temperature} K.")
    lat_a, lat_b = a.lattices[-1], b.lattices[0]
    steps = _step_lengths(a.positions[-1], b.positions[0], lat_b)
    med, p99 = float(np.median(steps)), float(np.percentile(steps, 99))
    ref_med = max(_ordinary_step_stats(a)[0], 0.0)
    ref_med_b, ref_p99_b = _ordinary_step_stats(b)
    ref_med = max(ref_med, ref_med_b) if np.isfinite(ref_med_b) else ref_med
    ref_p99 = max(_ordinary_step_stats(a)[1], ref_p99_b if np.isfinite(ref_p99_b) else 0.0)
    cell_change = float(np.max(np.abs(lat_b - lat_a)) / np.max(np.abs(lat_a)))

    duplicate = bool(np.max(steps) < DUPLICATE_FRAME_TOL)
    reasons = []
    if cell_change > 0.01:
        reasons.append(f"cell changes by {100 * cell_change:.1f} %")
    if not duplicate:
        if med > BREAK_MEDIAN_FACTOR * ref_med:
            reasons.append(
                f"median atom step {med:.2f} A > {BREAK_MEDIAN_FACTOR} x ordinary {ref_med:.2f} A"
            )
        if p99 > BREAK_P99_FACTOR * ref_p99:
            reasons.append(
                f"99th-percentile step {p99:.2f} A > {BREAK_P99_FACTOR} x ordinary {ref_p99:.2f} A"
            )
    is_break = bool(reasons)

    b_pos = b.positions[1:] if duplicate else b.positions
    b_lat = b.lattices if b.lattices.shape[0] == 1 else b.lattices[1 if duplicate else 0 :]
    if not is_break and not duplicate:
        # stitch: continue from a's last unwrapped position with the minimum-image step
        inv = np.linalg.inv(lat_b)
        dfrac = (b.positions[0] - a.positions[-1]) @ inv
        dfrac -= np.round(dfrac)
        offset = a.positions[-1] + dfrac @ lat_b - b.positions[0]
        b_pos = b_pos + offset
    elif duplicate:
        b_pos = b_pos + (a.positions[-1] - b.positions[0])

    n_a = a.n_frames
    if a.lattices.shape[0] == 1 and b.lattices.shape[0] == 1 and cell_change < 1e-8:
        lattices = a.lattices
    else:
        la = np.broadcast_to(a.lattices, (n_a, 3, 3)) if a.lattices.shape[0] == 1 else a.lattices
        lb = np.broadcast_to(b_lat, (len(b_pos), 3, 3)) if b_lat.shape[0] == 1 else b_lat
        lattices = np.concatenate([la, lb])
    temps = None
    if a.measured_temperatures is not None and b.measured_temperatures is not None:
        tb = b.measured_temperatures[1:] if duplicate else b.measured_temperatures
        temps = np.concatenate([a.measured_temperatures, tb])
    report = JoinReport(
        boundary_frame=n_a,
        median_step=med,
        p99_step=p99,
        reference_median=ref_med,
        reference_p99=ref_p99,
        is_break=is_break,
        duplicate_dropped=duplicate,
        reason="; ".join(reasons) if reasons else ("repeated frame dropped" if duplicate else "ok"),
    )
    starts = list(a.segment_starts) + [s + n_a - int(duplicate) for s in b.segment_starts if s > 0]
    if is_break:
        starts.append(n_a)
    return LiTrajectory(
        species=a.species,
        positions=np.concatenate([a.positions, b_pos]),
        lattices=lattices,
        frame_interval_fs=a.frame_interval_fs,
        temperature=a.temperature or b.temperature,
        segment_starts=sorted(set(starts)),
        measured_temperatures=temps,
        source=" + ".join(x for x in (a.source, b.source) if x),
        provenance={**b.provenance, **a.provenance, "joined_runs": _n_runs(a) + _n_runs(b)},
        joins=[
            *a.joins,
            report,
            *[
                replace(j, boundary_frame=j.boundary_frame + n_a - int(duplicate))
                for j in b.joins
            ],
        ],
    )


def _n_runs(t: LiTrajectory) -> int:
    return int(t.provenance.get("joined_runs", 1))
