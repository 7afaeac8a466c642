"""Everything the report shows, read from the project's stores (and the bundled training set).

Reading is lenient: a document that no longer fits its schema (written by another version)
is left out and listed in ``ReportData.problems``; an empty collection is simply empty. The
report then says what is missing instead of failing.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from superionic.ml.model_store import latest_predictions
from superionic.results import join_row, md_choices, protocol_rank, ranked_conductivity, sigma_text
from superionic.schemas.md import ConductivityDoc, DiffusionDoc
from superionic.schemas.ml import ModelDoc, PredictionDoc, StudyDoc
from superionic.schemas.screening import FunnelDoc, FunnelStep
from superionic.structure.evidence import METHOD_VERSION as EVIDENCE_VERSION

SCREENING_FIELDS = ["material_id", "formula", "source", "passed", "verdict", "stopped_at",
                    "anion_type", "anion_subtype",
                    "oxidation_limit_v", "oxidation_voltage_seed_v", "voltage_convention", "energy_set"]


@dataclass
class TrainingView:
    """The labelled training set as the report plots it."""

    sources: tuple[str, ...]
    log_sigma: list[float]
    bound: list[str]
    """'' measured, '<' upper bound, '>' lower bound (same order as ``log_sigma``)."""
    label: list[int]
    family: list[str]
    threshold: float
    n_skipped: int
    n_merged_groups: int


@dataclass
class ReportData:
    """The stores' contents, validated, with what could not be read."""

    spec: str
    counts: dict[str, int] = field(default_factory=dict)
    training: TrainingView | None = None
    training_error: str | None = None
    funnels: list[FunnelDoc] = field(default_factory=list)
    screening: dict[str, dict] = field(default_factory=dict)
    """material_id -> the ScreeningDoc fields in ``SCREENING_FIELDS``."""
    evidence: dict[str, dict] = field(default_factory=dict)
    """material_id -> its stored StructureEvidenceDoc (this method version), for the evidence column."""
    funnel_from_screening: bool = False
    """True when no FunnelDoc was stored and the funnel was counted from ScreeningDocs."""
    studies: list[StudyDoc] = field(default_factory=list)
    """StudyDocs of the training set the surrogate was trained on (see ``study_note``)."""
    study_note: str | None = None
    model: ModelDoc | None = None
    predictions: list[PredictionDoc] = field(default_factory=list)
    diffusion: dict[str, list[DiffusionDoc]] = field(default_factory=dict)
    """material_id -> the DiffusionDocs of the protocol shown (the conductivity's), by T."""
    conductivity: dict[str, ConductivityDoc] = field(default_factory=dict)
    """material_id -> the ConductivityDoc of the best protocol (superionic.results.best_conductivity)."""
    other_protocols: dict[str, list[str]] = field(default_factory=dict)
    """material_id -> the other MD protocols stored for it ('<engine>:<potential>:<preset>')."""
    md_chosen_because: dict[str, str] = field(default_factory=dict)
    """material_id -> why the newest MD stage chose it (superionic.results.md_choices)."""
    problems: list[str] = field(default_factory=list)

    @property
    def md_materials(self) -> list[str]:
        """Materials with MD results (diffusion or conductivity), sorted."""
        return sorted(set(self.diffusion) | set(self.conductivity))

    @property
    def classified(self) -> list[PredictionDoc]:
        """Predictions with votes (skipped compositions left out), best rank first."""
        done = [p for p in self.predictions if p.skip_reason is None and p.votes_gb is not None]
        return sorted(done, key=lambda p: (p.rank is None, p.rank or 0, -(p.prob_mean or 0)))


def _query(store, problems: list[str], name: str, criteria: dict | None = None,
           properties: list[str] | None = None) -> list[dict]:
    try:
        docs = list(store.query(criteria=criteria or {}, properties=properties))
    except Exception as exc:  # noqa: BLE001 - an unreadable collection is reported, not fatal
        problems.append(f"collection {name!r} could not be read: {type(exc).__name__}: {exc}")
        return []
    for doc in docs:
        doc.pop("_id", None)
    return docs


def _validate(model: type[BaseModel], docs: list[dict], name: str, problems: list[str]) -> list:
    """Validate stored dicts; unknown keys (from other versions) are dropped, bad docs listed."""
    known = set(model.model_fields)
    out, bad = [], []
    for doc in docs:
        try:
            out.append(model.model_validate({k: v for k, v in doc.items() if k in known}))
        except ValidationError as exc:
            key = next((str(doc[k]) for k in ("study_id", "model_id", "doc_id", "funnel_id",
                                              "material_id") if k in doc), "?")
            bad.append(f"{key} ({exc.error_count()} field error(s), first: "
                       f"{exc.errors()[0]['loc']}: {exc.errors()[0]['msg']})")
    if bad:
        problems.append(f"{len(bad)} {model.__name__}(s) in {name!r} do not fit the current "
                        f"schema and are not shown: {'; '.join(bad[:3])}")
    return out


