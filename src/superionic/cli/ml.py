"""``superionic train`` and ``superionic predict``: the classifier study and the surrogate."""

from __future__ import annotations

from pathlib import Path

import typer

TRAIN_HELP = (
    "Run the classifier study, print its table, save the GB + LightGBM surrogate.\n\n"
    "Hyper-parameters are tuned inside every split (nested: --n-iter draws scored by an inner "
    "CV on that split's training rows only). Cost with the defaults, all nine algorithms: about "
    "14 CPU-seconds per random split and 11 per grouped split (measured with "
    "benchmarks/classifier_study.py), roughly 20 minutes for 100 + 100 splits with --jobs 2 on "
    "two idle cores. --n-iter 0 (library defaults) is about 15 times cheaper."
)

def register(app: typer.Typer) -> None:
    """Add the ML commands to the ``superionic`` app."""
    app.command("train", help=TRAIN_HELP)(train)
    app.command("predict")(predict)


def _split_names(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


PROTOCOL_SETS = {
    "random": ("random",),
    "grouped": ("grouped",),
    "family": ("family",),
    "both": ("random", "grouped"),
    "all": ("random", "grouped", "family"),
}


def _console():
    import sys

    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 150)


def _print_table(console, summary, title: str) -> None:
    from rich.table import Table

    from superionic.ml.algorithms import ALGORITHMS

    seed = {"gb": 0.843, "lgbm": 0.829}
    table = Table(title=title)
    for name in ("protocol", "algorithm", "splits", "ACC", "ACC_max", "ACC_min", "STD", "F1",
                 "ROC-AUC", "pooled ACC", "seed ACC"):
        table.add_column(name, justify="left" if name in ("protocol", "algorithm") else "right")
    for row in summary.itertuples():
        label = ALGORITHMS[row.algorithm].label if row.algorithm in ALGORITHMS else row.algorithm
        seed_acc = seed.get(row.algorithm) if row.protocol == "random" else None
        table.add_row(
            row.protocol, label, str(int(row.n_splits)),
            *(f"{v:.3f}" for v in (row.acc_mean, row.acc_max, row.acc_min, row.acc_std,
                                   row.f1_mean, row.roc_auc_mean, row.acc_pooled)),
            f"{seed_acc:.3f}" if seed_acc else "-",
        )
    console.print(table)


