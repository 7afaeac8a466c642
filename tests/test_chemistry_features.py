"""The compact chemistry descriptors (superionic.features.chemistry) and the descriptor-set registry."""

from __future__ import annotations

import numpy as np
import pytest

from superionic.features.chemistry import CHEMISTRY_FEATURE_LABELS, chemistry_features, featurize_chemistry
from superionic.features.descriptors import feature_labels, featurize, featurizer_version


def features(formula: str) -> dict[str, float]:
    return dict(zip(CHEMISTRY_FEATURE_LABELS, chemistry_features(formula)))


def test_argyrodite_by_hand():
    f = features("Li6PS5Cl")
    assert f["frac Li"] == pytest.approx(6 / 13) and f["frac S"] == pytest.approx(5 / 13)
    assert f["frac Cl"] == pytest.approx(1 / 13) and f["frac O"] == 0 and f["frac P"] == pytest.approx(1 / 13)
    assert f["frac anions"] == pytest.approx(6 / 13) and f["anion species"] == 2
    assert f["Li per anion"] == pytest.approx(1.0)
    assert f["anion mean electronegativity"] == pytest.approx((5 * 2.58 + 3.16) / 6)
    assert f["framework mean charge"] == pytest.approx(5.0)  # P5+ balances S2- x5 + Cl- after 6 Li+
    assert f["framework ionic radius std"] == 0  # one framework cation


def test_garnet_and_oxoanion_centres():
    llzo = features("Li7La3Zr2O12")
    assert llzo["framework mean charge"] == pytest.approx((24 - 7) / 5)  # La3+ x3, Zr4+ x2
    assert llzo["frac rare earths"] == pytest.approx(3 / 24) and llzo["framework ionic radius std"] > 0
    # S in a sulfate and Te in a tellurium-doped garnet are cations, not sulfide/telluride anions
    sulfate = features("Li2SO4")
    assert sulfate["frac S"] == 0 and sulfate["anion species"] == 1
    assert sulfate["framework mean charge"] == pytest.approx(6.0)
    te = features("Li6.5La3Zr1.75Te0.25O12")
    assert te["frac Se+Te"] == 0 and te["frac anions"] == pytest.approx(12 / 23.5)
    # ... while O in an oxysulfide stays an anion beside S
    oxysulfide = features("Li10GeP2S11.4O0.6")
    assert oxysulfide["anion species"] == 2 and oxysulfide["frac S"] > 0 and oxysulfide["frac O"] > 0


def test_heavier_halide_is_more_polarisable_and_binaries_have_no_framework():
    chloride, iodide = features("Li3YCl6"), features("Li3YBr6")
    assert iodide["anion mean ionic radius"] > chloride["anion mean ionic radius"]
    assert iodide["anion mean electronegativity"] < chloride["anion mean electronegativity"]
    lif = features("LiF")
    assert lif["Li per anion"] == 1 and np.isnan(lif["framework mean charge"])
    assert np.isnan(features("LiBH4")["Li per anion"])  # no anion of the list: BH4- is not one


def test_bad_rows_are_recorded_and_sets_are_named():
    frame, failures = featurize_chemistry(["Li3PO4", "Qq2O", ""])
    assert list(frame.columns) == CHEMISTRY_FEATURE_LABELS == feature_labels("chemistry")
    assert set(failures) == {1, 2} and frame.iloc[1:].isna().all(axis=None) and frame.iloc[0].notna().any()
    same, _ = featurize(["Li3PO4"], "chemistry")
    assert same.iloc[0].equals(frame.iloc[0])
    assert featurize(["Li3PO4"])[0].shape == (1, 145)  # magpie stays the default
    assert featurizer_version("chemistry").startswith("chemistry23-v1+pymatgen-")
    assert featurizer_version("magpie").startswith("magpie145-")
    with pytest.raises(ValueError, match="Unknown descriptor set"):
        featurize(["Li3PO4"], "soap")


def test_a_magpie_part_already_computed_is_reused(monkeypatch):
    """``featurize(..., magpie=...)``: the Magpie columns given (here the features cache's, as
    the discovery flow's prediction step has them) instead of computed again; same frame."""
    from maggma.stores import MemoryStore

    from superionic.features import magpie as magpie_module
    from superionic.features.store import load_features

    formulas = ["Li3PO4", "Li10GeP2S12", "Qq2O", "Li2O"]
    fresh, fresh_failures = featurize(formulas, "magpie+chemistry")
    cache = MemoryStore(collection_name="features", key="formula")
    cache.connect()
    stored = load_features(formulas, cache)
    calls = []
    monkeypatch.setattr(magpie_module, "compute_features",
                        lambda comps, _f=magpie_module.compute_features: calls.append(1) or _f(comps))
    reused, reused_failures = featurize(formulas, "magpie+chemistry", magpie=stored)
    assert not calls and list(reused.columns) == feature_labels("magpie+chemistry")
    assert reused.equals(fresh) and reused_failures == fresh_failures
    with pytest.raises(ValueError, match="rows"):
        featurize(formulas[:2], "magpie+chemistry", magpie=stored)
