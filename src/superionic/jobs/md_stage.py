"""MD stage: choose the candidates that get MD and build their conductivity flows."""

from __future__ import annotations

from pymatgen.core import Structure

from superionic.recipes import CandidateRecipe, MDRecipe
from superionic.stores import ProjectStores


def select_candidates(
    stores: ProjectStores, ranked: list[dict], recipe: CandidateRecipe
) -> tuple[list[str], dict[str, str]]:
    """material_ids for MD (best first) and, for passed-over candidates, why."""
    with_structure = {
        d["material_id"]
        for d in stores.materials.query({"structure": {"$ne": None}}, properties=["material_id"])
    }
    chosen: list[str] = []
    passed_over: dict[str, str] = {}

    def eligible(pred: dict) -> str | None:
        if recipe.rule == "seed_verdict" and not pred.get("seed_verdict"):
            return None
        if recipe.rule == "probability" and (pred.get("prob_mean") or 0) < recipe.min_probability:
            return None
        if recipe.require_structure and pred["material_id"] not in with_structure:
            return "no structure in the corpus (use --source mp for structures)"
        return ""

    by_id = {p["material_id"]: p for p in ranked}
    for material_id in recipe.material_ids:
        if material_id not in by_id:
            passed_over[material_id] = "requested, but not among the screened and predicted candidates"
        elif material_id not in with_structure:
            passed_over[material_id] = "requested, but the corpus has no structure for it"
        else:
            chosen.append(material_id)
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
        chosen.append(pred["material_id"])
    return chosen[: max(recipe.top_n, len(recipe.material_ids))], passed_over


def md_maker_for(recipe: MDRecipe):
    """The ConductivityMDMaker a recipe describes."""
    from superionic.md.makers import ConductivityMDMaker
    from superionic.md.presets import get_preset

    preset = get_preset(recipe.preset).with_overrides(
        temperatures=tuple(recipe.temperatures) if recipe.temperatures else None,
        equilibration_steps=recipe.equilibration_steps,
        production_steps=recipe.production_steps,
    )
    from superionic.md.extension import ExtensionPolicy
    from superionic.md.forcefield import segment_maker_for

    extension = None
    if recipe.extend and recipe.engine == "forcefield":
        extension = ExtensionPolicy(extend_steps=recipe.extend_steps,
                                    max_production_steps=recipe.max_production_steps,
                                    max_wall_s=recipe.max_wall_s)
    return ConductivityMDMaker(engine=recipe.engine, preset=preset, extension=extension,
                               segment_maker=segment_maker_for(recipe.force_field))


def material_structure(stores: ProjectStores, material_id: str) -> Structure:
    doc = stores.materials.query_one({"material_id": material_id}, properties=["structure"])
    if not doc or not doc.get("structure"):
        raise ValueError(f"{material_id} has no structure in the materials store")
    return Structure.from_dict(doc["structure"])