def train(
    splits: int = typer.Option(100, "--splits", "-n", min=1, help="Random 80/20 splits (seeds 0..N-1)."),
    algorithms: list[str] = typer.Option(
        None, "--algorithms", "-a",
        help="Algorithms to study (repeat or comma-separate): gnb lr dt sgd knn rf gb lgbm xgb. "
        "Default: all nine.",
    ),
    protocol: str = typer.Option(
        "both", "--protocol", "-p",
        help="random (the seed's), grouped (near-identical compositions kept together), "
        "family (leave one family out), both (random + grouped) or all.",
    ),
    grouped_splits: int = typer.Option(None, "--grouped-splits", min=1, help="Grouped splits (default: --splits)."),
    n_iter: int = typer.Option(6, "--n-iter", min=0, help="Search draws per split (0: library defaults)."),
    inner_folds: int = typer.Option(3, "--inner-folds", min=2, help="Inner CV folds of the search."),
    inner_cv: str = typer.Option(
        "stratified", "--inner-cv",
        help="stratified (the seed's) or grouped (composition clusters: parameters chosen for unseen chemistry).",
    ),
    calibration_repeats: int = typer.Option(
        3, "--calibration-repeats", min=1, help="Repeats of the grouped 5-fold out-of-fold predictions for calibration."
    ),
    calibration_method: str = typer.Option(
        "isotonic", "--calibration-method",
        help="isotonic (the seed's), bagged-isotonic, interpolated-isotonic or sigmoid (README, 'Calibration').",
    ),
    sources: list[str] = typer.Option(["kang2023"], "--source", help="Training sources (repeatable)."),
    unmerged: bool = typer.Option(False, "--unmerged", help="Keep duplicated compositions (seed's 328 rows)."),
    mobile_ion: str = typer.Option(
        None, "--mobile-ion", help="Keep only training compositions with this element (Li); default: all rows."
    ),
    descriptors: str = typer.Option(
        "magpie", "--descriptors", help="magpie (the 145 Magpie descriptors, the seed's), chemistry (23 compact "
        "Li/anion/framework-cation descriptors) or magpie+chemistry."
    ),
    jobs: int = typer.Option(None, "--jobs", "-j", help="Worker processes (default: settings n_jobs)."),
    model_dir: Path = typer.Option(
        None, "--model-dir", help="Also save the surrogate to a file here (with --no-store: default "
        "DATA_DIR/models); otherwise it goes to the store only.",
    ),
    store: str = typer.Option(None, "--store", help="Store spec for StudyDoc/ModelDoc (default: settings)."),
    no_store: bool = typer.Option(False, "--no-store", help="Do not write documents to a store."),
) -> None:
    """Run the classifier study, print its table, save the GB + LightGBM surrogate."""
    from superionic.ml.algorithms import ENSEMBLE_ALGORITHMS, resolve_algorithms
    from superionic.ml.dataset import training_matrix
    from superionic.ml.documents import study_documents, tuning_description
    from superionic.ml.model_store import save_surrogate
    from superionic.ml.study import StudyConfig, count_fits, run_study
    from superionic.ml.surrogate import Surrogate, mark_latest, models_dir
    from superionic.progress import progress_bar
    from superionic.settings import get_settings

    console = _console()
    if protocol not in PROTOCOL_SETS:
        raise typer.BadParameter(f"choose one of {', '.join(PROTOCOL_SETS)}", param_hint="--protocol")
    if inner_cv not in ("stratified", "grouped"):
        raise typer.BadParameter("choose stratified or grouped", param_hint="--inner-cv")
    from superionic.ml.calibration import CALIBRATION_METHODS

    if calibration_method not in CALIBRATION_METHODS:
        raise typer.BadParameter(f"choose one of {', '.join(CALIBRATION_METHODS)}", param_hint="--calibration-method")
    try:
        specs = resolve_algorithms(_split_names(algorithms))
        data = training_matrix(sources=_split_names(sources), merge_duplicates=not unmerged,
                               mobile_ion=mobile_ion, descriptors=descriptors)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    console.print(
        f"training set: {len(data.y)} compositions ({int(data.y.sum())} superionic) from "
        f"{', '.join(data.sources)}; {len(data.skipped)} rows skipped; {data.X.shape[1]} {descriptors} descriptors"
    )
    other = {row: reason for row, reason in data.skipped.items() if not reason.startswith(f"no {mobile_ion} in")}
    if len(other) < len(data.skipped):
        console.print(f"  {len(data.skipped) - len(other)} compositions without {mobile_ion} left out (--mobile-ion)")
    for row, reason in list(other.items())[:10]:
        console.print(f"  skipped {row}: {reason}")
    from superionic.cli.common import open_project_stores

    stores = None if no_store else open_project_stores(store)  # fail before, not after, the study
    names = [s.name for s in specs]
    config = StudyConfig(
        algorithms=names, protocols=PROTOCOL_SETS[protocol], n_splits=splits,
        n_grouped_splits=grouped_splits, n_iter=n_iter, inner_folds=inner_folds,
        inner_grouped=inner_cv == "grouped", n_jobs=jobs or get_settings().n_jobs,
    )
    total = count_fits(config, data.families)
    with progress_bar("study (algorithm x split)", total) as advance:
        study = run_study(data.X, data.y, config, families=data.families, groups=data.clusters(),
                          progress=lambda done, total, result: advance())
    _print_table(console, study.summary(),
                 f"Validation metrics over splits; hyper-parameters: {tuning_description(config)}")
    console.print(f"wall time {study.wall_seconds:.0f} s with {config.n_jobs} worker process(es)")

    docs = [d.to_store() for d in study_documents(study, data)]
    surrogate = None
    if "random" in config.protocols and all(a in names for a in ENSEMBLE_ALGORITHMS):
        # a local file only where asked for (--model-dir) or where there is no store
        directory = models_dir(model_dir) if (model_dir or stores is None) else None
        surrogate = Surrogate.from_study(study, data, directory)
        _print_calibration(console, surrogate.calibrate(data, n_repeats=calibration_repeats, method=calibration_method), surrogate)
        _print_sanity(console, surrogate, data)
        if directory is not None:
            path = surrogate.save()
            mark_latest(directory, path)
            console.print(f"saved surrogate {surrogate.doc.model_id} ({surrogate.n_splits} splits x GB + LightGBM) "
                          f"to {path}")
    else:
        console.print("[yellow]no surrogate saved: it needs gb and lgbm under the random protocol[/]")
    if stores is not None:
        try:
            stores.models.update(docs, key="study_id")
            if surrogate is not None:
                save_surrogate(stores, surrogate)
        finally:
            stores.close()
        console.print(f"wrote {len(docs)} StudyDoc(s)"
                      + (f" and surrogate {surrogate.doc.model_id} (ModelDoc + binary in the data store)"
                         if surrogate else "") + f" to {stores.safe_spec}")


def _print_calibration(console, report, surrogate) -> None:
    from superionic.ml.calibration import ece_noise_text

    console.print(
        f"calibration ({report.protocol}): ECE {report.ece_raw:.3f} raw -> {report.ece_calibrated:.3f} "
        f"calibrated; ROC-AUC {report.roc_auc:.3f}, balanced accuracy {report.balanced_accuracy:.3f} "
        f"on {report.n_rows} grouped out-of-fold rows"
    )
    if noise := ece_noise_text(report.as_dict()):
        console.print(f"  ({noise})")
    console.print(f"applicability domain: {surrogate.domain.describe()}")


