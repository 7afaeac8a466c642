"""SevenNet for NVT molecular dynamics on the CPU: loaded once per process, compiled, guarded.

atomate2's SevenNet path builds a new ``SevenNetCalculator`` (and loads the weights) for every
MD segment, and runs the model eagerly. :class:`SevenNetMDCalculator` keeps one loaded model per
process and weights (segments are jobs: many of them run in one worker) and, by default, runs it
through ``torch.compile`` (dynamic shapes: the neighbour count changes every step). The model,
weights and graph are SevenNet's own; only the execution differs. Measured here
(``benchmarks/sevennet_compile_speed.py``, 1 thread): SevenNet-0 1.9-2.2x faster per force call on
the nine seed cells, forces equal to 2e-5 eV/A; SevenNet-MF-0 1.5-1.6x; SevenNet-l3i5 1.0x.
Compiling costs ~50 CPU-s once per process on a cold cache, ~17 s when torch's inductor cache on
disk already holds the kernels.

Guarded: ``torch.compile`` needs a C++ compiler on the CPU and traces SevenNet's internals, so
the first call on every new system size in a process is also evaluated eagerly and compared
(:data:`COMPILE_TOLERANCE`). On any exception (no compiler, a tracing failure, an error in a later
step) or mismatch, the calculator warns once and runs the eager model from then on, for every
calculator of those weights in the process; an MD segment never fails for the compiled path.
:func:`compile_state` says which path ran (the segment documents record it under
``software["torch.compile"]``). ``SUPERIONIC_MD_COMPILE=false`` (or ``compiled=False``) runs
eagerly from the start. Torch's notes on SevenNet's graph breaks and recompilations (dozens of
warning lines per process: performance notes, not errors; the eager check guards the numbers) are
silenced unless ``TORCH_LOGS`` asks for torch's logs.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

COMPILE_TOLERANCE = {"energy_per_atom": 1e-4, "force": 2e-3}
"""Largest differences (eV/atom, eV/A) of the compiled model from the eager one that are accepted
(float32 round-off is ~1e-6 eV/atom and ~1e-5 eV/A on the seed's cells)."""


@dataclass
class _Compiled:
    """The compiled path of one set of weights in this process."""

    module: Any = None  # the torch.compile'd model; None until first used
    why_not: str | None = None  # set once the compiled path is given up, with the reason
    checked_sizes: set[int] = field(default_factory=set)


_COMPILED: dict[tuple[str, str | None], _Compiled] = {}


@lru_cache(maxsize=4)
def load_sevennet(model: str = "7net-0", modal: str | None = None, device: str = "auto"):
    """SevenNet's own ASE calculator for the bundled weights, loaded once per process (no download)."""
    from sevenn.calculator import SevenNetCalculator

    return SevenNetCalculator(model=model, modal=modal, device=device)


def compile_state(model: str = "7net-0", modal: str | None = None) -> str:
    """``"on"``, ``"off: <reason>"`` or ``"not used"`` for these weights in this process."""
    state = _COMPILED.get((model, modal))
    if state is None or (state.module is None and state.why_not is None):
        return "not used"
    return "on" if state.why_not is None else f"off: {state.why_not}"


def _quiet_compile_logs() -> None:
    """Silence torch.compile's performance warnings (graph breaks, recompile limits) in this process,
    unless the user asked for torch's logs (``TORCH_LOGS``)."""
    if not os.environ.get("TORCH_LOGS"):
        for name in ("torch._dynamo", "torch._inductor"):
            logging.getLogger(name).setLevel(logging.ERROR)


def _compile_enabled() -> bool:
    from superionic.settings import get_settings

    return bool(get_settings().md_compile)


class SevenNetMDCalculator(Calculator):
    """SevenNet energy + forces for MD (see module docstring).

    Parameters
    ----------
    model, modal
        SevenNet weights and fidelity head, as for ``sevenn.calculator.SevenNetCalculator``
        (``"7net-0"``; ``"7net-mf-0"`` with ``modal="PBE"`` ...).
    compiled : bool | None
        Run the model through ``torch.compile`` (guarded); None: the ``md_compile`` setting.
    device : str
        ``"auto"`` (a GPU when there is one) or a torch device name.
    **kwargs
        Passed to ASE's ``Calculator`` (atomate2's ``stress_unit`` and the like are ignored).
    """

    implemented_properties = ("energy", "free_energy", "forces")

    def __init__(self, model: str = "7net-0", modal: str | None = None, compiled: bool | None = None,
                 device: str = "auto", **kwargs: Any) -> None:
        for key in ("stress_unit", "file_type", "enable_cueq", "enable_flash", "enable_oeq"):
            kwargs.pop(key, None)
        super().__init__(**kwargs)
        self.key = (str(model), modal)
        self.sevennet = load_sevennet(str(model), modal, device)
        self.compiled = _compile_enabled() if compiled is None else bool(compiled)

    def calculate(self, atoms=None, properties=None, system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        energy, forces = self._compiled_energy_forces() if self.compiled else (None, None)
        if forces is None:
            energy, forces = self._energy_forces(self.sevennet.model)
        self.results = {"energy": energy, "free_energy": energy, "forces": forces}

    def _energy_forces(self, module) -> tuple[float, np.ndarray]:
        eager = self.sevennet.model
        self.sevennet.model = module
        try:
            self.sevennet.calculate(self.atoms, ["energy", "forces"], all_changes)
        finally:
            self.sevennet.model = eager
        results = self.sevennet.results
        return float(results["energy"]), np.asarray(results["forces"], dtype=np.float64)

    def _compiled_energy_forces(self) -> tuple[float | None, np.ndarray | None]:
        state = _COMPILED.setdefault(self.key, _Compiled())
        if state.why_not is not None:
            return None, None
        try:
            if state.module is None:
                import torch

                _quiet_compile_logs()
                state.module = torch.compile(self.sevennet.model, dynamic=True)
            energy, forces = self._energy_forces(state.module)
            size = len(self.atoms)
            if size not in state.checked_sizes:  # first call on this system size: check against eager
                eager_energy, eager_forces = self._energy_forces(self.sevennet.model)
                diff = {"energy_per_atom": abs(energy - eager_energy) / size,
                        "force": float(np.abs(forces - eager_forces).max())}
                bad = {k: v for k, v in diff.items() if not v <= COMPILE_TOLERANCE[k]}
                if bad:
                    raise ValueError("compiled model differs from the eager one: " + ", ".join(
                        f"{k} {v:.2g} > {COMPILE_TOLERANCE[k]:g}" for k, v in bad.items()))
                state.checked_sizes.add(size)
            return energy, forces
        except Exception as exc:  # noqa: BLE001 - any failure means: run the eager model
            state.why_not = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
            warnings.warn(f"SevenNet's compiled path given up ({state.why_not}); running the eager model "
                          f"(slower, same weights)", RuntimeWarning, stacklevel=2)
            return None, None
