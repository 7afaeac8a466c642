"""Surrogates in the project store; predictions keyed by (material, model).

A tiny recipe (2 random splits, library defaults, one calibration repeat) trains through the
workflow's own step (``ensure_surrogate``, what ``superionic run`` calls); ``superionic predict``
then works with no ``--model`` from the same data directory and from a fresh one pointed at
the same montydb store (a second machine, as far as one machine can show it).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from superionic.cli import app
from superionic.recipes import ClassifierRecipe

runner = CliRunner()
TINY = dict(n_splits=2, n_iter=0, calibration_repeats=1)


def _text(output: str) -> str:
    return re.sub(r"[\s│╭╮╰╯─]+", " ", output)


def _use_data_dir(monkeypatch, path, store: str) -> None:
    from superionic.settings import get_settings

    monkeypatch.setenv("SUPERIONIC_DATA_DIR", str(path))
    monkeypatch.setenv("SUPERIONIC_STORE", store)
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A store holding the surrogate of the tiny recipe, trained from data directory A."""
    from superionic.jobs.classification import ensure_surrogate
    from superionic.settings import get_settings
    from superionic.stores import open_stores

    root = tmp_path_factory.mktemp("model_store")
    store = f"monty://{root / 'store'}"
    with pytest.MonkeyPatch.context() as mp:
        _use_data_dir(mp, root / "machine_a", store)
        stores = open_stores(store)
        try:
            outcome = ensure_surrogate(stores, ClassifierRecipe(**TINY), show_progress=False)
        finally:
            stores.close()
        get_settings.cache_clear()
    return root, store, outcome


def test_surrogate_lives_in_the_store_not_on_disk(trained):
    from superionic.stores import open_stores

    root, store, outcome = trained
    assert not outcome.reused
    assert not (root / "machine_a" / "models").exists()  # no local folder, no pointer files
    stores = open_stores(store)
    try:
        doc = stores.models.query_one({"model_id": outcome.surrogate.doc.model_id})
        blob = stores.data.query_one({"blob_uuid": doc["blob_uuid"]})
    finally:
        stores.close()
    assert doc["path"] is None and doc["recipe_fingerprint"] and doc["n_splits"] == 2
    assert blob["job_uuid"] and len(blob["data"]) > 1000  # the training's job output, written by the builder


def test_predict_after_run_and_from_a_fresh_data_dir(trained, tmp_path, monkeypatch):
    from superionic.jobs.classification import ensure_surrogate
    from superionic.stores import open_stores

    root, store, outcome = trained
    model_id = outcome.surrogate.doc.model_id
    source = tmp_path / "in.csv"
    pd.DataFrame({"formula": ["Li10GeP2S12", "Li3PO4", "LiHe"]}).to_csv(source, index=False)
    tables = {}
    for machine in ("machine_a", "machine_b"):  # B: a fresh data directory, same store
        _use_data_dir(monkeypatch, tmp_path / machine, store)
        out = tmp_path / f"{machine}.csv"
        result = runner.invoke(app, ["predict", "--formulas", str(source), "-o", str(out)])
        assert result.exit_code == 0, result.output
        tables[machine] = pd.read_csv(out)
        assert set(tables[machine].model_id) == {model_id}
    pd.testing.assert_frame_equal(tables["machine_a"], tables["machine_b"])
    assert tables["machine_b"].skip_reason.notna().tolist() == [False, False, True]
    # the same recipe on machine B reuses the stored surrogate instead of retraining
    stores = open_stores(store)
    try:
        again = ensure_surrogate(stores, ClassifierRecipe(**TINY), show_progress=False)
    finally:
        stores.close()
    assert again.reused and again.surrogate.doc.model_id == model_id
    # a named model, and a clear error for an unknown one or an empty store
    out = tmp_path / "named.csv"
    assert runner.invoke(app, ["predict", "-f", str(source), "-o", str(out), "--model", model_id]).exit_code == 0
    result = runner.invoke(app, ["predict", "-f", str(source), "-o", str(out), "--model", "no-such-model"])
    assert result.exit_code != 0 and "no surrogate 'no-such-model'" in _text(result.output)
    assert model_id in _text(result.output)
    result = runner.invoke(app, ["predict", "-f", str(source), "-o", str(out), "--store",
                                 f"monty://{tmp_path / 'empty'}"])
    assert result.exit_code != 0 and "superionic train" in _text(result.output)


