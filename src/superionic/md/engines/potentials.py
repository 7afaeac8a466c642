"""Universal potentials whose weights ship inside installed wheels, by recipe name.

One :class:`Potential` says which atomate2 force-field family runs it (``force_field_name``,
atomate2's ``MLFF`` name), the calculator keywords that pick the weights (and, for a
multi-fidelity model, the fidelity head), the data it was trained on, and its ``label``: the
``potential`` part of every MD key (``'<material>:forcefield:<label>:<preset>:<T>K'``), so
results of two potentials live side by side.

A fine-tuned potential in the project store is named ``finetuned:<potential_id>``
(:mod:`superionic.finetune.potential_store`): :func:`get_potential` reads its record from the
store, and its calculator keywords carry ``finetuned`` (id, blob key, sha256, base model and
version), from which a worker loads the checked weights out of its JobStore; its label is
``CHGNet:ft-<12 hex digits>``.

Nothing here downloads: CHGNet 0.3.0 and CHGNet r2SCAN are inside the ``chgnet`` wheel,
SevenNet-0, SevenNet-MF-0 and SevenNet-l3i5 inside the ``sevenn`` wheel (the ``bench`` /
``sevennet`` extra). :func:`calculator` gives a plain ASE calculator for single points (force
errors against DFT, the second opinion on MD frames); MD runs through atomate2's
``ForceFieldMDMaker`` with the same keywords.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib.util import find_spec
from typing import Any


@dataclass(frozen=True)
class Potential:
    """A universal interatomic potential with its weights installed (see module docstring)."""

    name: str
    force_field_name: str
    calculator_kwargs: dict[str, Any] = field(default_factory=dict)
    package: str = "chgnet"
    trained_on: str = ""

    @property
    def label(self) -> str:
        """The ``potential`` part of MD keys: ``CHGNet``, ``CHGNet:r2scan``, ``SevenNet:7net-0``,
        ``SevenNet:7net-mf-0:PBE`` (CHGNet 0.3.0 keeps the bare name its documents always had)."""
        return potential_label(self.force_field_name, self.calculator_kwargs)

    @property
    def installed(self) -> bool:
        return find_spec(self.package) is not None


def potential_label(force_field_name: str, calculator_kwargs: dict[str, Any] | None = None) -> str:
    """``force_field_name`` plus the weights and fidelity it runs (see :attr:`Potential.label`)."""
    kwargs = calculator_kwargs or {}
    if kwargs.get("finetuned"):
        return f"{force_field_name}:{kwargs['finetuned']['potential_id']}"
    parts = [force_field_name]
    for key in ("model_name", "model", "modal"):
        value = kwargs.get(key)
        if value is not None and not (force_field_name == "CHGNet" and str(value) == "0.3.0"):
            parts.append(str(value))
    return ":".join(parts)


POTENTIALS: dict[str, Potential] = {
    p.name: p
    for p in (
        Potential("chgnet-0.3.0", "CHGNet", {}, "chgnet", "MPtrj (PBE/PBE+U)"),
        Potential("chgnet-r2scan", "CHGNet", {"model_name": "r2scan"}, "chgnet", "MP r2SCAN (fine-tuned from 0.3.0)"),
        Potential("sevennet-0", "SevenNet", {"model": "7net-0"}, "sevenn", "MPtrj (PBE/PBE+U)"),
        Potential("sevennet-mf-0-pbe", "SevenNet", {"model": "7net-mf-0", "modal": "PBE"}, "sevenn",
                  "MPtrj + MP r2SCAN, PBE head"),
        Potential("sevennet-mf-0-r2scan", "SevenNet", {"model": "7net-mf-0", "modal": "R2SCAN"}, "sevenn",
                  "MPtrj + MP r2SCAN, r2SCAN head"),
        Potential("sevennet-l3i5", "SevenNet", {"model": "7net-l3i5"}, "sevenn", "MPtrj (PBE/PBE+U), l=3, 5 layers"),
    )
}
"""Every potential a recipe may name (``md.force_field``)."""

DEFAULT_BY_PRESET: dict[str, str] = {"quick": "chgnet-0.3.0", "seed": "sevennet-0"}
"""The force field an MD preset runs when the recipe says ``auto`` (README, "Which force field"):
the seed protocol (10,000 production steps, hours per candidate) runs SevenNet-0: of the offline
potentials run in MD, the one that keeps the frameworks the AIMD keeps (BaLi(BS2)3 at 800 K in 3 of 3 seeds;
at 1100 K all eight the AIMD keeps, four of which CHGNet 0.3.0 melts, and Li2B2S5, which
SevenNet-MF-0's PBE head melts at 1.45x SevenNet-0's cost), puts D within 3x of the
AIMD's in every seed (Li3ErBr6 at 800 and 1100 K; Li5B7S13 at 800 K 1.40-1.56x over 6-12 ps) and
whose forces are closest to PBE's among the affordable ones (0.78x DFT's magnitude on LiPS,
CHGNet 0.3.0: 0.58x; benchmarks/results/forcefield_table.txt, forcefield_li5b7s13_6ps.txt,
forcefield_dft_forces.txt). The laptop's quick preset keeps CHGNet 0.3.0: SevenNet-0 costs 8x per
atom-step on the seed's cells (forcefield_cost_seed_cells.txt), ~3.7x compiled
(sevennet_compile_speed.txt), which would put the default run past its 15 minutes, and the quick candidates are halides whose frameworks
CHGNet holds at 800 K; every quick run is cross-checked by SevenNet-0, which disowns a melt it
would not make (calibrated on CHGNet's melt of BaLi(BS2)3)."""


def default_potential(preset: str, force_field: str = "auto") -> str:
    """``force_field`` unless it is ``auto``: then the preset's default (:data:`DEFAULT_BY_PRESET`;
    a preset named ``quick+...`` is a changed quick one)."""
    if force_field != "auto":
        return force_field
    return DEFAULT_BY_PRESET["quick" if str(preset).startswith("quick") else "seed"]


FINETUNED_PREFIX = "finetuned:"


def finetuned_potential(doc) -> Potential:
    """The :class:`Potential` of a fine-tuned potential's record (a FineTunedPotentialDoc or its dict)."""
    from superionic.finetune.potential_store import spec_of

    spec = spec_of(doc)
    d = doc if isinstance(doc, dict) else doc.model_dump()
    return Potential(f"{FINETUNED_PREFIX}{spec['potential_id']}", d.get("force_field_name", "CHGNet"),
                     {"model_name": spec["base_model"], "finetuned": spec}, d.get("package", "chgnet"),
                     f"{d.get('base_potential')} fine-tuned on {d.get('n_train')} {d.get('frames_functional')} "
                     f"frames ({d.get('frames_id')})")


def get_potential(name: str, stores=None) -> Potential:
    """The registered potential ``name``; a clear error for an unknown or uninstalled one.

    ``finetuned:<potential_id>``: its record from ``stores.potentials``; without ``stores``, from
    the running job's JobStore, else the settings' store
    (:func:`superionic.finetune.potential_store.record_for`).
    """
    if name.startswith(FINETUNED_PREFIX):
        from superionic.finetune.potential_store import record, record_for

        return finetuned_potential(record(stores, name) if stores is not None else record_for(name))
    try:
        potential = POTENTIALS[name]
    except KeyError:
        raise ValueError(f"unknown force field {name!r}; choose one of {sorted(POTENTIALS)} or "
                         f"'{FINETUNED_PREFIX}<potential_id>' (a fine-tuned potential in the store)") from None
    if not potential.installed:
        raise ValueError(f"force field {name!r} needs the '{potential.package}' package "
                         f"(pip install 'superionic[sevennet]')")
    return potential


MD_CALCULATORS = {
    "CHGNet": "superionic.md.engines.calculators.CHGNetMDCalculator",
    "SevenNet": "superionic.md.engines.sevennet_md.SevenNetMDCalculator",
}
"""The ASE calculator (import path) that runs each family's MD: energy + forces only, loaded once
per process; CHGNet's with the guarded speed path, SevenNet's compiled and guarded."""


def md_calculator_for(force_field_name: str, calculator_meta: str | None = "auto") -> str | None:
    """The calculator (import path) MD of ``force_field_name`` runs: ``"auto"`` the family's
    :data:`MD_CALCULATORS` entry; None atomate2's own; else one of :data:`MD_CALCULATORS` (CHGNet's
    path given for another family was the default before ``"auto"``: it means ``"auto"``).

    Any other import path is refused: makers travel in stored and shared flows, and atomate2 imports
    whatever its ``calculator_meta`` names, so a flow from someone else's database must not name code
    to run. (A new calculator goes into :data:`MD_CALCULATORS`.)"""
    if calculator_meta == "auto" or (calculator_meta == MD_CALCULATORS["CHGNet"] and force_field_name != "CHGNet"):
        return MD_CALCULATORS.get(force_field_name)
    if calculator_meta is not None and calculator_meta not in MD_CALCULATORS.values():
        raise ValueError(f"calculator_meta {calculator_meta!r} is not one of the project's MD calculators "
                         f"{sorted(MD_CALCULATORS.values())}, 'auto' or None (atomate2's own)")
    return calculator_meta


@lru_cache(maxsize=4)
def calculator(name: str, md: bool = False):
    """An ASE calculator for ``name`` (CPU unless a GPU is there), loaded once per process; energies
    (eV) and forces (eV/A). ``md=True``: the calculator MD segments use (:data:`MD_CALCULATORS`; for
    SevenNet compiled, which pays off over many steps); else one for a few single points."""
    potential = get_potential(name)
    family = potential.force_field_name
    if family == "CHGNet" or (md and family in MD_CALCULATORS):
        from importlib import import_module

        module, _, cls = MD_CALCULATORS[family].rpartition(".")
        return getattr(import_module(module), cls)(**potential.calculator_kwargs)
    from atomate2.forcefields.utils import ase_calculator

    return ase_calculator(family, **potential.calculator_kwargs)
