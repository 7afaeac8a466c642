"""``superionic featurize``: the 145 Magpie descriptors of every formula in a CSV file."""

from __future__ import annotations

from pathlib import Path

import typer

CHUNK = 2_000


def register(app: typer.Typer) -> None:
    """Add the featurisation command to the ``superionic`` app."""
    app.command("featurize")(featurize)


def featurize(
    input_csv: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="CSV file with a formula column."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="CSV file to write."),
    formula_column: str = typer.Option("formula", "--formula-column", help="Column holding the formulas."),
    keep_columns: bool = typer.Option(
        False, "--keep-columns", help="Copy the input's other columns into the output too."
    ),
) -> None:
    """Write the 145 Magpie descriptors (matminer's column names) of each formula in INPUT_CSV.

    The output has one row per input row, in the same order: the formula, the 145 descriptors
    and an ``error`` column, empty where featurisation worked and giving the reason where it
    did not (descriptors are then empty).
    """
    import pandas as pd
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from superionic.cli.common import read_formula_csv
    from superionic.features.magpie import FEATURIZER_VERSION, featurize_formulas

    console = Console(stderr=True)
    table = read_formula_csv(input_csv, formula_column, "INPUT_CSV")
    formulas = table[formula_column].tolist()
    parts, errors = [], {}
    with Progress(
        TextColumn("featurising"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("featurize", total=len(formulas))
        for start in range(0, len(formulas), CHUNK):
            chunk = formulas[start : start + CHUNK]
            frame, failures = featurize_formulas(chunk)
            parts.append(frame)
            errors.update({start + i: reason for i, reason in failures.items()})
            progress.advance(task, len(chunk))
    features = pd.concat(parts, ignore_index=True) if parts else featurize_formulas([])[0]
    features.insert(0, formula_column, formulas)
    if keep_columns:
        others = table.drop(columns=[formula_column]).reset_index(drop=True)
        clash = [c for c in others.columns if c in features.columns or c == "error"]
        features = pd.concat([others.rename(columns={c: f"input {c}" for c in clash}), features], axis=1)
    features["error"] = [errors.get(i, "") for i in range(len(formulas))]
    output.parent.mkdir(parents=True, exist_ok=True)
    features.to_csv(output, index=False)
    console.print(
        f"wrote {output}: {len(formulas) - len(errors)} of {len(formulas)} rows featurised "
        f"({FEATURIZER_VERSION})"
        + (f"; {len(errors)} failed, see the 'error' column" if errors else "")
    )