def load_training_view(sources: tuple[str, ...] = ("kang2023",)) -> TrainingView:
    """The training set (bundled data) reduced to what the figures need."""
    from superionic.ml.training_data import load_training_set

    ts = load_training_set(sources=sources)
    frame = ts.frame
    return TrainingView(
        sources=ts.sources,
        log_sigma=[math.log10(s) for s in frame["sigma"]],
        bound=[str(b) for b in frame["sigma_bound"]],
        label=[int(v) for v in frame["label"]],
        family=[str(f) for f in frame["family"]],
        threshold=ts.threshold,
        n_skipped=len(ts.skipped),
        n_merged_groups=len(ts.merged),
    )


def funnel_from_screening(docs: list[dict], source: str) -> FunnelDoc:
    """Count the funnel from full ScreeningDoc dicts (used when no FunnelDoc was stored)."""
    order = [c["name"] for c in (docs[0].get("criteria") or [])] if docs else []
    steps = [FunnelStep(name="corpus", threshold="materials screened", survivors=len(docs),
                        failed=0, unknown=0)]
    left = len(docs)
    for name in order:
        stopped = [d for d in docs if d.get("stopped_at") == name]
        failed = sum(d.get("verdict") == "fail" for d in stopped)
        unknown = len(stopped) - failed
        left -= len(stopped)
        threshold = next((c.get("threshold", "") for c in docs[0]["criteria"] if c["name"] == name), "")
        steps.append(FunnelStep(name=name, threshold=threshold, survivors=left, failed=failed,
                                unknown=unknown))
    survivors = [d for d in docs if d.get("passed")]
    return FunnelDoc(
        funnel_id=source, source=source, steps=steps, n_skipped_records=0,
        survivor_ids=[d["material_id"] for d in survivors],
        anion_counts=dict(Counter(d.get("anion_type") or "unknown" for d in survivors)),
        thresholds={},
    )


def _pick_study_set(data: ReportData, studies: list[StudyDoc], models: list[ModelDoc]) -> None:
    """Keep the StudyDocs of the training set behind the predictions (else the newest)."""
    used = Counter(p.model_id for p in data.predictions)
    by_id = {m.model_id: m for m in models}
    model = next((by_id[m] for m, _ in used.most_common() if m in by_id), None)
    if model is None and models:
        model = max(models, key=lambda m: m.last_updated)
    data.model = model
    if not studies:
        return
    if model is not None and any(s.training_set_hash == model.training_set_hash for s in studies):
        wanted = model.training_set_hash
    else:
        wanted = max(studies, key=lambda s: s.last_updated).training_set_hash
    data.studies = [s for s in studies if s.training_set_hash == wanted]
    others = len(studies) - len(data.studies)
    if others:
        data.study_note = (f"{others} StudyDoc(s) of other training sets are in the store and not "
                           f"shown (shown: training set {wanted[:12]}).")


def gather(stores, training_sources: tuple[str, ...] | None = None) -> ReportData:
    """Read every collection the report needs from ``stores`` (a ``ProjectStores``)."""
    data = ReportData(spec=str(getattr(stores, "spec", "?")))
    problems = data.problems
    for name in ("materials", "screening", "funnel", "features", "models", "predictions",
                 "diffusion", "conductivity"):
        try:
            data.counts[name] = int(getattr(stores, name).count())
        except Exception:  # noqa: BLE001 - counts are informative only
            data.counts[name] = 0

    data.funnels = _validate(FunnelDoc, _query(stores.funnel, problems, "funnel"), "funnel", problems)
    data.screening = {d["material_id"]: d for d in _query(
        stores.screening, problems, "screening", properties=SCREENING_FIELDS) if "material_id" in d}
    data.evidence = {d["material_id"]: d for d in _query(
        stores.evidence, problems, "evidence", {"method_version": EVIDENCE_VERSION}) if "material_id" in d}
    if not data.funnels and data.screening:
        by_source: dict[str, list[dict]] = defaultdict(list)
        for doc in _query(stores.screening, problems, "screening"):
            by_source[str(doc.get("source") or "unknown")].append(doc)
        data.funnels = [funnel_from_screening(docs, src) for src, docs in sorted(by_source.items())]
        data.funnel_from_screening = True

    data.predictions = _validate(PredictionDoc, _query(stores.predictions, problems, "predictions"),
                                 "predictions", problems)
    raw_models = _query(stores.models, problems, "models")
    latest = {id(d["doc"]) for d in latest_predictions(  # the latest model's prediction of each material
        [{"material_id": p.material_id, "model_id": p.model_id, "last_updated": p.last_updated, "doc": p}
         for p in data.predictions], raw_models).values()}
    data.predictions = [p for p in data.predictions if id(p) in latest]
    studies = _validate(StudyDoc, [d for d in raw_models if "study_id" in d], "models", problems)
    models = _validate(ModelDoc, [d for d in raw_models if "study_id" not in d and "model_id" in d],
                       "models", problems)
    _pick_study_set(data, studies, models)

    diffusion = _validate(DiffusionDoc, _query(stores.diffusion, problems, "diffusion"), "diffusion", problems)
    conductivity = _validate(ConductivityDoc, _query(stores.conductivity, problems, "conductivity"),
                             "conductivity", problems)
    pick_protocols(data, diffusion, conductivity)
    try:
        data.md_chosen_because = md_choices(stores)
    except Exception as exc:  # noqa: BLE001 - a report without the reasons, saying why
        problems.append(f"jobs: MD candidate reasons not readable: {type(exc).__name__}: {exc}")

    sources = training_sources
    if sources is None:
        from superionic.ml.training_data import KNOWN_SOURCES

        named = tuple(s for s in (data.model.training_sources if data.model else []) if s in KNOWN_SOURCES)
        sources = named or ("kang2023",)
    try:
        data.training = load_training_view(sources)
    except Exception as exc:  # noqa: BLE001 - the section says why instead
        data.training_error = f"{type(exc).__name__}: {exc}"
    return data


