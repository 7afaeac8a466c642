"""Issue 22: the top of the candidate table under the quick recipe's surrogate, before and after.

Trains the quick recipe's surrogate (its classifier section, as ``superionic run`` does), then
ranks the snapshot's survivors three ways:

- today: the seed's four screens (453 survivors), ranked by calibrated probability;
- new default screen (radioactive step on: 440 survivors), ranking rules for out-of-domain
  candidates: 'probability' (as today), 'in-domain first' (every in-domain candidate before any
  out-of-domain one, each part by probability), 'shrunk' (an out-of-domain p pulled toward the
  training base rate by threshold / domain_distance).

Prints the ranks of the seed's AIMD-confirmed hits under each, and the top 20 with the domain flag,
the structure flags (hydrate / molecular salt) and any radioactive element.

    PYTHONPATH=src nice .venv/bin/python benchmarks/structure_ranking.py
"""

from __future__ import annotations

import os
import pickle
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

CACHE = Path("/tmp/structure_ranking_surrogate.pkl")
SEED_HITS = ("Li3ErBr6", "Li3ErCl6", "Li5B7S13", "LiAlS2", "Li2B2S5", "LiBiS2", "Li2GePbS4", "BaLi(BS2)3",
             "RbLi6B2O6F")
RADIOACTIVE = set("Tc Pm Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm".split())


def surrogate():
    from superionic.jobs.classification import recipe_fingerprint, train_surrogate
    from superionic.ml.surrogate import Surrogate
    from superionic.recipes import load_recipe

    recipe = load_recipe("quick").classifier
    data, fp = recipe_fingerprint(recipe)
    if CACHE.exists():
        fp_cached, blob, base = pickle.loads(CACHE.read_bytes())
        if fp_cached == fp:
            return Surrogate.from_bytes(blob, "cached"), base
    t0 = time.perf_counter()
    s = train_surrogate(recipe, data, fp, show_progress=False).surrogate
    base = float(np.mean(data.y))
    CACHE.write_bytes(pickle.dumps((fp, s.to_bytes(), base)))
    print(f"trained the quick surrogate in {time.perf_counter() - t0:.0f} s (base rate {base:.3f})")
    return s, base


def ranked(outcome, model, base: float) -> pd.DataFrame:
    from superionic.jobs.classification import predict_survivors

    preds, _ = predict_survivors(outcome.survivors, model)
    flags = {d.material_id: "; ".join(d.structure_flags) for d in outcome.survivors}
    elements = {m.material_id: set(m.elements) for m in outcome.materials}
    frame = pd.DataFrame([{"material_id": p.material_id, "formula": p.formula, "p": p.prob_calibrated,
                           "in_domain": p.in_domain, "distance": p.domain_distance} for p in preds])
    threshold = model.doc.domain_threshold
    frame["structure_flags"] = frame.material_id.map(flags)
    frame["radioactive"] = frame.material_id.map(lambda m: ",".join(sorted(elements[m] & RADIOACTIVE)))
    frame["rank_probability"] = frame.p.rank(ascending=False, method="first").astype(int)
    order = frame.sort_values(["in_domain", "p"], ascending=[False, False]).index
    frame.loc[order, "rank_in_domain_first"] = np.arange(1, len(frame) + 1)
    shrink = np.where(frame.in_domain, 1.0, threshold / frame.distance)
    frame["p_shrunk"] = base + (frame.p - base) * shrink
    frame["rank_shrunk"] = frame.p_shrunk.rank(ascending=False, method="first").astype(int)
    return frame


def aimd_ea() -> dict[str, float]:
    """AIMD activation energies of the seed's hits from structure_signals.py's cache ({} if not run)."""
    from structure_signals import CACHE as SIGNALS_CACHE
    from structure_signals import SEED_NINE

    if not SIGNALS_CACHE.exists():
        return {}
    ea = pickle.loads(SIGNALS_CACHE.read_bytes()).get("ea", {})
    return {SEED_NINE[m]: v for m, v in ea.items()}


def main() -> None:
    from superionic.jobs.screening import screen_corpus
    from superionic.settings import ScreeningThresholds

    start = time.perf_counter()
    model, base = surrogate()
    today = ranked(screen_corpus(thresholds=ScreeningThresholds(exclude_radioactive=False), show_progress=False),
                   model, base)
    new = ranked(screen_corpus(show_progress=False), model, base)
    print(f"survivors: today {len(today)}, new default {len(new)}; domain threshold {model.doc.domain_threshold:.3f}; "
          f"out of domain: {int((~new.in_domain.astype(bool)).sum())} of {len(new)}")
    rows = []
    for formula in SEED_HITS:
        t, n = today[today.formula == formula], new[new.formula == formula]
        if t.empty:
            rows.append({"hit": formula, "survivor": False})
            continue
        rows.append({"hit": formula, "in_domain": bool(n.in_domain.iloc[0]), "p": round(float(n.p.iloc[0]), 3),
                     f"today (of {len(today)})": int(t.rank_probability.iloc[0]),
                     f"probability (of {len(new)})": int(n.rank_probability.iloc[0]),
                     "in-domain first": int(n.rank_in_domain_first.iloc[0]), "shrunk": int(n.rank_shrunk.iloc[0])})
    print("\nranks of the seed's AIMD-confirmed hits")
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False))
    ea = aimd_ea()
    if ea:
        from scipy.stats import spearmanr

        hits = table.dropna(subset=["p"]).copy()
        hits["Ea"] = hits.hit.map(ea)
        print("\nper rule over the surviving hits: mean rank, hits in the top 50, Spearman rho(rank, AIMD Ea) "
              "(+: hits with a lower AIMD barrier rank higher)")
        for col in [c for c in hits.columns if c.startswith(("today", "probability", "in-domain", "shrunk"))]:
            rho = spearmanr(hits[col], hits.Ea)[0]
            print(f"  {col}: mean {hits[col].mean():.1f}, top 50: {int((hits[col] <= 50).sum())}, rho {rho:+.2f}")
    for rule in ("rank_probability", "rank_in_domain_first", "rank_shrunk"):
        for label, frame in (("today", today), ("new", new)):
            if label == "today" and rule != "rank_probability":
                continue
            top = frame.sort_values(rule).head(20)
            print(f"\n{label}, {rule}: top 20 -- out of domain {int((~top.in_domain.astype(bool)).sum())}, "
                  f"flagged {int((top.structure_flags != '').sum())}, radioactive {int((top.radioactive != '').sum())}")
            print(top[["formula", "p", "in_domain", "structure_flags", "radioactive"]].round(3).to_markdown(index=False))
    print(f"\nwall {time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main()
