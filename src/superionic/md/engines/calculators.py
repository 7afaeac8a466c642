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
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from superionic.md.engines.chgnet_graph import crystal_graph_from_atoms

DEFAULT_CHGNET_MODEL = "0.3.0"


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


class CHGNetMDCalculator(Calculator):
    """CHGNet energy + forces only, first-order gradient (see module docstring).

    Parameters
    ----------
    model : chgnet.model.CHGNet | None
        A loaded model; ``None`` loads the bundled CHGNet 0.3.0 weights.
    model_name : str
        Which bundled weights to load when ``model`` is None.
    graph_builder : "numpy" | "stock"
        "numpy" (default) builds CHGNet's crystal graph from the ``Atoms`` with array
        operations (:mod:`superionic.md.engines.chgnet_graph`; the same tensors as CHGNet's converter,
        several times faster); "stock" converts to a pymatgen ``Structure`` and calls CHGNet's
        own converter every step (the path before, kept for comparison).
    split_atom_conv : bool
        True (default): CHGNet's forward pass with the atom convolutions' first layer split
        by input block (:mod:`superionic.md.engines.chgnet_forward`; the same function, float32
        round-off apart); False: ``CHGNet._compute`` as shipped (the path before).
    **kwargs
        Passed to ASE's ``Calculator`` (unknown keys such as atomate2's ``stress_unit``
        are accepted and ignored).
    """

    implemented_properties = ("energy", "free_energy", "forces")

    def __init__(
        self,
        model=None,
        model_name: str = DEFAULT_CHGNET_MODEL,
        graph_builder: str = "numpy",
        split_atom_conv: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("stress_unit", None)
        kwargs.pop("use_device", None)
        if graph_builder not in ("numpy", "stock"):
            raise ValueError(f"graph_builder must be 'numpy' or 'stock', not {graph_builder!r}")
        super().__init__(**kwargs)
        self.model = model if model is not None else load_chgnet(model_name)
        self.model.eval()
        self.graph_builder = graph_builder
        from superionic.md.engines.chgnet_forward import supports_split

        self.split_atom_conv = bool(split_atom_conv) and supports_split(self.model)

    def calculate(self, atoms=None, properties=None, system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
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
        energy, forces = chgnet_energy_forces_of_graph(self.model, graph, split_atom_conv=self.split_atom_conv)
        self.results = {"energy": energy, "free_energy": energy, "forces": forces}


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