def pick_protocols(data: ReportData, diffusion: list[DiffusionDoc], conductivity: list[ConductivityDoc]) -> None:
    """Per material, the protocol the report shows (the best ConductivityDoc's, else the best
    ranked diffusion protocol) into ``data.conductivity`` / ``data.diffusion``; the other
    protocols' names into ``data.other_protocols`` (their documents stay in the store)."""
    by_material: dict[str, dict[str, list[DiffusionDoc]]] = defaultdict(lambda: defaultdict(list))
    for doc in diffusion:
        by_material[doc.material_id][doc.protocol].append(doc)
    fits: dict[str, list[ConductivityDoc]] = defaultdict(list)
    for doc in conductivity:
        fits[doc.material_id].append(doc)
    for mid in sorted(set(by_material) | set(fits)):
        protocols = by_material.get(mid, {})
        if fits.get(mid):
            dumped = {id(d): d for d in fits[mid]}
            best = ranked_conductivity([{**d.model_dump(), "_obj": id(d)} for d in fits[mid]])[0]
            chosen = dumped[best["_obj"]]
            data.conductivity[mid] = chosen
            shown = chosen.protocol
        else:
            shown = min(protocols, key=lambda p: (protocol_rank(protocols[p][0].model_dump()), p))
        data.diffusion[mid] = sorted(protocols.get(shown, []), key=lambda d: d.temperature)
        if not data.diffusion[mid]:
            del data.diffusion[mid]
        others = (set(protocols) | {c.protocol for c in fits.get(mid, [])}) - {shown}
        if others:
            data.other_protocols[mid] = sorted(others)


def summary_rows(data: ReportData) -> list[dict[str, Any]]:
    """One row per candidate (MD candidates first, then in-domain by ML rank, then out-of-domain): the report's table.

    Keys: ``superionic.results.COLUMNS`` (the rows of ``superionic query``), where ``formula``
    falls back on the prediction's or MD's, ``anion_type`` is '' when unknown and
    ``md_verdict`` is 'not fitted' for diffusion without a conductivity fit; plus
    ``sigma300_text`` and ``verdict`` (the MD verdict where MD ran, else the ML one).
    """
    predictions = {p.material_id: p for p in data.predictions}
    ids = list(data.md_materials) + [p.material_id for p in data.classified
                                     if p.material_id not in data.diffusion
                                     and p.material_id not in data.conductivity]
    rows = []
    for mid in ids:
        p = predictions.get(mid)
        c = data.conductivity.get(mid)
        diff = data.diffusion.get(mid) or []
        screen = data.screening.get(mid, {})
        row = join_row(mid, screen, p.model_dump() if p else {}, c.model_dump() if c else {}, data.evidence.get(mid))
        row["formula"] = (screen.get("formula") or (p.formula if p else "")
                          or (c.formula if c else "") or (diff[0].formula if diff else ""))
        row["anion_type"] = row["anion_type"] or ""
        if c is None and diff:
            row["md_verdict"] = "not fitted"
            row["md_protocol"] = diff[0].protocol
        if c is not None or diff:
            row["md_protocols"] = 1 + len(data.other_protocols.get(mid, []))
            row["md_best"] = True
        md, ml = row["md_verdict"], row["ml_verdict"]
        row["sigma300_text"] = sigma_text(c.sigma300, c.sigma300_lower, c.sigma300_upper,
                                          c.sigma300_kind, digits=2) if c else ""
        row["verdict"] = f"MD: {md}" if md else (f"ML: {ml}" if ml else "")
        row["md_chosen_because"] = data.md_chosen_because.get(mid)
        if row["md_chosen_because"]:
            row["verdict"] += f" (MD candidate: {row['md_chosen_because']})"
        rows.append(row)
    return rows
