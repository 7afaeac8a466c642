"""``superionic finetune``: fine-tune CHGNet on DFT frames and compare it with its base on held-out frames."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    """Add the fine-tuning command to the ``superionic`` app."""
    app.command("finetune")(finetune)


def _read(paths: list[Path], functional: str | None):
    from superionic.finetune.frames import combine, frames_from_extxyz, frames_from_vasprun

    docs = [frames_from_vasprun(p) if "vasprun" in p.name else frames_from_extxyz(p, functional=functional)
            for p in paths]
    return combine(docs)


def finetune(
    frames: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="Training frames: extxyz or vasprun.xml files."),
    test: list[Path] = typer.Option(..., "--test", exists=True, dir_okay=False, help="Held-out frames (never trained or selected on)."),
    base: str = typer.Option("chgnet-0.3.0", "--base", help="Base potential (CHGNet weights in the wheel: chgnet-0.3.0, chgnet-r2scan)."),
    functional: Optional[str] = typer.Option(None, "--functional", help="Functional of extxyz files that do not state it."),
    max_frames: Optional[int] = typer.Option(None, "--max-frames", min=2, help="Use only the first N training frames."),
    epochs: int = typer.Option(20, "--epochs", min=1, help="At most this many epochs (early stopping on a validation split)."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", min=1, help="Stop after this many optimiser steps."),
    batch_size: int = typer.Option(4, "--batch-size", min=1),
    learning_rate: float = typer.Option(1e-4, "--lr"),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the tuned weights (.pt) and their record (.json) "
                                       "here (with --no-store: default DATA_DIR/potentials/)."),
    store: Optional[str] = typer.Option(None, "--store", help="Store spec for the weights and their record (default: settings)."),
    no_store: bool = typer.Option(False, "--no-store", help="Do not write to a store (a local file only)."),
) -> None:
    """Fine-tune a CHGNet potential on DFT FRAMES and print the held-out force errors of the base
    and of the tuned potential; the last line holds the two force MAEs (eV/A), base first.

    The tuned potential goes to the store (weights in the data store, its record in
    ``potentials``) and is named ``finetuned:<potential_id>`` there: ``superionic md
    --force-field finetuned:<potential_id>`` runs MD with it."""
    import torch
    from rich.console import Console
    from rich.table import Table

    from superionic.cli.common import open_project_stores
    from superionic.finetune.chgnet_tuning import TuningSettings
    from superionic.finetune.frames import FramesError
    from superionic.finetune.potential_store import save_finetuned, tune_and_record
    from superionic.md.engines.potentials import get_potential
    from superionic.settings import get_settings

    console = Console(stderr=True)
    if get_potential(base).force_field_name != "CHGNet":
        raise typer.BadParameter(f"fine-tuning runs on CHGNet bases for now, not {base!r}", param_hint="--base")
    try:
        train = _read(frames, functional)
        held = _read(test, functional)
        if (train.code, train.functional) != (held.code, held.functional):
            raise FramesError(f"training frames ({train.code}/{train.functional}) and held-out frames "
                              f"({held.code}/{held.functional}) come from different DFT methods")
    except FramesError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    stores = None if no_store else open_project_stores(store)  # fail before, not after, the fine-tune
    if max_frames:
        train = train.model_copy(update={k: getattr(train, k)[:max_frames] for k in ("structures", "energies", "forces")}
                                 | {"n_frames": min(train.n_frames, max_frames), "stresses": None})
    torch.set_num_threads(1)
    console.print(f"{train.n_frames} training frames ({train.code}/{train.functional}), {held.n_frames} held out; base {base}")
    settings = TuningSettings(max_epochs=epochs, max_steps=max_steps, batch_size=batch_size, learning_rate=learning_rate)
    _, doc, blob = tune_and_record(base, train, held, settings)
    before, after, digest = doc.held_out_before, doc.held_out_after, doc.sha256
    where = []
    if stores is not None:
        try:
            save_finetuned(stores, doc, blob)
        finally:
            stores.close()
        where.append(f"store {stores.safe_spec} as finetuned:{doc.potential_id}")
    if out or stores is None:
        out = out or Path(get_settings().data_dir).expanduser() / "potentials" / f"{doc.potential_id}.pt"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(blob)
        out.with_suffix(".json").write_text(doc.model_dump_json(indent=1))
        where.append(f"file {out}")

    table = Table(title=f"Held-out force error ({held.n_frames} frames), eV/A")
    table.add_column("potential")
    columns = [k for k in before if k != "ratio"]
    for key in [*columns, "ratio"]:
        table.add_column("|F|/|F_DFT|" if key == "ratio" else key, justify="right")
    for name, m in ((base, before), (f"{base} fine-tuned", after)):
        table.add_row(name, *[f"{m[k]:.3f}" for k in columns], f"{m['ratio']:.2f}")
    out_console = Console()
    out_console.print(table)
    out_console.print(f"{doc.n_train} frames trained, {doc.n_val} validated, {doc.epochs_run} epoch(s), "
                      f"{doc.steps_run} steps, best epoch {doc.best_epoch}, {doc.seconds:.0f} s; "
                      f"energy offset {doc.energy_offset_ev_per_atom:+.3f} eV/atom; weights (sha256 {digest[:12]}) in "
                      + " and ".join(where))
    if stores is not None:
        typer.echo(f"fine-tuned potential: finetuned:{doc.potential_id} (superionic md --force-field "
                   f"finetuned:{doc.potential_id})")
    typer.echo(f"held-out force MAE (eV/A): base {before['all']:.4f} fine-tuned {after['all']:.4f}")