def _print_sanity(console, surrogate, data) -> None:
    from rich.table import Table

    from superionic.ml.sanity import panel_checks, record_panel

    panel = record_panel(surrogate, data)
    table = Table(title="Sanity panel: well-known poor and fast Li conductors (* = in the training data)")
    for name in ("compound", "known", "calibrated p", "verdict", "seed rule", "domain (distance)"):
        table.add_column(name, justify="right" if name == "calibrated p" else "left")
    for r in panel.itertuples():
        p = r.prob_calibrated if r.prob_calibrated is not None else r.prob_mean
        table.add_row(f"{r.name}{' *' if r.in_training else ''}", r.known, f"{p:.2f}", r.verdict or "-",
                      r.seed_rule or "-", f"{'in' if r.in_domain else 'OUT'} ({r.domain_distance:.1f})")
    console.print(table)
    checks = panel_checks(panel)
    console.print(
        f"fast above every poor: {'yes' if checks['fast_above_poor'] else 'NO'} "
        f"(lowest fast {checks['lowest_fast']:.2f}, highest poor {checks['highest_poor']:.2f})"
    )


def _load_surrogate(model: str | None, model_dir: Path | None, store: str | None):
    """--model (a .skops file or a model id in the store), --model-dir (its latest.txt), else
    the latest surrogate in the store."""
    from superionic.ml.model_store import ModelNotFoundError, load_surrogate
    from superionic.ml.surrogate import (
        ModelMismatchError,
        Surrogate,
        is_surrogate_file,
        latest_surrogate_path,
        models_dir,
    )

    try:
        if model is not None and is_surrogate_file(model):
            return Surrogate.load(model)
        if model is None and model_dir is not None:
            directory = models_dir(model_dir)
            path = latest_surrogate_path(directory)
            if path is None:
                raise ModelNotFoundError(f"no trained surrogate in {directory}; run `superionic train` first "
                                         "or give --model")
            return Surrogate.load(path)
        from superionic.cli.common import open_project_stores

        stores = open_project_stores(store)
        try:
            return load_surrogate(stores, model_id=model)
        finally:
            stores.close()
    except (FileNotFoundError, ModelMismatchError, ModelNotFoundError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--model") from exc


def predict(
    formulas: Path = typer.Option(
        None, "--formulas", "-f", exists=True, dir_okay=False,
        help="CSV with a 'formula' column: classify these compositions instead of the store's.",
    ),
    output: Path = typer.Option(None, "--output", "-o", help="CSV to write (with --formulas)."),
    formula_column: str = typer.Option("formula", "--formula-column", help="Column holding the formulas."),
    model: str = typer.Option(
        None, "--model", "-m", help="A model id in the store, or a saved surrogate (.skops); default: the "
        "store's latest.",
    ),
    model_dir: Path = typer.Option(None, "--model-dir", help="Use the latest surrogate saved in this folder "
                                   "(`train --model-dir`) instead of the store's."),
    store: str = typer.Option(None, "--store", help="Store spec (default: settings)."),
) -> None:
    """Classify the screened candidates in the store, or the compositions of a CSV file."""
    from superionic.cli.common import read_formula_csv
    from superionic.ml.predict import predict_formulas, predict_screened, predictions_frame

    console = _console()
    surrogate = _load_surrogate(model, model_dir, store)
    if formulas is None:
        if output is not None:
            raise typer.BadParameter("--output needs --formulas (store predictions go to the store)")
        from superionic.cli.common import open_project_stores

        stores = open_project_stores(store)
        try:
            report = predict_screened(stores, surrogate)
        finally:
            stores.close()
        if report.n_candidates == 0:
            console.print("[yellow]no screened candidates (passed: True) in the store; run `superionic screen` first[/]")
            raise typer.Exit(1)
        console.print(
            f"{report.n_predicted} of {report.n_candidates} candidates classified with "
            f"{surrogate.doc.model_id}: {report.n_seed_positive} superionic in all "
            f"{surrogate.n_splits} splits of both models; {len(report.skipped)} skipped"
        )
        for mid, reason in list(report.skipped.items())[:10]:
            console.print(f"  skipped {mid}: {reason}")
        return
    if output is None:
        raise typer.BadParameter("give -o OUT.csv with --formulas", param_hint="--output")
    table = read_formula_csv(formulas, formula_column, "--formulas")
    ids = table["material_id"].tolist() if "material_id" in table.columns else None
    docs = predict_formulas(table[formula_column].tolist(), surrogate, material_ids=ids)
    frame = predictions_frame(docs)
    output.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(output, index=False)
    n_bad = int(frame.skip_reason.notna().sum())
    n_likely = int((frame.prob_calibrated >= 0.5).sum()) if frame.prob_calibrated.notna().any() else None
    console.print(
        f"wrote {output}: {len(frame) - n_bad} of {len(frame)} rows classified"
        + (f", {n_likely} likely superionic (calibrated p >= 0.5)" if n_likely is not None else "")
        + f", {int(frame.seed_verdict.sum())} superionic by the seed rule (all votes), "
        f"{int((frame.in_domain == False).sum())} out of domain"  # noqa: E712
        + (f"; {n_bad} not featurised (see skip_reason)" if n_bad else "")
    )
