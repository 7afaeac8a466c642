"""Magpie descriptors: equal to matminer's, bad input recorded, cached in a store, CLI."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from superionic.features import (
    FEATURIZER_VERSION,
    MAGPIE_FEATURE_LABELS,
    featurize_composition,
    featurize_formulas,
)
from superionic.features.element_data import element_tables
from superionic.ml.training_data import bundled_path

RTOL = 1e-6


def assert_close(ours: np.ndarray, reference: np.ndarray, labels=MAGPIE_FEATURE_LABELS, rows=None):
    """Relative agreement within RTOL (exact zeros must stay zero), same NaN pattern."""
    ours, reference = np.asarray(ours, float), np.asarray(reference, float)
    assert ours.shape == reference.shape
    bad = ~np.isclose(ours, reference, rtol=RTOL, atol=0) & ~(np.isnan(ours) & np.isnan(reference))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        who = rows[i] if rows is not None else i
        pytest.fail(
            f"{bad.sum()} values differ, first: row {who!r}, {labels[j]!r}: "
            f"ours {ours[i, j]!r} vs matminer {reference[i, j]!r}"
        )


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(bundled_path("kang2023_magpie_features_reference.csv"))


@pytest.fixture(scope="module")
def matminer_featurizer():
    from matminer.featurizers.base import MultipleFeaturizer
    from matminer.featurizers.composition import (
        ElementProperty,
        IonProperty,
        Stoichiometry,
        ValenceOrbital,
    )

    return MultipleFeaturizer(
        [
            ElementProperty.from_preset("magpie"),
            Stoichiometry(),
            IonProperty(fast=True),
            ValenceOrbital(props=["frac"]),
        ]
    )


def test_labels_are_matminers_in_the_reference_order(reference, matminer_featurizer):
    assert len(MAGPIE_FEATURE_LABELS) == 145
    assert list(reference.columns[10:]) == MAGPIE_FEATURE_LABELS
    assert matminer_featurizer.feature_labels() == MAGPIE_FEATURE_LABELS
    assert "matminer-" in FEATURIZER_VERSION


def test_all_328_x_145_reference_values(reference):
    frame, failures = featurize_formulas(reference["Formula"].tolist())
    assert failures == {}
    assert list(frame.columns) == MAGPIE_FEATURE_LABELS
    assert list(frame.index) == list(range(len(reference)))
    expected = reference[MAGPIE_FEATURE_LABELS].to_numpy(dtype=float)  # True/False -> 1/0
    assert expected.shape == (328, 145)
    assert_close(frame.to_numpy(), expected, rows=reference["Formula"].tolist())


def _random_formulas(n: int, seed: int) -> list[str]:
    tables = element_tables()
    pool = [s for z, s in enumerate(tables.symbols) if z and tables.supported[z]]
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        elements = rng.choice(pool, size=int(rng.integers(1, 10)), replace=False)
        if k % 2:  # MP-like integer amounts (ties in the mode are common)
            amounts = rng.integers(1, 5, size=len(elements)).astype(float)
        else:  # doped, fractional amounts
            amounts = np.round(rng.uniform(0.02, 6.0, size=len(elements)), 3)
        out.append("".join(f"{el}{a:g}" for el, a in zip(elements, amounts)))
    return out


def test_equal_to_matminer_on_random_compositions(matminer_featurizer):
    from pymatgen.core import Composition

    formulas = _random_formulas(50, seed=7) + ["Li", "Fe3O4", "LiNaKRbCsBeMgCaSr", "Li0.303La0.557TiO3"]
    frame, failures = featurize_formulas(formulas)
    assert failures == {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = np.array([matminer_featurizer.featurize(Composition(f)) for f in formulas], dtype=float)
    assert_close(frame.to_numpy(), expected, rows=formulas)


def test_compositions_with_oxidation_states_use_them(matminer_featurizer):
    from pymatgen.core import Composition, Species

    neutral = Composition({Species("Li", 1): 2, Species("O", -2): 1})
    charged = Composition({Species("Li", 1): 1, Species("O", -2): 1})
    ours = np.vstack([featurize_composition(c) for c in (neutral, charged)])
    expected = np.array([matminer_featurizer.featurize(c) for c in (neutral, charged)], dtype=float)
    assert_close(ours, expected)
    possible = MAGPIE_FEATURE_LABELS.index("compound possible")
    assert ours[:, possible].tolist() == [1.0, 0.0]


def test_matminer_quirks_by_hand():
    labels = {name: i for i, name in enumerate(MAGPIE_FEATURE_LABELS)}
    nacl = featurize_composition("NaCl")
    assert nacl[labels["MagpieData mode Number"]] == 11  # tie -> smallest value
    li2o = featurize_composition("Li2O")
    assert li2o[labels["MagpieData mean Number"]] == pytest.approx(14 / 3)
    assert li2o[labels["MagpieData avg_dev Number"]] == pytest.approx((2 * 5 / 3 + 10 / 3) / 3)
    assert li2o[labels["MagpieData mode Number"]] == 3  # Li has the largest amount
    assert li2o[labels["2-norm"]] == pytest.approx(math.sqrt(5) / 3)
    # IonProperty(fast=True): one oxidation state per element, so mixed-valence Fe3O4 "fails"
    assert featurize_composition("Fe3O4")[labels["compound possible"]] == 0.0
    assert featurize_composition("Fe2O3")[labels["compound possible"]] == 1.0
    single = featurize_composition("Li")
    assert single[labels["compound possible"]] == 1.0 and single[labels["max ionic char"]] == 0.0


def test_bad_rows_are_recorded_not_raised():
    formulas = ["Li2O", "Og", "Xx", "", None, float("nan"), "Li2O)", "LiHe", "Li3PS4", "   "]
    frame, failures = featurize_formulas(formulas)
    assert len(frame) == len(formulas)
    assert sorted(failures) == [1, 2, 3, 4, 5, 6, 7, 9]
    assert "Og" in failures[1] and "Magpie" in failures[1]
    assert "unknown element 'Xx'" in failures[2]
    assert failures[3] == failures[4] == failures[5] == failures[9] == "empty formula"
    assert "unparseable formula" in failures[6]
    assert "He lacks" in failures[7] and "Electronegativity" in failures[7]
    assert frame.loc[list(failures)].isna().all().all()
    assert frame.loc[[0, 8]].notna().all().all()
    np.testing.assert_array_equal(frame.loc[0].to_numpy(), featurize_composition("Li2O"))
    with pytest.raises(ValueError, match="Magpie"):
        featurize_composition("Og")
    empty, none_failed = featurize_formulas([])
    assert empty.shape == (0, 145) and none_failed == {}


def test_store_caches_by_composition_and_version(monkeypatch):
    from maggma.stores import MemoryStore

    import superionic.features.store as feature_store
    from superionic.features.store import featurize_into_store, load_features
    from superionic.schemas.features import FeatureDoc

    store = MemoryStore(collection_name="features", key="formula")
    store.connect()
    formulas = ["Li2O", "Li4O2", "Li3PS4", "Og", "LiCl"]
    first = featurize_into_store(formulas, store, material_ids=["mp-1", "mp-2", "mp-3", "mp-4", None])
    assert (first.n_computed, first.n_cached, first.n_failed) == (3, 0, 1)
    assert first.keys == ["Li2O", "Li2O", "Li3PS4", None, "LiCl"]
    assert store.count() == 3

    second = featurize_into_store(formulas, store)
    assert (second.n_computed, second.n_cached) == (0, 3)  # nothing recomputed
    assert store.count() == 3

    doc = FeatureDoc(**{k: v for k, v in store.query_one({"formula": "Li2O"}).items() if k != "_id"})
    assert doc.material_ids == ["mp-1", "mp-2"] and doc.featurizer_version == FEATURIZER_VERSION
    np.testing.assert_array_equal(doc.vector(), featurize_composition("Li2O"))

    frame, failures = load_features(["LiCl", "Og", "Li4O2"], store)
    assert list(failures) == [1]
    np.testing.assert_array_equal(frame.loc[2].to_numpy(), featurize_composition("Li2O"))

    monkeypatch.setattr(feature_store, "FEATURIZER_VERSION", "magpie145-test-new-version")
    third = featurize_into_store(["Li2O"], store)
    assert (third.n_computed, third.n_cached) == (1, 0)
    assert store.count() == 3  # upserted by formula, not duplicated


def test_cli_writes_descriptors_and_errors(tmp_path):
    import typer
    from typer.testing import CliRunner

    from superionic.cli.features import register

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test app."""

    register(app)
    source = tmp_path / "in.csv"
    table = pd.DataFrame({"formula": ["Li7La3Zr2O12", "Og", "", "LiCl"], "id": list("abcd")})
    table.to_csv(source, index=False)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["featurize", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out, keep_default_na=False)
    assert list(written.columns) == ["formula", *MAGPIE_FEATURE_LABELS, "error"]
    assert written["error"].tolist()[0] == "" and written["error"].tolist()[3] == ""
    assert "Og" in written["error"][1] and written["error"][2] == "empty formula"
    first = written.loc[0, MAGPIE_FEATURE_LABELS].to_numpy(float)
    np.testing.assert_allclose(first, featurize_composition("Li7La3Zr2O12"), rtol=1e-12)
    missing = CliRunner().invoke(app, ["featurize", str(source), "-o", str(out), "--formula-column", "comp"])
    assert missing.exit_code != 0 and "comp" in missing.output
