"""One writer per collection, one surrogate identity.

``superionic train`` then ``superionic run`` on one store: the run reuses the trained surrogate
(both key it by the recipe fingerprint). ``superionic predict`` and the predictions builder
leave identical documents (predict runs that builder). Real stores (montydb), real training
(a tiny study), the real CLI.
"""

from __future__ import annotations

import re

import pytest
import yaml
from typer.testing import CliRunner

from superionic.cli import app
from superionic.recipes import load_recipe
from superionic.stores import open_stores

runner = CliRunner()
SURVIVORS = {"mp-1": "Li10GeP2S12", "mp-2": "Li3PO4", "mp-3": "LiHe", "mp-4": "Li2O"}


@pytest.fixture(scope="module")
def tiny_recipe(tmp_path_factory):
    """The quick recipe with a 2-split study and no MD candidates, as a YAML file."""
    recipe = load_recipe("quick").model_dump(mode="json")
    recipe["name"] = "tiny"
    recipe["classifier"].update(n_splits=2, calibration_repeats=1)
    recipe["candidates"].update(top_n=0)
    recipe["structure"].update(enabled=False)  # minutes of CPU on 440 survivors; tested in test_structure_stage.py
    path = tmp_path_factory.mktemp("recipe") / "tiny.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_recipe):
    """``superionic train --recipe tiny.yaml`` into a montydb store: (spec, model id, output)."""
    spec = f"monty://{tmp_path_factory.mktemp('one_writer') / 'store'}"
    result = runner.invoke(app, ["train", "--recipe", str(tiny_recipe), "--store", spec])
    assert result.exit_code == 0, result.output
    model_id = re.search(r"surrogate (gb-lgbm-\S+) \(", result.output)[1]
    return spec, model_id, result.output


def test_train_then_run_reuses_the_trained_surrogate(trained, tiny_recipe, tmp_path):
    spec, model_id, output = trained
    assert f"`superionic run --recipe {tiny_recipe}` reuses it" in " ".join(output.split())
    stores = open_stores(spec)  # the documents builder wrote the ModelDoc (the models' one writer)
    assert stores.models.query_one({"model_id": model_id})["recipe_fingerprint"]
    stores.close()
    result = runner.invoke(app, ["run", "--recipe", str(tiny_recipe), "--store", spec,
                                 "--report-dir", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert f"Classifier: reused the stored surrogate {model_id}" in " ".join(result.output.split())


def _predictions(spec: str) -> list[dict]:
    stores = open_stores(spec)
    try:
        return sorted(({k: v for k, v in d.items() if k not in ("_id", "last_updated")}
                       for d in stores.predictions.query()), key=lambda d: d["prediction_id"])
    finally:
        stores.close()


def test_predict_and_the_predictions_builder_leave_identical_documents(trained, tmp_path):
    from superionic.builders import run_builders
    from superionic.ml.model_store import load_surrogate, save_surrogate

    spec, model_id, _ = trained
    trained_stores = open_stores(spec)
    surrogate = load_surrogate(trained_stores, model_id=model_id)
    trained_stores.close()
    specs = [f"monty://{tmp_path / name}" for name in ("by-predict", "by-builder")]
    for each in specs:  # the same inputs: the surrogate, four materials and their screening
        stores = open_stores(each)
        save_surrogate(stores, surrogate)
        stores.materials.update([{"material_id": i, "formula": f} for i, f in SURVIVORS.items()], key="material_id")
        stores.screening.update([{"material_id": i, "formula": f, "passed": i != "mp-4"}
                                 for i, f in SURVIVORS.items()], key="material_id")
        stores.close()
    result = runner.invoke(app, ["predict", "--store", specs[0]])
    assert result.exit_code == 0, result.output
    assert "2 of 3 candidates classified" in result.output
    stores = open_stores(specs[1])
    run_builders(stores, ["features", "predictions"], strict=False)
    stores.close()
    by_predict, by_builder = map(_predictions, specs)
    assert [d["material_id"] for d in by_predict] == ["mp-1", "mp-2", "mp-3"]
    assert by_predict[0]["votes_gb"] is not None and by_predict[2]["skip_reason"]
    assert by_predict == by_builder
