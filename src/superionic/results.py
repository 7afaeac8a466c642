"""One joined view of the stores: each screened material with its votes and conductivity.

Each material is joined to its prediction by the latest model that classified it
(``ml_model`` names that model); older models' predictions stay in the store.

A material may have conductivity results of several MD protocols (engine, potential, preset;
each its own ConductivityDoc). A row shows the best one (:func:`best_conductivity`, column
``md_protocol``; ``md_protocols`` counts those stored); ``candidate_rows(all_protocols=True)``
gives one row per protocol instead. Order, best first (:func:`protocol_rank`):

1. VASP with the seed's protocol: DFT forces and the seed's 600-1200 K, 20 ps runs, the
   numbers the seed's own verdicts came from;
2. VASP with another protocol (DFT forces still beat any force field), quick ones last;
3. force field with the seed's protocol (converged statistics, approximate forces);
4. force field with another full protocol (e.g. the seed's with longer production);
5. force field, quick protocol (indicative only: short runs, small cells);
6. an unknown engine (e.g. trajectories read from files without a label), same preset order.

Within a rank: more temperatures in the fit, then the newest document.

Used by ``superionic run`` (the summary table), ``superionic query`` and the report.
"""

from __future__ import annotations

from typing import Any

from superionic.builders.base import as_utc
from superionic.builders.structure import evidence_by_material
from superionic.ml.model_store import latest_predictions
from superionic.ml.verdicts import probability_verdict, seed_rule_text
from superionic.schemas.md import md_protocol_key
from superionic.stores import ProjectStores

COLUMNS = (
    "material_id", "formula", "anion_type", "screening", "stopped_at", "votes_gb", "votes_lgbm",
    "n_splits", "probability", "ml_verdict", "prob_mean", "seed_rule", "in_domain", "domain_distance",
    "sigma_300k", "sigma_300k_low", "sigma_300k_high",
    "activation_energy", "md_verdict", "md_preset", "md_protocol", "md_protocols", "md_best",
    "sigma_300k_kind", "md_reason", "md_cross_check", "md_chosen_because",
    "v_ox_li_metal", "v_ox_seed", "voltage_convention", "screening_note", "ml_model", "structure_flags",
    "evidence", "anion_framework", "li_network_dim", "bvse_e3d",
)  # fmt: skip
SCREENING_FIELDS = ["material_id", "formula", "anion_type", "verdict", "stopped_at", "oxidation_limit_v",
                    "oxidation_voltage_seed_v", "voltage_convention", "structure_flags"]


def screening_note(s: dict) -> str | None:
    """'passes the seed's screen; oxidises at 2.10 V vs Li': the verdict beside the physical V_ox."""
    verdict = s.get("verdict")
    if not verdict:
        return None
    convention = s.get("voltage_convention")
    screen = "the seed's screen" if convention == "seed" else f"the screen ({convention} convention)"
    if verdict == "pass":
        text = f"passes {screen}"
    else:
        text = f"{'fails' if verdict == 'fail' else 'unknown'} at {s.get('stopped_at')}"
        if s.get("stopped_at") == "oxidation_voltage":
            text += f" ({screen})"
    v_ox = s.get("oxidation_limit_v")
    return f"{text}; oxidises at {v_ox:.2f} V vs Li" if v_ox is not None else text


def _by_id(store, criteria=None, properties=None) -> dict[str, dict]:
    return {d["material_id"]: d for d in store.query(criteria or {}, properties=properties)}


