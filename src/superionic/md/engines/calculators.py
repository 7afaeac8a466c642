"""A leaner CHGNet ASE calculator for NVT molecular dynamics on the CPU.

``chgnet.model.dynamics.CHGNetCalculator`` computes energy, forces, stress and magnetic
moments on every call, and takes the force gradient with ``create_graph=True`` (so that a
training loss could differentiate through it). NVT MD needs neither the stress nor a second-
order graph. :class:`CHGNetMDCalculator` runs the same model with the same weights, and returns
only energy and forces from one first-order backward pass; in
``benchmarks/forcefield_md_speed.py`` this is about twice as fast per step, and the forces agree
with the stock calculator to float32 round-off (tested in ``tests/test_md_makers.py``).

Two more savings per MD step, both on by default:

- ``graph_builder="numpy"``: CHGNet's crystal graph built from the ``Atoms`` with array
  operations (:mod:`superionic.md.engines.chgnet_graph`) instead of a pymatgen ``Structure`` and
  CHGNet's object-based converter -- the same tensors bit for bit (tested), so the same
  trajectory;
- ``split_atom_conv=True``: the atom convolutions' first layer evaluated per atom and per bond
  instead of per directed bond (:mod:`superionic.md.engines.chgnet_forward`) -- the same function,
  float32 round-off apart (tested against a float64 evaluation).

``benchmarks/forcefield_md_speed.py --compare`` times them A/B against the path before
(``graph_builder="stock", split_atom_conv=False``, kept callable): 1.4-1.7x fewer seconds per
step on the seed's 64-144-atom cells.

Stress and magnetic moments are not in ``implemented_properties``, so atomate2's trajectory
observer does not ask for them. Use the stock calculator where stress is needed (NPT).

Guarded: the speed path re-implements parts of CHGNet's private internals, verified on the
``chgnet`` versions in ``VERIFIED_CHGNET`` (the package metadata caps it too). On first use per
process and model, :func:`fast_path_verified` compares it with CHGNet's own calculator on a
small displaced cell; outside the verified versions, on any mismatch, or on any exception of
the speed path during a run, the calculator warns once and computes with CHGNet's own
``CHGNetCalculator`` from then on. An MD segment never fails for the speed path.
"""

from __future__ import annotations

import logging
import warnings
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from superionic.md.engines.chgnet_graph import crystal_graph_from_atoms

logger = logging.getLogger(__name__)

DEFAULT_CHGNET_MODEL = "0.3.0"
VERIFIED_CHGNET = ("0.3.", "0.4.")
"""chgnet versions (prefixes) the speed path was checked against bit for bit / to round-off."""
FAST_PATH_TOLERANCE = {"energy_per_atom": 1e-4, "force": 2e-3}
"""Largest differences (eV/atom, eV/A) from CHGNet's own calculator the self-check accepts
(float32 round-off is ~1e-6 eV/atom and ~1e-5 eV/A on the check cell)."""


class FastPathMismatch(RuntimeError):
    """The speed path disagrees with CHGNet's own calculator (or cannot run)."""


@lru_cache(maxsize=2)
def load_chgnet(model_name: str = DEFAULT_CHGNET_MODEL):
    """The CHGNet model whose weights ship inside the ``chgnet`` wheel (no download).

    Loaded once per process and shared (inference only, so sharing is safe): every MD
    segment is a job that builds a new calculator.
    """
    from chgnet.model import CHGNet

    model = CHGNet.load(model_name=model_name, use_device="cpu", verbose=False)
    model.eval()
    return model


def _check_cell():
    """A 12-atom Li2S cell with every atom displaced (fixed seed): small, cheap, all bond kinds."""
    from pymatgen.core import Lattice, Structure

    cell = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.72), ["Li", "S"], [[0.25, 0.25, 0.25], [0, 0, 0]])
    atoms = cell.to_ase_atoms()
    atoms.positions += np.random.default_rng(7).normal(0.0, 0.08, atoms.positions.shape)
    return atoms


