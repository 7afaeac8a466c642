"""The command line silences named third-party chatter only: this project's warnings reach stderr."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from superionic.cli import quiet_third_party_warnings


def _shown(category: type[Warning], module: str) -> bool:
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("always")
        quiet_third_party_warnings()
        warnings.warn_explicit("x", category, "file.py", 1, module=module)
    return bool(caught)


def test_only_the_named_third_party_warnings_are_silenced():
    assert not _shown(FutureWarning, "jobflow.managers.local")
    assert not _shown(UserWarning, "chgnet.model.model")
    assert _shown(UserWarning, "superionic.ml.model_store")
    assert _shown(FutureWarning, "superionic.cli.ml")
    assert _shown(UserWarning, "sklearn.base")  # not a blanket filter on a category
    assert _shown(UserWarning, "jobflowish")  # a package name, not a prefix of any name


def _tiny_surrogate_with_other_library_versions(path: Path) -> Path:
    from superionic.features.magpie import FEATURIZER_VERSION, MAGPIE_FEATURE_LABELS
    from superionic.ml.algorithms import ALGORITHMS
    from superionic.ml.surrogate import Surrogate, library_versions
    from superionic.schemas.ml import ModelDoc

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, len(MAGPIE_FEATURE_LABELS)))
    y = X[:, 0] > 0
    models = {a: [ALGORITHMS[a].pipeline(0).fit(X, y)] for a in ("gb", "lgbm")}
    doc = ModelDoc(model_id="tiny", algorithms=list(models), n_splits=1, split_seeds=[0],
                   hyperparameters={a: [{}] for a in models}, feature_names=MAGPIE_FEATURE_LABELS,
                   featurizer_version=FEATURIZER_VERSION, training_set_hash="0", training_sources=["test"],
                   n_training_rows=30, library_versions={**library_versions(), "scikit-learn": "0.1"})
    return Surrogate(models=models, doc=doc).save(path)


def test_the_projects_warning_reaches_stderr_from_the_cli(tmp_path):
    model = _tiny_surrogate_with_other_library_versions(tmp_path / "tiny.skops")
    pd.DataFrame({"formula": ["Li3PO4"]}).to_csv(tmp_path / "in.csv", index=False)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", "from superionic.cli import main; main()", "predict", "--model", str(model),
         "--formulas", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Surrogate tiny was saved with other library versions" in result.stderr
    assert "'scikit-learn': ('0.1'" in result.stderr
