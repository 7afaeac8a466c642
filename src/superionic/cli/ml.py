"""``superionic train`` and ``superionic predict``: the classifier study and the surrogate."""

from __future__ import annotations

from pathlib import Path

import typer

TRAIN_HELP = (
    "Run the classifier study, print its table, save the GB + LightGBM surrogate.\n\n"
    "Every default is the --recipe's classifier section (quick: what `superionic run` trains, on "
    "the merged Li set); with those defaults `superionic run` of the recipe reuses the surrogate. "
    "Hyper-parameters are tuned inside every split (nested: --n-iter draws scored by an inner "
    "CV on that split's training rows only). Cost with --n-iter 6 and all nine algorithms: about "
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
    recipe: str = typer.Option(
        "quick", "--recipe", "-r",
        help="Recipe whose classifier section gives every default below (quick: what `superionic run` trains; "
        "seed; or a YAML file). With its defaults, `superionic run` of that recipe reuses the surrogate.",
    ),
    splits: int = typer.Option(None, "--splits", "-n", min=1, help="Random 80/20 splits (seeds 0..N-1)."),
    algorithms: list[str] = typer.Option(
        None, "--algorithms", "-a",
        help="Algorithms to study (repeat or comma-separate): gnb lr dt sgd knn rf gb lgbm xgb; gb and lgbm "
        "make the surrogate.",
    ),
    protocol: str = typer.Option(
        None, "--protocol", "-p",
        help="random (the seed's), grouped (near-identical compositions kept together), "
        "family (leave one family out), both (random + grouped) or all.",
    ),
    grouped_splits: int = typer.Option(None, "--grouped-splits", min=1, help="Grouped splits (default: --splits)."),
    n_iter: int = typer.Option(None, "--n-iter", min=0, help="Search draws per split (0: library defaults)."),
    inner_folds: int = typer.Option(3, "--inner-folds", min=2, help="Inner CV folds of the search."),
    inner_cv: str = typer.Option(
        None, "--inner-cv",
        help="stratified (the seed's) or grouped (composition clusters: parameters chosen for unseen chemistry).",
    ),
    calibration_repeats: int = typer.Option(
        None, "--calibration-repeats", min=1, help="Repeats of the grouped 5-fold out-of-fold predictions for calibration."
    ),
    calibration_method: str = typer.Option(
        None, "--calibration-method",
        help="isotonic (the seed's), bagged-isotonic, interpolated-isotonic or sigmoid (README, 'Calibration').",
    ),
    sources: list[str] = typer.Option(None, "--source", help="Training sources (repeatable)."),
    unmerged: bool = typer.Option(False, "--unmerged", help="Keep duplicated compositions (seed's 328 rows)."),
    mobile_ion: str = typer.Option(
        None, "--mobile-ion", help="Keep only training compositions with this element (Li), or 'all' rows."
    ),
    descriptors: str = typer.Option(
        None, "--descriptors", help="magpie (the 145 Magpie descriptors, the seed's), chemistry (23 compact "
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
    from superionic.jobs.classification import recipe_fingerprint, train_surrogate
    from superionic.ml.algorithms import ENSEMBLE_ALGORITHMS
    from superionic.ml.documents import tuning_description
    from superionic.ml.study import StudyConfig
    from superionic.ml.surrogate import MODEL_SUFFIX, mark_latest, models_dir

    console = _console()
    if protocol is not None and protocol not in PROTOCOL_SETS:
        raise typer.BadParameter(f"choose one of {', '.join(PROTOCOL_SETS)}", param_hint="--protocol")
    classifier = _classifier_recipe(recipe, {
        "n_splits": splits, "algorithms": _split_names(algorithms) or None, "n_iter": n_iter,
        "protocols": list(PROTOCOL_SETS[protocol]) if protocol else None, "inner_cv": inner_cv,
        "calibration_repeats": calibration_repeats, "calibration_method": calibration_method,
        "training_sources": _split_names(sources) or None, "descriptors": descriptors,
        "mobile_ion": None if mobile_ion in (None, "all") else mobile_ion,
    }, keep_mobile_ion=mobile_ion is None)
    try:
        data, fingerprint = recipe_fingerprint(classifier, merge_duplicates=not unmerged)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if inner_folds != StudyConfig.inner_folds:
        fingerprint = None  # no recipe makes this surrogate: `superionic run` will not reuse it
    console.print(
        f"training set: {len(data.y)} compositions ({int(data.y.sum())} superionic) from "
        f"{', '.join(data.sources)}; {len(data.skipped)} rows skipped; {data.X.shape[1]} {classifier.descriptors} "
        f"descriptors (recipe {recipe!r}'s classifier{' with your options' if _changed(classifier, recipe) else ''})"
    )
    other = {row: why for row, why in data.skipped.items() if not why.startswith(f"no {classifier.mobile_ion} in")}
    if len(other) < len(data.skipped):
        console.print(f"  {len(data.skipped) - len(other)} compositions without {classifier.mobile_ion} left out "
                      "(--mobile-ion)")
    for row, reason in list(other.items())[:10]:
        console.print(f"  skipped {row}: {reason}")
    from superionic.cli.common import open_project_stores

    stores = None if no_store else open_project_stores(store)  # fail before, not after, the study
    outcome = train_surrogate(classifier, data, fingerprint, n_grouped_splits=grouped_splits,
                              inner_folds=inner_folds, n_jobs=jobs)
    config = StudyConfig(algorithms=classifier.algorithms, n_iter=classifier.n_iter, inner_folds=inner_folds,
                         inner_grouped=classifier.inner_cv == "grouped")
    _print_table(console, outcome.study_table,
                 f"Validation metrics over splits; hyper-parameters: {tuning_description(config)}")
    console.print(f"wall time {outcome.wall_seconds:.0f} s with {outcome.n_jobs} worker process(es)")
    surrogate = outcome.surrogate
    _print_calibration(console, outcome.calibration, surrogate)
    _print_sanity(console, surrogate, data)
    console.print(f"surrogate {surrogate.doc.model_id} ({surrogate.n_splits} splits x {' + '.join(ENSEMBLE_ALGORITHMS)}); "
                  + (f"recipe fingerprint {fingerprint}: `superionic run --recipe {recipe}` reuses it"
                     if fingerprint and not _changed(classifier, recipe) else
                     f"recipe fingerprint {fingerprint}" if fingerprint else
                     "no recipe fingerprint (--inner-folds): no recipe run reuses it"))
    if model_dir or stores is None:  # a local file only where asked for or where there is no store
        directory = models_dir(model_dir)
        path = surrogate.save(directory / f"{surrogate.doc.model_id}{MODEL_SUFFIX}")
        mark_latest(directory, path)
        console.print(f"saved surrogate {surrogate.doc.model_id} to {path}")
    if stores is not None:
        from superionic.jobs.classification import classification_output, hand_to_documents_builder

        try:
            hand_to_documents_builder(stores, classification_output(surrogate, False, outcome.studies))
        finally:
            stores.close()
        console.print(f"wrote {len(outcome.studies)} StudyDoc(s) and surrogate {surrogate.doc.model_id} "
                      f"(ModelDoc + binary in the data store) to {stores.safe_spec}")


def _classifier_recipe(recipe: str, changes: dict, keep_mobile_ion: bool):
    """The classifier section of ``recipe`` with the given options laid over it."""
    from superionic.recipes import ClassifierRecipe, RecipeError, load_recipe

    try:
        base = load_recipe(recipe).classifier
    except RecipeError as exc:
        raise typer.BadParameter(str(exc), param_hint="--recipe") from exc
    given = {k: v for k, v in changes.items() if v is not None or (k == "mobile_ion" and not keep_mobile_ion)}
    try:
        return ClassifierRecipe.model_validate({**base.model_dump(), **given})
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _changed(classifier, recipe: str) -> bool:
    """Whether ``classifier`` differs from ``recipe``'s own classifier section."""
    from superionic.recipes import load_recipe

    return classifier != load_recipe(recipe).classifier


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
