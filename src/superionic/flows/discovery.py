"""``DiscoveryFlowMaker``: corpus -> screening -> classification -> MD per candidate -> summary.

Jobs return their documents and open no project collection (on jobflow-remote or FireWorks a
job may run where the database is unreachable; the runner stores its output in the JobStore):

* ``screening``: ``{"output_kind": "screening", "funnel_id", "n_survivors", "funnel": FunnelDoc,
  "material_docs": [MaterialDoc], "screening_docs": [ScreeningDoc]}`` (the two lists go to
  the JobStore's ``data`` store);
* ``classification``: ``{"output_kind": "classification", "model_id", "reused_model",
  "n_predicted", "ranked": [small prediction dicts], "model": ModelDoc fields but ``blob_uuid``
  (jobflow reads any ``blob_uuid`` as a reference), "reused_blob", "study_docs": [StudyDoc],
  "surrogate_binary": base64 skops bytes or None when reused}`` (the list and the binary in
  ``data``). A stored surrogate of the same recipe and training set (from an earlier run or
  ``superionic train``) is found in the JobStore the job is given
  (``JobConfig(expose_store=True)``), not in a collection;
* ``md stage``: replaces itself by one conductivity-MD flow per chosen candidate (chosen from
  the classification's ranking and the screening's materials) and the summary.

The builders (:mod:`superionic.builders`: ``documents`` first, one writer per collection)
turn these outputs into the keyed collections (``structure``: the survivors' structural
evidence, with the recipe's ``structure`` settings): ``superionic build``, ``mrun``, or, given a
store spec (``make(spec)``, the embedded ``superionic run``), the flow's own build jobs: one
after the classification and the summary at the end, which run where the database is
reachable. Every path runs every builder, so the local and the cluster paths leave the same
documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobflow import Flow, JobConfig, Maker, OnMissing, Response, job

from superionic.engines.store_ref import open_reference, project_stores, store_reference
from superionic.recipes import Recipe

__all__ = ["DiscoveryFlowMaker", "project_stores"]

SCREENING_OUTPUT = "screening"


@job(data=["material_docs", "screening_docs"])
def screen_step(recipe: dict, show_progress: bool = False) -> dict:
    """Screen the recipe's corpus; returns the funnel, the materials and the screening documents."""
    from superionic.jobs.screening import screen_corpus

    r = Recipe.model_validate(recipe)
    outcome = screen_corpus(r.source, r.source_path, r.screening, show_progress=show_progress)
    return {"output_kind": SCREENING_OUTPUT, "funnel_id": outcome.funnel.funnel_id,
            "n_survivors": len(outcome.survivors), "funnel": outcome.funnel,
            "material_docs": outcome.materials, "screening_docs": outcome.screening}


CLASSIFICATION_DATA = ["study_docs", "surrogate_binary"]
"""Fields of a classification output that go to the JobStore's ``data`` store."""


@job(data=CLASSIFICATION_DATA, config=JobConfig(expose_store=True))
def classify_step(recipe: dict, screening_docs: list, show_progress: bool = False) -> dict:
    """Train or reuse the surrogate, predict the survivors; returns the ranked ids and the documents."""
    from jobflow import CURRENT_JOB

    from superionic.jobs.classification import (
        classification_output,
        predict_survivors,
        recipe_fingerprint,
        surrogate_from_job_store,
        train_surrogate,
    )

    r = Recipe.model_validate(recipe)
    data, fingerprint = recipe_fingerprint(r.classifier)
    job_store = CURRENT_JOB.store
    surrogate = surrogate_from_job_store(job_store, fingerprint) if job_store is not None else None
    studies, reused = [], surrogate is not None
    if surrogate is None:
        outcome = train_surrogate(r.classifier, data, fingerprint, show_progress=show_progress)
        surrogate, studies = outcome.surrogate, outcome.studies
    survivors = [s for s in screening_docs if (s.get("passed") if isinstance(s, dict) else s.passed)]
    predictions, _ = predict_survivors(survivors, surrogate)
    return classification_output(surrogate, reused, studies, predictions)


