"""``DiscoveryFlowMaker``: corpus -> screening -> classification -> MD per candidate -> summary.

Every job opens the project stores from a spec string, writes its documents there and
returns small references (ids, counts), never large objects. The MD step is dynamic: it
*replaces* itself with one conductivity-MD flow per chosen candidate followed by the summary
job, so the summary runs after every MD job (failed ones included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from jobflow import Flow, Maker, OnMissing, Response, job

from superionic.recipes import Recipe


@lru_cache(maxsize=8)
def project_stores(spec: str):
    """Stores of a spec, opened once per process (so memory:// specs share data)."""
    from superionic.stores import open_stores

    return open_stores(spec)


@job
def screen_step(store_spec: str, recipe: dict, show_progress: bool = False) -> dict:
    """Screen the recipe's corpus into the stores; returns the funnel id and survivor count."""
    from superionic.jobs.screening import run_screening

    r = Recipe.model_validate(recipe)
    stores = project_stores(store_spec)
    outcome = run_screening(stores, r.source, r.source_path, r.screening, show_progress=show_progress)
    return {"funnel_id": outcome.funnel.funnel_id, "n_survivors": len(outcome.survivors)}


@job
def classify_step(store_spec: str, recipe: dict, screened: dict, show_progress: bool = False) -> dict:
    """Train or reuse the surrogate, predict the survivors; returns the ranked ids."""
    from superionic.jobs.classification import classify_survivors, ensure_surrogate

    r = Recipe.model_validate(recipe)
    stores = project_stores(store_spec)
    outcome = ensure_surrogate(stores, r.classifier, show_progress=show_progress)
    ranked = classify_survivors(stores, outcome.surrogate)
    return {
        "model_id": outcome.surrogate.doc.model_id,
        "reused_model": outcome.reused,
        "n_predicted": len(ranked),
        "ranked": [
            {k: p.get(k) for k in ("material_id", "seed_verdict", "prob_mean", "prob_calibrated", "in_domain",
                                   "domain_distance", "rank")}
            for p in ranked
        ],
    }


@job
def md_step(store_spec: str, recipe: dict, classified: dict) -> Response:
    """Replace itself by one conductivity-MD flow per chosen candidate, then the summary."""
    from superionic.jobs.md_stage import material_structure, md_maker_for, select_candidates

    r = Recipe.model_validate(recipe)
    stores = project_stores(store_spec)
    reasons: dict[str, str] = {}
    chosen, passed_over = select_candidates(stores, classified["ranked"], r.candidates, reasons)
    maker = md_maker_for(r.md)
    flows = [maker.make(material_structure(stores, mid), material_id=mid) for mid in chosen]
    summary = summarize_step(store_spec, [f.output for f in flows], chosen, passed_over, reasons)
    summary.config.on_missing_references = OnMissing.NONE  # summarise what finished
    return Response(replace=Flow([*flows, summary], output=summary.output, name="md validation"))


@job
def summarize_step(
    store_spec: str, md_outputs: list, chosen: list[str], passed_over: dict, chosen_because: dict | None = None
) -> dict:
    """Build diffusion and conductivity documents from the finished MD (incremental)."""
    from superionic.builders import run_builders

    stores = project_stores(store_spec)
    processed = run_builders(stores, ["diffusion", "conductivity"])
    return {"md_candidates": chosen, "chosen_because": chosen_because or {}, "passed_over": passed_over,
            "builders": processed}


@dataclass
class DiscoveryFlowMaker(Maker):
    """The whole discovery chain as one jobflow Flow, parameterised by a ``Recipe``."""

    name: str = "superionic discovery"
    recipe: Recipe = field(default_factory=lambda: Recipe(name="default"))
    show_progress: bool = False

    def make(self, store_spec: str) -> Flow:
        recipe = self.recipe.model_dump(mode="json")
        screen = screen_step(store_spec, recipe, self.show_progress)
        screen.name = "screening"
        classify = classify_step(store_spec, recipe, screen.output, self.show_progress)
        classify.name = "classification"
        md = md_step(store_spec, recipe, classify.output)
        md.name = "md stage"
        return Flow([screen, classify, md], output=md.output, name=f"{self.name} [{self.recipe.name}]")