def compare_with_stock(model, atoms=None, **fast_options: Any) -> dict[str, float]:
    """Energy per atom and force differences of the speed path from CHGNet's own calculator."""
    from chgnet.model.dynamics import CHGNetCalculator

    atoms = _check_cell() if atoms is None else atoms
    fast, stock = atoms.copy(), atoms.copy()
    fast.calc = CHGNetMDCalculator(model=model, verify=False, **fast_options)
    stock.calc = CHGNetCalculator(model=model, use_device="cpu")
    return {
        "energy_per_atom": abs(fast.get_potential_energy() - stock.get_potential_energy()) / len(atoms),
        "force": float(np.abs(fast.get_forces() - stock.get_forces()).max()),
    }


_VERIFIED: WeakKeyDictionary = WeakKeyDictionary()  # model -> None (speed path ok) or why not


def fast_path_verified(model) -> str | None:
    """None when the speed path may run for ``model``, else why not (checked once per process
    and model: the chgnet version, then :func:`compare_with_stock` on a small cell)."""
    if model in _VERIFIED:
        return _VERIFIED[model]
    from importlib.metadata import version

    installed = version("chgnet")
    why = None
    if not installed.startswith(VERIFIED_CHGNET):
        why = f"chgnet {installed} is not a version the speed path was verified on ({', '.join(VERIFIED_CHGNET)}x)"
    else:
        try:
            diff = compare_with_stock(model)
            bad = {k: v for k, v in diff.items() if not v <= FAST_PATH_TOLERANCE[k]}
            if bad:
                why = "speed path differs from CHGNet's own calculator: " + ", ".join(
                    f"{k} {v:.2g} > {FAST_PATH_TOLERANCE[k]:g}" for k, v in bad.items())
        except Exception as exc:  # noqa: BLE001 - any failure means: use the stock path
            why = f"speed path failed its self-check: {type(exc).__name__}: {exc}"
    if why:
        warnings.warn(f"{why}; using CHGNet's own calculator (slower, same model)", RuntimeWarning, stacklevel=2)
    _VERIFIED[model] = why
    return why