def test_retraining_keeps_the_old_models_predictions(trained, tmp_path):
    """Two models classify the same survivors: both kept, the joined rows show the newer one."""
    from superionic.builders import run_builders
    from superionic.jobs.classification import ensure_surrogate
    from superionic.ml.predict import predict_screened
    from superionic.results import candidate_rows
    from superionic.stores import open_stores

    _, _, outcome = trained
    stores = open_stores(f"monty://{tmp_path / 'store'}")
    try:
        stores.screening.update([{"material_id": m, "formula": f, "passed": True} for m, f in
                                 [("mp-696138", "Li10GeP2S12"), ("mp-13725", "Li3PO4")]], key="material_id")
        from superionic.ml.model_store import save_surrogate

        old = outcome.surrogate
        save_surrogate(stores, old)
        predict_screened(stores, old)
        newer = ensure_surrogate(stores, ClassifierRecipe(**{**TINY, "n_splits": 3}), show_progress=False)
        new_id = newer.surrogate.doc.model_id
        assert not newer.reused and new_id != old.doc.model_id
        # the builder finds the newest surrogate through the store and adds its predictions
        assert run_builders(stores, ["features", "predictions"])["predictions"] == 2
        preds = list(stores.predictions.query())
        assert sorted((p["material_id"], p["model_id"]) for p in preds) == sorted(
            (m, i) for m in ("mp-13725", "mp-696138") for i in (old.doc.model_id, new_id))
        rows = candidate_rows(stores)
        assert {r["ml_model"] for r in rows} == {new_id}
        assert {r["n_splits"] for r in rows} == {3}
        from superionic.report.gather import gather

        report = gather(stores)
        assert {p.model_id for p in report.predictions} == {new_id} and len(report.predictions) == 2
        assert report.model.model_id == new_id
    finally:
        stores.close()
    # `superionic query --model` shows an older model's predictions, and names it
    result = runner.invoke(app, ["query", "--store", f"monty://{tmp_path / 'store'}", "--format", "csv",
                                 "--model", old.doc.model_id])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert len(table) == 2 and set(table.ml_model) == {old.doc.model_id} and set(table.n_splits) == {2}


def test_an_old_pickled_surrogate_is_retrained_over_never_loaded(trained, tmp_path):
    """A surrogate stored by an earlier version (a joblib pickle) under the recipe's fingerprint:
    ``superionic run``'s step refuses it unopened and trains a code-free one in its place."""
    import base64
    import shutil

    import joblib

    from superionic.jobs.classification import ensure_surrogate, recipe_fingerprint, surrogate_from_job_store
    from superionic.ml.model_store import load_surrogate
    from superionic.stores import open_stores

    class Planted:
        def __reduce__(self):
            return (Path.touch, (marker,))

    root, _, outcome = trained
    marker = tmp_path / "unpickled.marker"
    shutil.copytree(root / "store", tmp_path / "store")
    stores = open_stores(f"monty://{tmp_path / 'store'}")
    try:
        old = io.BytesIO()
        joblib.dump({"format": 1, "models": Planted()}, old, compress=3)
        # where superionic run looks: the classification job output's binary in the JobStore
        _, fingerprint = recipe_fingerprint(ClassifierRecipe(**TINY))
        job_store = stores.job_store()
        key = surrogate_from_job_store(job_store, fingerprint).doc.blob_uuid
        job_store.additional_stores["data"].update(
            [{"blob_uuid": key, "data": base64.b64encode(old.getvalue()).decode()}], key="blob_uuid")
        again = ensure_surrogate(stores, ClassifierRecipe(**TINY), show_progress=False)
        assert not again.reused and again.surrogate.doc.model_id == outcome.surrogate.doc.model_id
        assert load_surrogate(stores).doc.model_id == outcome.surrogate.doc.model_id  # code-free again
    finally:
        stores.close()
    assert not marker.exists()
