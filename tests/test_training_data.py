"""Training-set loader: labels, bounds, recorded skips, duplicates, column errors, sources."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from superionic.ml.training_data import (
    SUPERIONIC_THRESHOLD_S_PER_CM,
    TrainingSet,
    clean_xu_formula,
    load_training_set,
    parse_conductivity,
)


def write_csv(path, rows, columns=("formula", "family", "sigma_rt_S_per_cm")):
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


def test_default_is_the_seed_set_with_its_duplicates_merged():
    ts = load_training_set()
    assert isinstance(ts, TrainingSet)
    assert ts.n_rows_read == {"kang2023": 328}
    assert ts.skipped == []
    assert len(ts.merged) == 7 and sum(len(g.rows) for g in ts.merged) == 14
    assert len(ts.frame) == 328 - 7
    assert {"formula", "family", "sigma", "label", "source", "chemsys"} <= set(ts.frame.columns)
    assert (ts.frame["label"] == (ts.frame["sigma"] >= SUPERIONIC_THRESHOLD_S_PER_CM)).all()
    assert ts.frame["composition_key"].is_unique
    assert set(ts.frame["family"]) == {
        "NASICON", "Perovskite", "Garnet", "Argyrodite", "Li-halide", "LISICON", "LGPS",
        "Thio-LISICON", "Anti-perovskite",
    }  # fmt: skip
    llzo = next(g for g in ts.merged if g.formula == "Li7La3Zr2O12")
    assert llzo.label_conflict and llzo.sigmas == [4e-4, 1.2e-6]
    assert llzo.merged_sigma == pytest.approx(math.sqrt(4e-4 * 1.2e-6)) and llzo.label == 0
    assert "Li7La3Zr2O12" in ts.summary()

    raw = load_training_set(merge_duplicates=False)
    assert len(raw.frame) == 328 and int(raw.frame["label"].sum()) == 191  # the seed's numbers


def test_label_rule_bounds_and_recorded_skips(tmp_path):
    rows = [
        ("Li3PS4", "thio", "1e-4"),  # at the threshold: positive
        ("Li2S", "thio", "9.99e-5"),  # just below: negative
        ("LiCl", "halide", "<1E-10"),  # upper bound below threshold: negative
        ("LiBr", "halide", "<1e-3"),  # upper bound above threshold: unknown -> skip
        ("LiI", "halide", ">1e-3"),  # lower bound above threshold: positive
        ("Li3N", "nitride", ""),  # missing -> skip
        ("Li2O", "oxide", "nan"),  # NaN -> skip
        ("LiF", "halide", "high"),  # unreadable -> skip
        ("Li2Se", "x", "0"),  # non-positive -> skip
        ("Li2O)", "oxide", "1e-3"),  # bad formula -> skip
        ("", "oxide", "1e-3"),  # empty formula -> skip
    ]
    path = write_csv(tmp_path / "user.csv", rows)
    ts = load_training_set([path])
    assert ts.sources == ("user",)
    assert len(ts.frame) + len(ts.skipped) == len(rows)  # nothing silently dropped
    labels = dict(zip(ts.frame["formula"], ts.frame["label"]))
    assert labels == {"Li3PS4": 1, "Li2S": 0, "LiCl": 0, "LiI": 1}
    bounds = dict(zip(ts.frame["formula"], ts.frame["sigma_bound"]))
    assert bounds["LiCl"] == "<" and bounds["LiI"] == ">" and bounds["Li3PS4"] == ""
    reasons = {row.split(":")[-1]: reason for row, reason in ts.skipped}  # line numbers
    assert "label unknown" in reasons["5"]
    assert reasons["7"].startswith("missing conductivity") and reasons["8"].startswith("missing conductivity")
    assert "unreadable" in reasons["9"] and "non-positive" in reasons["10"]
    assert "unparseable formula" in reasons["11"] and reasons["12"] == "empty formula"
    assert all(row.startswith("user:user.csv:") for row, _ in ts.skipped)


def test_parse_conductivity():
    assert parse_conductivity("<1E-10") == (1e-10, "<")
    assert parse_conductivity(" 3.2e-4 ") == (3.2e-4, "")
    assert parse_conductivity(5e-3) == (5e-3, "")
    assert parse_conductivity("≥1e-3") == (1e-3, ">")
    for bad in (None, float("nan"), "", "n/a"):
        with pytest.raises(ValueError, match="missing"):
            parse_conductivity(bad)
    with pytest.raises(ValueError, match="unreadable"):
        parse_conductivity("1e-4 S/cm")


def test_duplicates_merge_by_composition_with_stated_rule(tmp_path):
    rows = [
        ("Li2O", "oxide", "1e-3"),
        ("Li4O2", "", "1e-5"),  # same composition: geometric mean 1e-4 -> positive
        ("LiCl", "halide", "<1E-10"),
        ("Li2Cl2", "halide", "<1E-8"),  # bounds only: the tightest bound is kept
        ("LiBr", "halide", "2e-4"),
        ("LiBr", "halide", "<1E-10"),  # measured value wins over a bound
    ]
    ts = load_training_set([write_csv(tmp_path / "dupes.csv", rows)])
    frame = ts.frame.set_index("formula")
    assert len(frame) == 3 and len(ts.merged) == 3
    assert frame.loc["Li2O", "sigma"] == pytest.approx(1e-4) and frame.loc["Li2O", "label"] == 1
    assert frame.loc["Li2O", "family"] == "oxide" and frame.loc["Li2O", "n_merged"] == 2
    assert frame.loc["LiCl", "sigma"] == 1e-10 and frame.loc["LiCl", "sigma_bound"] == "<"
    assert frame.loc["LiBr", "sigma"] == 2e-4 and frame.loc["LiBr", "label"] == 1
    li2o = next(g for g in ts.merged if g.formula == "Li2O")
    assert li2o.rows == ["dupes:dupes.csv:2", "dupes:dupes.csv:3"] and li2o.label_conflict
    libr = next(g for g in ts.merged if g.formula == "LiBr")
    assert libr.label_conflict  # 2e-4 vs '<1E-10': reported, not hidden


def test_missing_columns_raise_a_clear_error(tmp_path):
    path = write_csv(tmp_path / "bad.csv", [("Li2O", "1e-3")], columns=("formula", "conductivity"))
    with pytest.raises(ValueError, match="sigma_rt_S_per_cm") as err:
        load_training_set(["kang2023"], paths={"kang2023": path})
    assert "'family'" in str(err.value) and "bad.csv" in str(err.value)
    obelix = write_csv(tmp_path / "o.csv", [("Li2O", "1e-3")], columns=("Reduced Composition", "IC"))
    with pytest.raises(ValueError, match="Ionic conductivity \\(S cm-1\\)"):
        load_training_set(["obelix"], paths={"obelix": obelix})
    with pytest.raises(ValueError, match="unknown training source"):
        load_training_set(["nonsense"])


def test_extra_sources_obelix_and_xu():
    ts = load_training_set(("kang2023", "obelix", "xu2020"))
    assert ts.n_rows_read == {"kang2023": 328, "obelix": 478, "xu2020": 127}
    composites = [s for s in ts.skipped if "composite" in s.reason]
    assert len(composites) == 2 and all(s.row.startswith("xu2020:") for s in composites)
    assert len(ts.skipped) == 2
    sources = set("+".join(ts.frame["source"]).split("+"))
    assert sources == {"kang2023", "obelix", "xu2020"}
    assert ts.frame["composition_key"].is_unique
    obelix_only = ts.frame[ts.frame["source"] == "obelix"]
    assert (obelix_only.loc[obelix_only["sigma_bound"] == "<", "label"] == 0).all()
    assert (obelix_only["sigma_bound"] == "<").sum() > 0
    assert "garnet" not in set(ts.frame["family"]) and "Garnet" in set(ts.frame["family"])
    # every row read is kept, merged into another row, or listed as skipped
    kept_rows = sum(ts.frame["n_merged"])
    assert kept_rows + len(ts.skipped) == 328 + 478 + 127


def test_clean_xu_formula():
    assert clean_xu_formula("Li1.3AL0.3Ti1.7(PO4)3") == ("Li1.3Al0.3Ti1.7(PO4)3", None)
    assert clean_xu_formula("Li1.2Fe0.2HF1.8 (PO4)3") == ("Li1.2Fe0.2Hf1.8(PO4)3", None)
    formula, reason = clean_xu_formula("LiCrTa(PO4)3– 0.2Li3PO4")
    assert reason and "composite" in reason


def test_mobile_ion_keeps_li_compounds_and_records_the_rest(tmp_path):
    path = write_csv(
        tmp_path / "t.csv",
        [("Li3YCl6", "Li-halide", "1.4e-2"), ("NaZr2(PO4)3", "NASICON", "4.5e-6"),
         ("Li1.3Al0.3Ti1.7(PO4)3", "NASICON", "7e-4"), ("LiNaSO4", "x", "<1E-10")],
    )
    everything = load_training_set([path])
    li_only = load_training_set([path], mobile_ion="Li")
    assert len(everything.frame) == 4
    assert sorted(li_only.frame["formula"]) == ["Li1.3Al0.3Ti1.7(PO4)3", "Li3YCl6", "LiNaSO4"]
    (skip,) = li_only.skipped
    assert skip.row.endswith(":3") and "no Li" in skip.reason and "NaZr2(PO4)3" in skip.reason


def test_merged_li_set_has_provenance_per_row():
    from superionic.ml.dataset import training_matrix

    data = training_matrix(("kang2023", "obelix", "xu2020"), mobile_ion="Li")
    prov = data.provenance
    assert len(prov) == len(data.y) and len(data.y) > 500
    assert all("Li" in key for key in prov["composition_key"])
    # rows present in two sources are one composition, with both sources and their lines
    both = prov[prov["source"].str.contains(r"kang2023\+obelix")]
    assert len(both) > 10 and all(r.count(";") >= 1 for r in both["rows"])
    assert (prov["sigma_bound"] == "<").sum() > 10  # '<1E-10' rows kept as upper bounds
    assert not data.y[(prov["sigma_bound"] == "<").to_numpy()].any()


def test_poor_conductors_source_is_labelled_negative_with_a_reference_per_row():
    ts = load_training_set(("poor_conductors",))
    frame = ts.frame.set_index("formula")
    assert ts.skipped == [] and len(frame) == ts.n_rows_read["poor_conductors"] >= 8
    assert {"LiF", "LiCl", "LiBr", "LiI", "Li2O", "Li2S"} <= set(frame.index)
    assert (frame["label"] == 0).all() and (frame["sigma"] < SUPERIONIC_THRESHOLD_S_PER_CM).all()
    assert frame.loc["LiF", "sigma_bound"] == "<" and frame.loc["LiI", "sigma_bound"] == ""
    assert all(len(ref) > 20 for ref in frame["reference"])  # a citation or a stated basis each
    assert "Liang" in frame.loc["LiI", "reference"]


def test_quick_recipe_trains_on_the_poor_conductors_too():
    from superionic.recipes import load_recipe

    recipe = load_recipe("quick")
    assert "poor_conductors" in recipe.classifier.training_sources
    merged = load_training_set(tuple(recipe.classifier.training_sources), mobile_ion="Li")
    licl = merged.frame[merged.frame["formula"] == "LiCl"]
    assert len(licl) == 1 and licl["label"].iloc[0] == 0 and licl["source"].iloc[0] == "poor_conductors"
