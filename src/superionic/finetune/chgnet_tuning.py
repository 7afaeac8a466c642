"""Fine-tune CHGNet on DFT frames: energy + force loss, a validation split, early stopping.

Method (defaults in :class:`TuningSettings`):

* The base model's energies sit on MPtrj's reference, the frames' on their own DFT set-up
  (pseudopotentials, corrections): the mean per-atom difference on the training frames is
  measured first and added to the DFT energies (reported as ``energy_offset``), so the fine-tune
  learns shapes, not a constant.
* Loss per batch: MSE of the energy per atom + ``force_weight`` x MSE of the force components
  (stress is not fitted: frames of NVT MD carry no useful stress variation).
* ``val_fraction`` of the training frames (random, seeded) are held back; after every epoch
  their force MAE is measured and the best weights kept; training stops after ``patience``
  epochs without improvement or after ``max_epochs``.
* Force errors (:func:`force_metrics`): MAE of the force components per element and overall,
  and the magnitude ratio sum|F_model| / sum|F_DFT| (below 1: a softened potential).
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass

import numpy as np
from pymatgen.core import Structure

from superionic.schemas.frames import DFTFramesDoc


@dataclass
class TuningSettings:
    """How the fine-tune runs (see module docstring)."""

    max_epochs: int = 20
    patience: int = 3
    learning_rate: float = 1e-4
    batch_size: int = 4
    force_weight: float = 1.0
    val_fraction: float = 0.1
    seed: int = 0
    max_steps: int | None = None  # stop after this many optimiser steps (tests, smoke runs)

    def __post_init__(self) -> None:
        if self.max_epochs < 1 or self.batch_size < 1 or not 0 < self.val_fraction < 1:
            raise ValueError("max_epochs and batch_size must be >= 1 and val_fraction in (0, 1)")


def _frames(doc: DFTFramesDoc) -> tuple[list[Structure], np.ndarray, list[np.ndarray]]:
    structures = [Structure.from_dict(s) for s in doc.structures]
    energies = np.array([e / len(s) for e, s in zip(doc.energies, structures)])
    return structures, energies, [np.asarray(f, dtype=float) for f in doc.forces]


def predict(model, structures: list[Structure], batch_size: int = 8) -> tuple[np.ndarray, list[np.ndarray]]:
    """Energies per atom and forces of ``structures`` (CHGNet's own forward pass, no training graph)."""
    graphs = [model.graph_converter(s) for s in structures]
    energies, forces = [], []
    for k in range(0, len(graphs), batch_size):
        out = model(graphs[k:k + batch_size], task="ef")
        energies.extend(float(e) for e in out["e"].detach())
        forces.extend(f.detach().numpy().astype(float) for f in out["f"])
    return np.array(energies), forces


def force_metrics(pred: list[np.ndarray], ref: list[np.ndarray], structures: list[Structure]) -> dict:
    """Force MAE per element and ``all`` (eV/A), and the magnitude ratio ``ratio`` = sum|F| / sum|F_DFT|."""
    symbols = np.concatenate([[site.specie.symbol for site in s] for s in structures])
    diff = np.abs(np.concatenate(pred) - np.concatenate(ref))
    out = {el: float(diff[symbols == el].mean()) for el in dict.fromkeys(symbols)}
    out["all"] = float(diff.mean())
    out["ratio"] = float(np.linalg.norm(np.concatenate(pred), axis=1).sum()
                         / np.linalg.norm(np.concatenate(ref), axis=1).sum())
    return out


@dataclass
class TuningResult:
    """What a fine-tune returns: the tuned model and the record of how it went."""

    model: object
    energy_offset: float
    epochs_run: int
    steps_run: int
    best_epoch: int
    val_force_mae: list[float]
    n_train: int
    n_val: int
    seconds: float
    settings: dict


def finetune_chgnet(base_model, frames: DFTFramesDoc, settings: TuningSettings | None = None) -> TuningResult:
    """A fine-tuned copy of ``base_model`` (a CHGNet; the base is left untouched)."""
    import torch

    settings = settings or TuningSettings()
    start = time.perf_counter()
    torch.manual_seed(settings.seed)
    structures, energies, forces = _frames(frames)
    n = len(structures)
    if n < 2:
        raise ValueError("fine-tuning needs at least two frames (one to train on, one to validate)")
    order = np.random.default_rng(settings.seed).permutation(n)
    n_val = max(1, int(round(settings.val_fraction * n)))
    val, train = order[:n_val], order[n_val:]
    model = copy.deepcopy(base_model)
    model.eval()
    base_e, _ = predict(model, [structures[i] for i in train])
    offset = float(np.mean(base_e - energies[train]))  # DFT energies moved onto the model's reference
    graphs = [model.graph_converter(s) for s in structures]
    e_target = torch.tensor(energies + offset, dtype=torch.float32)
    f_target = [torch.tensor(f, dtype=torch.float32) for f in forces]
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)

    def val_mae() -> float:
        model.eval()
        _, pred = predict(model, [structures[i] for i in val])
        return force_metrics(pred, [forces[i] for i in val], [structures[i] for i in val])["all"]

    history = [val_mae()]
    best, best_epoch, best_state, steps, epoch = history[0], 0, copy.deepcopy(model.state_dict()), 0, 0
    rng = np.random.default_rng(settings.seed + 1)
    for epoch in range(1, settings.max_epochs + 1):
        model.train()
        shuffled = rng.permutation(train)
        for k in range(0, len(shuffled), settings.batch_size):
            batch = shuffled[k:k + settings.batch_size]
            out = model([graphs[i] for i in batch], task="ef")
            loss = torch.mean((out["e"] - e_target[batch]) ** 2)
            loss = loss + settings.force_weight * torch.mean(torch.cat([(p - f_target[i]).reshape(-1) ** 2
                                                                        for p, i in zip(out["f"], batch)]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            steps += 1
            if settings.max_steps is not None and steps >= settings.max_steps:
                break
        history.append(val_mae())
        if history[-1] < best:
            best, best_epoch, best_state = history[-1], epoch, copy.deepcopy(model.state_dict())
        if epoch - best_epoch >= settings.patience or (settings.max_steps is not None and steps >= settings.max_steps):
            break
    model.load_state_dict(best_state)
    model.eval()
    return TuningResult(model=model, energy_offset=offset, epochs_run=epoch, steps_run=steps, best_epoch=best_epoch,
                        val_force_mae=history, n_train=len(train), n_val=len(val),
                        seconds=time.perf_counter() - start, settings=asdict(settings))
