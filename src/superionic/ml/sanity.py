"""A chemist's sanity panel: well-known poor and fast Li conductors through the surrogate.

Poor (sigma_RT far below 1e-4 S/cm): LiF, LiCl, LiBr, Li2O, Li2CO3, Li3PO4, Li2SO4, LiPO3,
LiBO2, Li2SiO3, LiAlO2. Fast (>= 1e-4 S/cm): LGPS, Li6PS5Cl, Li7P3S11, Ta- and Al-doped
LLZO, Li3YCl6, Li3InCl6, LATP, LLTO. ``in_training`` marks the panel compositions that are
in the surrogate's training set (same atomic fractions), whose scores are not a test.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

POOR = {
    "LiF": "LiF", "LiCl": "LiCl", "LiBr": "LiBr", "Li2O": "Li2O", "Li2CO3": "Li2CO3",
    "Li3PO4": "Li3PO4", "Li2SO4": "Li2SO4", "LiPO3": "LiPO3", "LiBO2": "LiBO2",
    "Li2SiO3": "Li2SiO3", "LiAlO2": "LiAlO2",
}  # fmt: skip
FAST = {
    "LGPS": "Li10GeP2S12", "Li6PS5Cl": "Li6PS5Cl", "Li7P3S11": "Li7P3S11",
    "Ta-LLZO": "Li6.4La3Zr1.4Ta0.6O12", "Al-LLZO": "Li6.25Al0.25La3Zr2O12",
    "Li3YCl6": "Li3YCl6", "Li3InCl6": "Li3InCl6", "LATP": "Li1.3Al0.3Ti1.7(PO4)3",
    "LLTO": "Li0.33La0.56TiO3",
}  # fmt: skip


def sanity_panel(surrogate, training_keys: Iterable[str] = ()) -> pd.DataFrame:
    """One row per panel compound: expected class, calibrated p, verdicts, domain, in training."""
    from superionic.ml.predict import predict_formulas
    from superionic.ml.training_data import composition_key
    from superionic.ml.verdicts import seed_rule_text

    keys = set(training_keys)
    names = list(POOR) + list(FAST)
    formulas = [POOR.get(n) or FAST[n] for n in names]
    docs = predict_formulas(formulas, surrogate)
    rows = []
    for name, formula, doc in zip(names, formulas, docs):
        rows.append({
            "name": name, "formula": formula, "known": "poor" if name in POOR else "fast",
            "prob_calibrated": doc.prob_calibrated, "prob_mean": doc.prob_mean, "verdict": doc.verdict,
            "seed_rule": seed_rule_text(doc.votes_gb, doc.votes_lgbm, doc.n_splits, doc.seed_verdict),
            "in_domain": doc.in_domain, "domain_distance": doc.domain_distance,
            "in_training": composition_key(formula)[0] in keys,
        })
    return pd.DataFrame(rows)


def panel_checks(panel: pd.DataFrame) -> dict[str, bool | float]:
    """Whether every fast compound scores above every poor one, and the margin."""
    score = panel["prob_calibrated"].fillna(panel["prob_mean"])
    worst_fast = float(score[panel["known"] == "fast"].min())
    best_poor = float(score[panel["known"] == "poor"].max())
    return {"fast_above_poor": worst_fast > best_poor, "lowest_fast": worst_fast, "highest_poor": best_poor}


def record_panel(surrogate, data) -> pd.DataFrame:
    """The panel of ``surrogate`` (trained on ``data``), also stored in its ModelDoc."""
    keys = data.provenance["composition_key"] if data.provenance is not None else ()
    panel = sanity_panel(surrogate, keys)
    surrogate.doc.sanity_panel = panel.astype(object).where(panel.notna(), None).to_dict("records")
    return panel
