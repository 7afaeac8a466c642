"""``superionic train`` and ``superionic predict`` end to end (tiny study)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from superionic.cli import app

runner = CliRunner()


def _text(output: str) -> str:
    """CLI output with rich's error-box borders and line wrapping removed."""
    return re.sub(r"[\s│╭╮╰╯─]+", " ", output)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("ml_cli")
    store = f"monty://{root / 'store'}"
    result = runner.invoke(
        app,
        ["train", "--splits", "2", "-a", "gb,lgbm", "-a", "gnb", "--protocol", "both",
         "--n-iter", "0", "--model-dir", str(root / "models"), "--store", store],
    )
    assert result.exit_code == 0, result.output
    return root, store, result.output


def test_train_prints_the_table_and_saves_model_and_docs(trained):
    root, store, output = trained
    assert "Gradient boosting" in output and "grouped" in output
    assert (root / "models" / "latest.txt").is_file()
    from superionic.stores import open_stores

    stores = open_stores(store)
    studies = list(stores.models.query({"study_id": {"$exists": True}}))
    models = list(stores.models.query({"model_id": {"$exists": True}}))
    stores.close()
    assert len(studies) == 6  # 3 algorithms x 2 protocols
    for study in studies:  # the table prints the accuracies this study measured
        assert f"{study['summary']['acc_mean']:.3f}" in output and f"{study['summary']['acc_std']:.3f}" in output
    assert {(d["protocol"], d["algorithm"]) for d in studies} >= {("random", "gb"), ("grouped", "gnb")}
    assert len(models) == 1 and models[0]["n_splits"] == 2


def test_predict_formulas_csv(trained, tmp_path):
    root, _, _ = trained
    source = tmp_path / "in.csv"
    pd.DataFrame({"formula": ["Li10GeP2S12", "LiHe", "Li3PO4", ""]}).to_csv(source, index=False)
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["predict", "--formulas", str(source), "-o", str(out),
                                 "--model-dir", str(root / "models")])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert len(table) == 4 and list(table.formula.fillna("")) == ["Li10GeP2S12", "LiHe", "Li3PO4", ""]
    assert table.skip_reason.notna().tolist() == [False, True, False, True]
    assert table.loc[0, "votes_gb"] == 2 and bool(table.loc[0, "seed_verdict"])
    assert "2 of 4 rows classified" in result.output


def test_predict_from_store_and_clear_errors(trained, tmp_path):
    root, store, _ = trained
    from superionic.stores import open_stores

    stores = open_stores(store)  # what `superionic screen` leaves: the material and its screening
    stores.materials.update([{"material_id": "mp-696138", "formula": "Li10GeP2S12"}], key="material_id")
    stores.screening.update([{"material_id": "mp-696138", "formula": "Li10GeP2S12", "passed": True}],
                            key="material_id")
    stores.close()
    result = runner.invoke(app, ["predict", "--model-dir", str(root / "models"), "--store", store])
    assert result.exit_code == 0, result.output
    assert "1 of 1 candidates classified" in result.output
    # no model trained in an empty directory: a clear message, not a traceback
    result = runner.invoke(app, ["predict", "--model-dir", str(tmp_path / "none"), "--store", store])
    assert result.exit_code != 0 and "superionic train" in _text(result.output)
    bad = tmp_path / "bad.csv"
    bad.write_text("name\nLi3PO4\n")
    result = runner.invoke(app, ["predict", "--formulas", str(bad), "-o", str(tmp_path / "o.csv"),
                                 "--model-dir", str(root / "models")])
    assert result.exit_code != 0 and "no column 'formula'" in _text(result.output)