class CHGNetMDCalculator(Calculator):
    """CHGNet energy + forces only, first-order gradient (see module docstring).

    Parameters
    ----------
    model : chgnet.model.CHGNet | None
        A loaded model; ``None`` loads the bundled CHGNet 0.3.0 weights.
    model_name : str
        Which bundled weights to load when ``model`` is None.
    finetuned : dict | None
        A fine-tuned potential in the store (``potential_store.spec_of``: id, blob key, sha256,
        base model, chgnet version): its weights are read from the running job's JobStore (else
        the settings' store), checked against the sha256 and loaded onto the base model.
    graph_builder : "numpy" | "stock"
        "numpy" (default) builds CHGNet's crystal graph from the ``Atoms`` with array
        operations (:mod:`superionic.md.engines.chgnet_graph`; the same tensors as CHGNet's converter,
        several times faster); "stock" converts to a pymatgen ``Structure`` and calls CHGNet's
        own converter every step (the path before, kept for comparison).
    split_atom_conv : bool
        True (default): CHGNet's forward pass with the atom convolutions' first layer split
        by input block (:mod:`superionic.md.engines.chgnet_forward`; the same function, float32
        round-off apart); False: ``CHGNet._compute`` as shipped (the path before).
    verify : bool
        True (default): run :func:`fast_path_verified` first and fall back to CHGNet's own
        calculator when it says no, or when the speed path raises during a run.
    **kwargs
        Passed to ASE's ``Calculator`` (unknown keys such as atomate2's ``stress_unit``
        are accepted and ignored).
    """

    implemented_properties = ("energy", "free_energy", "forces")

    def __init__(
        self,
        model=None,
        model_name: str = DEFAULT_CHGNET_MODEL,
        finetuned: dict | None = None,
        graph_builder: str = "numpy",
        split_atom_conv: bool = True,
        verify: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("stress_unit", None)
        kwargs.pop("use_device", None)
        if graph_builder not in ("numpy", "stock"):
            raise ValueError(f"graph_builder must be 'numpy' or 'stock', not {graph_builder!r}")
        super().__init__(**kwargs)
        if model is None and finetuned:
            from superionic.finetune.potential_store import model_from_spec

            model = model_from_spec(finetuned)
        self.model = model if model is not None else load_chgnet(model_name)
        self.model.eval()
        self.graph_builder = graph_builder
        from superionic.md.engines.chgnet_forward import supports_split

        self.split_atom_conv = bool(split_atom_conv) and supports_split(self.model)
        self.fallback_reason = fast_path_verified(self.model) if verify else None
        self._stock = None

    def calculate(self, atoms=None, properties=None, system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        if self.fallback_reason is None:
            try:
                energy, forces = self._fast_energy_forces()
            except Exception as exc:  # noqa: BLE001 - the stock path answers instead
                self.fallback_reason = f"speed path raised {type(exc).__name__}: {exc}"
                warnings.warn(f"{self.fallback_reason}; using CHGNet's own calculator from now on",
                              RuntimeWarning, stacklevel=2)
        if self.fallback_reason is not None:
            energy, forces = self._stock_energy_forces()
        self.results = {"energy": energy, "free_energy": energy, "forces": forces}

    def _stock_energy_forces(self) -> tuple[float, np.ndarray]:
        if self._stock is None:
            from chgnet.model.dynamics import CHGNetCalculator

            self._stock = CHGNetCalculator(model=self.model, use_device="cpu")
        atoms = self.atoms.copy()
        atoms.calc = self._stock
        return float(atoms.get_potential_energy()), np.asarray(atoms.get_forces(), dtype=np.float64)

    def _fast_energy_forces(self) -> tuple[float, np.ndarray]:
        graph = None
        if self.graph_builder == "numpy" and all(self.atoms.pbc):
            graph = crystal_graph_from_atoms(
                self.model.graph_converter,
                self.atoms.numbers,
                self.atoms.positions,
                self.atoms.cell.array,
                composition=_formula(np.asarray(self.atoms.numbers, dtype=np.int64).tobytes()),
            )
        if graph is None:  # the stock path, or what the numpy builder leaves to it
            from pymatgen.io.ase import AseAtomsAdaptor

            graph = self.model.graph_converter(AseAtomsAdaptor.get_structure(self.atoms))
        return chgnet_energy_forces_of_graph(self.model, graph, split_atom_conv=self.split_atom_conv)


@lru_cache(maxsize=16)
def _formula(numbers: bytes) -> str:
    from collections import Counter

    from pymatgen.core import Composition, Element

    counts = Counter(int(z) for z in np.frombuffer(numbers, dtype=np.int64))
    return Composition({Element.from_Z(z): n for z, n in counts.items()}).formula


def chgnet_energy_forces(model, structure) -> tuple[float, np.ndarray]:
    """Total energy (eV) and forces (eV/A) of one structure (CHGNet's own graph converter)."""
    return chgnet_energy_forces_of_graph(model, model.graph_converter(structure))


def chgnet_energy_forces_of_graph(model, graph, *, split_atom_conv: bool = False) -> tuple[float, np.ndarray]:
    """Total energy (eV) and forces (eV/A) of one ``CrystalGraph`` from one backward pass.

    ``split_atom_conv`` uses :func:`superionic.md.engines.chgnet_forward.energy_split` (check
    ``supports_split(model)`` first) instead of ``CHGNet._compute``.
    """
    import torch
    from chgnet.model.model import BatchedGraph

    batch = BatchedGraph.from_graphs(
        [graph],
        bond_basis_expansion=model.bond_basis_expansion,
        angle_basis_expansion=model.angle_basis_expansion,
        compute_stress=False,
    )
    if split_atom_conv:
        from superionic.md.engines.chgnet_forward import energy_split

        energy = energy_split(model, batch).sum()
    else:
        energy = model._compute(batch, compute_force=False)["e"].sum()  # noqa: SLF001 - energy only
    n_atoms = int(graph.atomic_number.shape[0])
    if model.is_intensive:
        energy = energy * n_atoms
    (grad,) = torch.autograd.grad(energy, batch.atom_positions[0])
    composition_energy = 0.0
    if model.composition_model is not None:
        composition_energy = float(model.composition_model([graph]).sum())
        if model.is_intensive:
            composition_energy *= n_atoms
    return float(energy.detach()) + composition_energy, -grad.detach().cpu().numpy().astype(np.float64)
