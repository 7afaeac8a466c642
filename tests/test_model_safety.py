"""Nothing read from a shared store runs code: planted surrogates and documents are refused.

Each payload is real: a pickle whose ``__reduce__`` creates a marker file, a skops file and a
job output that name a module whose import creates one. The tests plant them in an on-disk
montydb store, load through the project's own readers, and check the refusal *and* that the
marker never appears; each then shows the payload is live (the unsafe way creates it).
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import sys
import zipfile
import zlib
from pathlib import Path

import joblib
import numpy as np
import pytest
from monty.json import MontyDecoder

from superionic.ml import model_format
from superionic.ml.model_format import UnsafeModelError
from superionic.stores import open_stores


class Planted:
    """A payload object: unpickling it calls ``Path.touch(marker)``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


class Carrier:
    """A plain object for skops to write; its schema entry is then renamed to a foreign type."""


@pytest.fixture
def stores(tmp_path):
    project = open_stores(f"monty://{tmp_path / 'store'}")
    yield project
    project.close()


@pytest.fixture
def side_effect_module(tmp_path, monkeypatch):
    """(name, marker): a module on ``sys.path`` whose import creates ``marker``."""
    name, marker = "superionic_planted_module", tmp_path / "imported.marker"
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / f"{name}.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).touch()\nclass Boom:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    yield name, marker
    sys.modules.pop(name, None)


def _plant_model(stores, content: bytes, model_id: str = "planted") -> None:
    from superionic.ml.model_store import blob_key

    stores.data.update([{"blob_uuid": blob_key(model_id), "model_id": model_id,
                         "data": base64.b64encode(content).decode("ascii")}], key="blob_uuid")
    stores.models.update([{"model_id": model_id, "blob_uuid": blob_key(model_id),
                           "last_updated": "2030-01-01T00:00:00"}], key="model_id")


def test_a_planted_pickle_in_the_store_is_refused_and_runs_nothing(stores, tmp_path):
    from superionic.ml.model_store import load_surrogate

    marker = tmp_path / "pickle.marker"
    old_style = io.BytesIO()  # what superionic wrote before: a compressed joblib pickle
    joblib.dump({"format": 1, "models": Planted(marker)}, old_style, compress=3)
    _plant_model(stores, old_style.getvalue())
    with pytest.raises(UnsafeModelError, match="superionic train") as refused:
        load_surrogate(stores)
    assert "refused, not loaded" in str(refused.value) and "model planted" in str(refused.value)
    assert not marker.exists()
    # a plain pickle too (the store is the only place the bytes come from)
    _plant_model(stores, pickle.dumps(Planted(marker)))
    with pytest.raises(UnsafeModelError):
        load_surrogate(stores)
    assert not marker.exists()
    joblib.load(io.BytesIO(old_style.getvalue()))  # the payload is live: loading it the old way runs it
    assert marker.exists()


def test_a_planted_skops_file_naming_a_foreign_type_is_refused_before_import(stores, side_effect_module):
    from superionic.ml.model_store import load_surrogate

    name, marker = side_effect_module
    content = zlib.decompress(model_format.dumps({"format": 2, "models": {"gb": [Carrier()]}}))
    buffer = io.BytesIO()  # rename the test's class to the side-effect module's Boom
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(buffer, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "schema.json":
                data = json.dumps(json.loads(data)).replace(f'"{__name__}"', f'"{name}"').replace(
                    '"Carrier"', '"Boom"').encode()
            dst.writestr(info, data)
    assert f'"{name}"' in zipfile.ZipFile(buffer).read("schema.json").decode()
    _plant_model(stores, zlib.compress(buffer.getvalue()))
    with pytest.raises(UnsafeModelError, match=f"does not trust.*{name}.Boom"):
        load_surrogate(stores)
    assert not marker.exists() and name not in sys.modules


def test_a_surrogate_that_inflates_beyond_the_limit_is_refused(monkeypatch):
    content = model_format.dumps({"format": 2, "x": np.zeros(10_000)})
    assert model_format.loads(content, "a small one")["x"].shape == (10_000,)
    monkeypatch.setattr(model_format, "MAX_BYTES", 50_000)
    with pytest.raises(UnsafeModelError, match="inflates beyond"):
        model_format.loads(content, "a big one")


def test_every_algorithm_calibrator_and_domain_round_trip_with_the_trusted_types():
    """TRUSTED_TYPES is complete: the nine pipelines, each calibrator and the domain load back
    through the code-free format and predict exactly as before."""
    from superionic.ml.algorithms import ALGORITHMS
    from superionic.ml.calibration import CALIBRATION_METHODS, Calibrator, DomainModel

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = X[:, 0] + 0.3 * rng.normal(size=60) > 0
    X[3, 1] = np.nan
    prob = rng.uniform(size=(2, 60))
    payload = {"models": {name: [spec.pipeline(0).fit(X, y)] for name, spec in ALGORITHMS.items()},
               "calibrators": {m: Calibrator.fit(prob, y, m) for m in CALIBRATION_METHODS},
               "domain": DomainModel.fit(X)}
    loaded = model_format.loads(model_format.dumps(payload), "test payload")
    for name, [model] in payload["models"].items():
        assert np.array_equal(loaded["models"][name][0].predict(X), model.predict(X)), name
    grid = np.linspace(0, 1, 11)
    for method, calibrator in payload["calibrators"].items():
        assert np.array_equal(loaded["calibrators"][method](grid), calibrator(grid)), method
    assert np.array_equal(loaded["domain"].distance(X), payload["domain"].distance(X))


def _plant_job(stores, prediction: dict) -> None:
    stores.jobs.update([{"uuid": "planted-job", "index": 1, "completed_at": "2030-01-01T00:00:00",
                         "output": {"output_kind": "classification", "model_id": "m",
                                    "prediction_docs": [prediction]}}], key="uuid")


@pytest.mark.parametrize("foreign", [
    {"@module": "SIDE_EFFECT", "@class": "Boom"},
    {"@module": "subprocess", "@class": "Popen", "args": ["touch", "MARKER"]},
    {"@module": "os", "@callable": "system"},
])
def test_a_job_output_naming_a_foreign_module_is_refused_by_the_documents_builder(
        stores, side_effect_module, foreign):
    from superionic.builders import build

    name, marker = side_effect_module
    foreign = json.loads(json.dumps(foreign).replace("SIDE_EFFECT", name).replace("MARKER", str(marker)))
    _plant_job(stores, {"material_id": "mp-1", "nested": [{"x": foreign}]})
    [report] = build(stores, "documents")
    assert set(report.failures) == {"planted-job"}
    assert "refused, not decoded" in report.failures["planted-job"]
    assert stores.predictions.count() == 0
    assert not marker.exists() and name not in sys.modules
    if foreign["@module"] == name:  # the payload is live: monty's decoder imports the module
        MontyDecoder().process_decoded(foreign)
        assert marker.exists()


def test_the_projects_own_documents_still_decode():
    from pymatgen.core import Lattice, Structure

    from superionic.safe_json import allowed, decode

    structure = Structure(Lattice.cubic(4.2), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    doc = {"structure": structure.as_dict(), "when": {"@module": "datetime", "@class": "datetime",
                                                      "string": "2024-01-01 00:00:00"}}
    assert decode(doc)["structure"] == structure
    assert allowed("pymatgen.core.structure") and not allowed("pymatgenx") and not allowed(None)
