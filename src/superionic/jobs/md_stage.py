"""MD stage: choose the candidates that get MD and build their conductivity flows."""

from __future__ import annotations

from pymatgen.core import Structure

from superionic.recipes import CandidateRecipe, MDRecipe


def _probability(pred: dict) -> float:
    """The ranking probability: calibrated where the surrogate has a calibrator."""
    calibrated = pred.get("prob_calibrated")
    return float(calibrated if calibrated is not None else (pred.get("prob_mean") or 0.0))


def _why(pred: dict, recipe: CandidateRecipe) -> str:
    """Why an eligible candidate is chosen, in words."""
    rank = f"rank {pred.get('rank')}" if pred.get("rank") is not None else "unranked"
    rule = ("seed rule met (all votes)" if recipe.rule == "seed_verdict"
            else f"p = {_probability(pred):.2f}" + (f" >= {recipe.min_probability:g}" if recipe.min_probability > 0 else ""))
    distance = pred.get("domain_distance")
    where = "" if distance is None else f" (distance {distance:.1f})"
    domain = {True: f"in domain{where}", False: f"out of domain{where}", None: "domain unknown"}[pred.get("in_domain")]
    return f"{rank}, {rule}, {domain}"


def _materials(materials) -> list[dict]:
    """MaterialDocs (or their dicts) from a ``ProjectStores`` or a list of documents."""
    if hasattr(materials, "materials"):  # a ProjectStores: the materials collection
        query = {"$or": [{"structure": {"$ne": None}}, {"has_structure": True}]}
        return [{"material_id": d["material_id"], "has_structure": True}
                for d in materials.materials.query(query, properties=["material_id"])]
    return [m if isinstance(m, dict) else m.model_dump() for m in materials or []]


def select_candidates(
    materials, ranked: list[dict], recipe: CandidateRecipe, reasons: dict[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """material_ids for MD (best first) and, for passed-over candidates, why.

    ``materials``: the screening's MaterialDocs (or a ``ProjectStores``, whose materials
    collection is read). ``ranked`` holds prediction dicts best first (``material_id``, ``seed_verdict``,
    ``prob_mean``, ``prob_calibrated``, ``in_domain``, ``domain_distance``, ``rank``).
    Candidates in the classifier's applicability domain are preferred: an out-of-domain one
    is chosen only when too few in-domain candidates are eligible, and says so. If
    ``reasons`` is given, it receives a reason per chosen id.
    """
    with_structure = {d["material_id"] for d in _materials(materials) if d.get("structure") or d.get("has_structure")}
    chosen: list[str] = []
    passed_over: dict[str, str] = {}
    why: dict[str, str] = {}

    def eligible(pred: dict) -> str | None:
        if recipe.rule == "seed_verdict" and not pred.get("seed_verdict"):
            return None
        if recipe.rule == "probability" and _probability(pred) < recipe.min_probability:
            return None
        if recipe.require_structure and pred["material_id"] not in with_structure:
            return "no structure in the corpus (give the structure with --source files, or use --source mp)"
        return ""

    by_id = {p["material_id"]: p for p in ranked}
    for material_id in recipe.material_ids:
        if material_id not in by_id:
            passed_over[material_id] = "requested, but not among the screened and predicted candidates"
        elif material_id not in with_structure:
            passed_over[material_id] = "requested, but the corpus has no structure for it"
        else:
            chosen.append(material_id)
            why[material_id] = f"requested in the recipe; {_why(by_id[material_id], recipe)}"
    out_of_domain: list[dict] = []
    for pred in ranked:
        if len(chosen) >= recipe.top_n:
            break
        if pred["material_id"] in chosen:
            continue
        verdict = eligible(pred)
        if verdict is None:
            continue
        if verdict:
            passed_over[pred["material_id"]] = verdict
            continue
        if pred.get("in_domain") is False:
            out_of_domain.append(pred)
            continue
        chosen.append(pred["material_id"])
        why[pred["material_id"]] = _why(pred, recipe)
    n_in_domain = len(chosen)
    for pred in out_of_domain:
        if len(chosen) >= recipe.top_n:
            passed_over[pred["material_id"]] = (
                f"out of the classifier's applicability domain ({_why(pred, recipe)}): in-domain candidates preferred"
            )
            continue
        chosen.append(pred["material_id"])
        why[pred["material_id"]] = (f"{_why(pred, recipe)}; chosen although out of domain: only {n_in_domain} "
                                    "eligible in-domain candidate(s)")
    chosen = chosen[: max(recipe.top_n, len(recipe.material_ids))]
    if reasons is not None:
        reasons.update({mid: why[mid] for mid in chosen})
    return chosen, passed_over


def md_maker_for(recipe: MDRecipe):
    """The ConductivityMDMaker a recipe describes."""
    from superionic.md.workflow.makers import ConductivityMDMaker
    from superionic.md.presets import get_preset

    preset = get_preset(recipe.preset).with_overrides(
        temperatures=tuple(recipe.temperatures) if recipe.temperatures else None,
        equilibration_steps=recipe.equilibration_steps,
        production_steps=recipe.production_steps,
    )
    from superionic.md.engines.potentials import default_potential
    from superionic.md.workflow.extension import ExtensionPolicy
    from superionic.md.workflow.forcefield import segment_maker_for

    extension = None
    if recipe.extend and recipe.engine == "forcefield":
        extension = ExtensionPolicy(extend_steps=recipe.extend_steps,
                                    max_production_steps=recipe.max_production_steps,
                                    max_wall_s=recipe.max_wall_s)
    return ConductivityMDMaker(engine=recipe.engine, preset=preset, extension=extension,
                               segment_maker=segment_maker_for(default_potential(recipe.preset, recipe.force_field)),
                               cross_check=recipe.cross_check)


def conductivity_flow(recipe: MDRecipe, maker, structure: Structure, material_id: str):
    """One material's MD flow as the recipe describes it: ``maker``'s (:func:`md_maker_for`), and
    after VASP AIMD with ``finetune.enabled`` the fine-tune on its frames and the force-field MD
    with the tuned potential (:func:`superionic.finetune.jobs.add_finetune`)."""
    flow = maker.make(structure, material_id=material_id)
    if recipe.engine == "vasp" and recipe.finetune.enabled:
        from superionic.finetune.jobs import add_finetune

        flow = add_finetune(flow, structure, material_id, recipe.finetune)
    return flow


def material_structure(stores, material_id: str) -> Structure:
    """The structure of ``material_id``: inline in its MaterialDoc, else the bundled MP one.

    ``stores``: a ``ProjectStores`` (its materials collection is read) or the MaterialDocs
    (or dicts) a screening returned.

    Bundled structures (``superionic.sources.structures``) are parsed here, on demand.
    Raises ValueError when neither exists, StructureBundleError when the bundle is damaged.
    """
    from superionic.sources.structures import bundled_structure

    if hasattr(stores, "materials"):
        doc = stores.materials.query_one({"material_id": material_id}, properties=["structure"])
    else:
        doc = next((m for m in _materials(stores) if m.get("material_id") == material_id), None)
    if doc and doc.get("structure"):
        return Structure.from_dict(doc["structure"])
    structure = bundled_structure(material_id)
    if structure is None:
        where = "in the materials store" if doc else "(not in the materials store)"
        raise ValueError(f"{material_id} has no structure {where} nor in the bundled MP structures")
    return structure