def join_row(material_id: str, screening: dict, prediction: dict, conductivity: dict,
             structure: dict | None = None) -> dict[str, Any]:
    """One ``COLUMNS`` row from a material's screening, prediction, conductivity and structural
    evidence dicts ({} or None if none)."""
    s, p, c, e = screening, prediction, conductivity, structure or {}
    interval = c.get("sigma300_ci95") or (None, None)
    if c.get("sigma300_kind"):  # the range the MD verdict used: interval, bound or range
        interval = (c.get("sigma300_lower"), c.get("sigma300_upper"))
    return {
        "material_id": material_id,
        "formula": s.get("formula"),
        "anion_type": s.get("anion_type"),
        "screening": s.get("verdict"),
        "stopped_at": s.get("stopped_at"),
        "votes_gb": p.get("votes_gb"),
        "votes_lgbm": p.get("votes_lgbm"),
        "n_splits": p.get("n_splits"),
        # the ranking probability: calibrated where the surrogate has a calibrator
        "probability": p.get("prob_calibrated") if p.get("prob_calibrated") is not None else p.get("prob_mean"),
        # the verdict names its rule (calibrated p >= 0.5, domain flag); the seed rule is its own column
        "ml_verdict": p.get("verdict") or probability_verdict(p.get("prob_calibrated"), p.get("prob_mean"),
                                                               p.get("in_domain")),
        "prob_mean": p.get("prob_mean"),
        "seed_rule": seed_rule_text(p.get("votes_gb"), p.get("votes_lgbm"), p.get("n_splits"), p.get("seed_verdict")),
        "in_domain": p.get("in_domain"),
        "domain_distance": p.get("domain_distance"),
        "sigma_300k": c.get("sigma300"),
        "sigma_300k_low": interval[0],
        "sigma_300k_high": interval[1],
        "activation_energy": c.get("activation_energy"),
        "md_verdict": c.get("verdict"),
        "md_preset": c.get("preset"),
        # which MD result the row shows: '<engine>:<potential>:<preset>' (best_conductivity's choice)
        "md_protocol": md_protocol_key(c.get("engine"), c.get("potential"), c.get("preset")) if c else None,
        "md_protocols": None,  # set by candidate_rows: ConductivityDocs stored for the material
        "md_best": None,  # set by candidate_rows: whether md_protocol is the one best_conductivity picks
        "sigma_300k_kind": c.get("sigma300_kind"),
        "md_reason": c.get("verdict_reason"),
        "md_cross_check": c.get("cross_check"),
        "v_ox_li_metal": s.get("oxidation_limit_v"),
        "v_ox_seed": s.get("oxidation_voltage_seed_v"),
        "voltage_convention": s.get("voltage_convention"),
        "screening_note": screening_note(s),
        "ml_model": p.get("model_id"),  # which surrogate's prediction the row shows (the latest model's)
        # hydrate / molecular-salt units read from the structure (a flag beside the rank, not a screen)
        "structure_flags": "; ".join(s.get("structure_flags") or []) or None,
        "evidence": evidence_text(s, p, c, e),
        # the stored StructureEvidenceDoc (the structure builder's): shown, not ranked on
        "anion_framework": e.get("anion_framework"),
        "li_network_dim": e.get("li_network_dim"),
        "bvse_e3d": e.get("bvse_e3d"),
    }


def structure_text(evidence: dict) -> str | None:
    """'structure: bcc anion framework, 3D Li network, BVSE 3D 0.42 eV' from a stored
    StructureEvidenceDoc; a part without a value names why ('framework not computed: ...')."""
    if not evidence:
        return None
    if "structure" in (evidence.get("failures") or {}):
        return f"structure: none ({evidence['failures']['structure']})"
    why = {**(evidence.get("not_computed") or {}), **(evidence.get("failures") or {})}
    parts = []
    kind = evidence.get("anion_framework")
    if kind in ("bcc", "fcc", "hcp", "other"):
        parts.append(f"{kind} anion framework" if kind != "other" else "anion framework not bcc/fcc/hcp")
    elif "anion_framework" in why:
        parts.append(f"framework not computed ({why['anion_framework']})")
    if evidence.get("li_network_dim") is not None:
        parts.append(f"{evidence['li_network_dim']}D Li network (Li-Li < 3.5 A)")
    elif "li_sublattice" in why:
        parts.append(f"Li sublattice not computed ({why['li_sublattice']})")
    if evidence.get("bvse_e3d") is not None:
        parts.append(f"BVSE 3D barrier {evidence['bvse_e3d']:.2f} eV")
    elif evidence.get("bvse_status") == "failed":
        parts.append(f"BVSE failed ({evidence.get('bvse_reason')})")
    return "structure: " + ", ".join(parts) if parts else None


def evidence_text(screening: dict, prediction: dict, conductivity: dict, structure: dict | None = None) -> str | None:
    """Which evidence set the row's place: MD, else the composition classifier (in or out of its
    domain); the structure flags and the stored structural evidence beside it. No structural
    signal enters the ranking: none helped when measured (README, 'Structure: measured, not kept')."""
    parts = []
    if conductivity.get("verdict"):
        parts.append(f"MD ({conductivity.get('engine') or 'unknown engine'})")
    if prediction.get("model_id"):
        domain = prediction.get("in_domain")
        parts.append("composition classifier" + ("" if domain is None else ", in domain" if domain else
                                                  ", out of domain: ranked after in-domain candidates"))
    if screening.get("structure_flags"):
        parts.append("structure flag: " + "; ".join(screening["structure_flags"]))
    if structure_text(structure or {}):
        parts.append(structure_text(structure or {}))
    return "; ".join(parts) or None


def sigma_text(sigma: float | None, lower: float | None, upper: float | None,
               kind: str | None, digits: int = 1) -> str:
    """sigma(300 K) as the table shows it: 'x [lo, hi]' (fit), '<= hi' (upper bound),
    '[lo, hi]' (range from one resolved temperature), '' when there is nothing."""
    f = f".{digits}e"
    if kind == "upper_bound" and upper is not None:
        return f"<= {upper:{f}}"
    if (kind == "range" or sigma is None) and lower is not None and upper is not None:
        return f"[{lower:{f}}, {upper:{f}}]"
    if sigma is None:
        return ""
    text = f"{sigma:{f}}"
    return f"{text} [{lower:{f}}, {upper:{f}}]" if lower is not None and upper is not None else text


