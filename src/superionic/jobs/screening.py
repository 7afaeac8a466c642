"""Screening step: read a corpus, screen it, store materials, screening docs and the funnel."""

from __future__ import annotations

from dataclasses import dataclass, field

from superionic.progress import progress_bar
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


def _entry_source(source: str):
    """Entries for V_ox: the live MP for the mp source, the bundled energy sets otherwise."""
    if source == "mp":
        from superionic.sources.mp import MPEntrySource

        return MPEntrySource()
    return None  # the bundled sets


def run_screening(
    stores: ProjectStores,
    source: str = "snapshot",
    path: str | None = None,
    thresholds: ScreeningThresholds | None = None,
    show_progress: bool = True,
    corpus_name: str = "snapshot",
) -> ScreeningOutcome:
    """Read ``source``, screen every material, upsert everything; rerun-safe.

    ``corpus_name="full"`` (snapshot source only): all 21,755 MP 2025.02.12 Li materials,
    values by composition (``superionic.sources.corpus``); funnel id ``snapshot:full``.
    """
    thresholds = thresholds or ScreeningThresholds()
    full = source == "snapshot" and corpus_name == "full"
    corpus = load_source(source, path, corpus=corpus_name) if source == "snapshot" else load_source(source, path)
    update_changed(stores.materials, [m.to_store() for m in corpus.materials], key="material_id")
    criteria = default_criteria(thresholds, _entry_source(source))
    with progress_bar(f"Screening {len(corpus.materials)} materials", len(corpus.materials), show_progress) as advance:
        docs = screen_all(corpus.materials, criteria, on_progress=advance)
    update_changed(stores.screening, [d.to_store() for d in docs], key="material_id")
    funnel_id = "snapshot:full" if full else source if source != "files" else f"files:{path}"
    funnel = build_funnel(
        docs, criteria, source=funnel_id, thresholds=thresholds.model_dump(), issues=corpus.issues
    )
    update_changed(stores.funnel, [funnel.to_store()], key="funnel_id")
    return ScreeningOutcome(funnel=funnel, survivors=[d for d in docs if d.passed], n_materials=len(docs),
                            unknown=[d for d in docs if d.verdict == "unknown"])