@job(data=CLASSIFICATION_DATA)
def record_classification(output: dict) -> dict:
    """A classification output made outside a flow (``superionic train``), kept as a job output
    so the documents builder writes it and a later flow finds its surrogate by fingerprint."""
    return output


@job(config=JobConfig(expose_store=True))
def build_step(store: str, names: list[str] | None, after: object = None, options: dict | None = None) -> dict:
    """Run the named builders (None: all) on the stores of reference ``store`` (a job for where the
    database is reachable); ``options``: builder name -> constructor options (the recipe's)."""
    from superionic.builders import run_builders

    return run_builders(open_reference(store), names, options)


@job(config=JobConfig(expose_store=True))
def md_step(store: str | None, recipe: dict, classified: dict, screened: dict | None = None) -> Response:
    """Replace itself by one conductivity-MD flow per chosen candidate, then the summary.

    Materials (structures) come from the screening output ``screened``; without it (an MD
    stage made on its own), from the stores of reference ``store``
    (:func:`~superionic.engines.store_ref.store_reference`, resolved on the worker).
    """
    from superionic.jobs.md_stage import conductivity_flow, material_structure, md_maker_for, select_candidates

    r = Recipe.model_validate(recipe)
    materials = screened["material_docs"] if screened is not None else open_reference(store)
    reasons: dict[str, str] = {}
    chosen, passed_over = select_candidates(materials, classified["ranked"], r.candidates, reasons)
    maker = md_maker_for(r.md)
    flows = [conductivity_flow(r.md, maker, material_structure(materials, mid), mid) for mid in chosen]
    summary = summarize_step(store, [f.output for f in flows], chosen, passed_over, reasons, r.build_options())
    summary.config.on_missing_references = OnMissing.NONE  # summarise what finished
    return Response(replace=Flow([*flows, summary], output=summary.output, name="md validation"))


@job(config=JobConfig(expose_store=True))
def summarize_step(
    store: str | None, md_outputs: list, chosen: list[str], passed_over: dict, chosen_because: dict | None = None,
    options: dict | None = None,
) -> dict:
    """The MD stage's summary; with a store reference, also build the collections (incremental;
    ``options``: the recipe's builder options, as the first build step had them)."""
    processed = {}
    if store:
        from superionic.builders import run_builders

        processed = run_builders(open_reference(store), options=options)  # all, as `superionic build`
    return {"md_candidates": chosen, "chosen_because": chosen_because or {}, "passed_over": passed_over,
            "builders": processed}


@dataclass
class DiscoveryFlowMaker(Maker):
    """The whole discovery chain as one jobflow Flow, parameterised by a ``Recipe``."""

    name: str = "superionic discovery"
    recipe: Recipe = field(default_factory=lambda: Recipe(name="default"))
    show_progress: bool = False

    def make(self, store_spec: str | None = None) -> Flow:
        """The flow; with ``store_spec``, build jobs fill that store's collections as the flow goes
        (for engines that reach it); without, no job touches a project collection (``superionic build``).
        Jobs receive :func:`~superionic.engines.store_ref.store_reference` of the spec: no password."""
        recipe = self.recipe.model_dump(mode="json")
        store = store_reference(store_spec) if store_spec else None
        screen = screen_step(recipe, self.show_progress)
        screen.name = "screening"
        classify = classify_step(recipe, screen.output["screening_docs"], self.show_progress)
        classify.name = "classification"
        jobs = [screen, classify]
        if store:
            build = build_step(store, None, [screen.output["funnel_id"], classify.output["model_id"]],
                               self.recipe.build_options(self.show_progress))
            build.name = "store documents"
            build.config.on_missing_references = OnMissing.NONE  # the screening's, even if classification failed
            jobs.append(build)
        md = md_step(store, recipe, classify.output, screen.output)
        md.name = "md stage"
        return Flow([*jobs, md], output=md.output, name=f"{self.name} [{self.recipe.name}]")