def is_quick_preset(preset: str | None) -> bool:
    """Whether a preset name is the quick protocol or a change of it ('quick+...')."""
    return bool(preset) and (preset == "quick" or preset.startswith("quick+"))


def protocol_rank(doc: dict) -> int:
    """0 (best) .. 8: engine (vasp, forcefield, other) x preset (seed, other, quick); see the
    module docstring for why."""
    engine = {"vasp": 0, "forcefield": 1}.get(str(doc.get("engine") or ""), 2)
    preset = doc.get("preset")
    tier = 0 if preset == "seed" else 2 if is_quick_preset(preset) else 1
    return engine * 3 + tier


def best_conductivity(docs: list[dict]) -> dict | None:
    """The ConductivityDoc (dict) a summary shows for one material: best protocol_rank, then
    the most temperatures fitted, then the newest; None for no documents."""
    if not docs:
        return None
    return min(docs, key=lambda d: (protocol_rank(d), -len(d.get("temperatures_used") or []),
                                    -as_utc(d.get("last_updated")).timestamp(), str(d.get("conductivity_id"))))


def ranked_conductivity(docs: list[dict]) -> list[dict]:
    """All of one material's ConductivityDocs, the one ``best_conductivity`` picks first."""
    best = best_conductivity(docs)
    if best is None:
        return []
    return [best] + sorted((d for d in docs if d is not best), key=lambda d: (
        protocol_rank(d), -len(d.get("temperatures_used") or []), str(d.get("conductivity_id"))))


def md_choices(stores: ProjectStores) -> dict[str, str]:
    """material_id -> why the newest MD stage chose it for MD (its summary job's output in the
    JobStore's ``jobs`` collection); {} when no MD stage has finished."""
    newest: dict = {}
    for doc in stores.jobs.query({"output.chosen_because": {"$exists": True}},
                                 properties=["output.chosen_because", "completed_at"]):
        if str(doc.get("completed_at") or "") >= str(newest.get("completed_at") or ""):
            newest = doc
    return dict((newest.get("output") or {}).get("chosen_because") or {})


def candidate_rows(stores: ProjectStores, survivors_only: bool = True,
                   model_id: str | None = None, all_protocols: bool = False) -> list[dict[str, Any]]:
    """Joined rows, best first: MD-validated candidates, then in-domain by ML rank, then out-of-domain
    by ML rank, then the rest.

    Predictions: each material's by the latest model, or by ``model_id`` where given.
    Conductivity: the best protocol's (``md_protocol`` says which, ``md_protocols`` how many
    are stored); with ``all_protocols``, one row per stored protocol, the best first.
    """
    screening = _by_id(
        stores.screening, {"passed": True} if survivors_only else {},
        SCREENING_FIELDS,
    )
    preds = latest_predictions(stores.predictions.query({"model_id": model_id} if model_id else {}), stores.models)
    conductivity: dict[str, list[dict]] = {}
    for doc in stores.conductivity.query():
        doc.pop("_id", None)
        conductivity.setdefault(str(doc.get("material_id")), []).append(doc)
    chosen = md_choices(stores)
    structure = evidence_by_material(stores.evidence, screening)
    ranked = []
    for mid, s in screening.items():
        p = preds.get(mid, {})
        docs = ranked_conductivity(conductivity.get(mid, []))
        for c in (docs if all_protocols else docs[:1]) or [{}]:
            row = join_row(mid, s, p, c, structure.get(mid))
            row["md_protocols"] = len(docs)
            row["md_best"] = bool(c) and c is docs[0]
            row["md_chosen_because"] = chosen.get(mid)
            ranked.append((row, p.get("rank")))
    # MD-validated first; then in-domain predictions before out-of-domain ones (README, 'Structure:
    # measured, not kept': the in-domain-first rule), each by ML rank; then the unpredicted
    ranked.sort(key=lambda rr: (rr[0]["md_verdict"] is None, rr[1] is None, rr[0]["in_domain"] is False, rr[1] or 0,
                                rr[0]["material_id"]))
    return [row for row, _ in ranked]


def _ml_class(ml_verdict: str | None) -> str | None:
    """'superionic' / 'not superionic' for the ML verdict text (for ``--verdict`` filters)."""
    if not ml_verdict:
        return None
    return "superionic" if ml_verdict.startswith("likely superionic") else "not superionic"


def filter_rows(
    rows: list[dict], anion_type: str | None = None, verdict: str | None = None, min_sigma: float | None = None
) -> list[dict]:
    """Rows matching an anion type, an ML or MD verdict, and a minimum sigma(300 K)."""
    out = []
    for r in rows:
        if anion_type and r["anion_type"] != anion_type:
            continue
        if verdict and verdict not in (r["ml_verdict"], r["md_verdict"], _ml_class(r["ml_verdict"])) and not (
            r["md_verdict"] or ""
        ).startswith(verdict):  # 'superionic' also matches 'superionic (MD)'
            continue
        if min_sigma is not None and (r["sigma_300k"] is None or r["sigma_300k"] < min_sigma):
            continue
        out.append(r)
    return out
