"""Screening step: read a corpus and screen it (``screen_corpus``: documents, no store);
``run_screening`` also upserts materials, screening docs and the funnel into the stores."""

from __future__ import annotations

from dataclasses import dataclass, field

from superionic.progress import progress_bar
from superionic.schemas.material import MaterialDoc
from superionic.schemas.screening import FunnelDoc, ScreeningDoc
from superionic.screening.criteria import default_criteria
from superionic.screening.funnel import build_funnel, screen_all
from superionic.settings import ScreeningThresholds
from superionic.sources import load_source
from superionic.stores import ProjectStores, update_changed


@dataclass
class ScreeningOutcome:
    funnel: FunnelDoc
    survivors: list[ScreeningDoc]
    n_materials: int
    unknown: list[ScreeningDoc] = field(default_factory=list)
    materials: list[MaterialDoc] = field(default_factory=list)
    screening: list[ScreeningDoc] = field(default_factory=list)
    """Every ScreeningDoc (survivors or not), corpus order."""


def _entry_source(source: str):
    """Entries for V_ox: the live MP for the mp source, the bundled energy sets otherwise."""
    if source == "mp":
        from superionic.sources.mp import MPEntrySource

        return MPEntrySource()
    return None  # the bundled sets


def screen_corpus(
    source: str = "snapshot",
    path: str | None = None,
    thresholds: ScreeningThresholds | None = None,
    show_progress: bool = True,
    corpus_name: str = "snapshot",
) -> ScreeningOutcome:
    """Read ``source`` and screen every material; the documents, written nowhere.

    ``corpus_name="full"`` (snapshot source only): all 21,755 MP 2025.02.12 Li materials,
    values by composition (``superionic.sources.corpus``); funnel id ``snapshot:full``.
    """
    thresholds = thresholds or ScreeningThresholds()
    full = source == "snapshot" and corpus_name == "full"
    corpus = load_source(source, path, corpus=corpus_name) if source == "snapshot" else load_source(source, path)
    criteria = default_criteria(thresholds, _entry_source(source))
    with progress_bar(f"Screening {len(corpus.materials)} materials", len(corpus.materials), show_progress) as advance:
        docs = screen_all(corpus.materials, criteria, on_progress=advance)
    funnel_id = "snapshot:full" if full else source if source != "files" else f"files:{path}"
    funnel = build_funnel(
        docs, criteria, source=funnel_id, thresholds=thresholds.model_dump(), issues=corpus.issues
    )
    return ScreeningOutcome(funnel=funnel, survivors=[d for d in docs if d.passed], n_materials=len(docs),
                            unknown=[d for d in docs if d.verdict == "unknown"], materials=list(corpus.materials),
                            screening=list(docs))


def store_screening(stores: ProjectStores, outcome: ScreeningOutcome) -> None:
    """Upsert a screening's materials, screening docs and funnel (unchanged ones kept as they are)."""
    update_changed(stores.materials, [m.to_store() for m in outcome.materials], key="material_id")
    update_changed(stores.screening, [d.to_store() for d in outcome.screening], key="material_id")
    update_changed(stores.funnel, [outcome.funnel.to_store()], key="funnel_id")


def run_screening(
    stores: ProjectStores,
    source: str = "snapshot",
    path: str | None = None,
    thresholds: ScreeningThresholds | None = None,
    show_progress: bool = True,
    corpus_name: str = "snapshot",
) -> ScreeningOutcome:
    """:func:`screen_corpus`, then upsert everything (:func:`store_screening`); rerun-safe."""
    outcome = screen_corpus(source, path, thresholds, show_progress, corpus_name)
    store_screening(stores, outcome)
    return outcome
