"""Find a stability window for a composition: computed if possible, else published, else unknown.

Order: (1) entries of the composition's chemical system (plus Li) from ``entry_source``
-> ``stability_window``; by default the MP-2019 formation energies (when the formula is
among them), then the bundled MP2020 entry sets; each diagram from ONE set; (2) if that
is impossible and ``use_published``, the Wang2024 table; (3) otherwise ``window=None``
with the reasons, so a screening criterion records "unknown" and never a silent pass.
The published window is always looked up as a comparison (``published``).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Composition

from superionic.screening.bundled_entries import (
    BundledEntries,
    EntrySource,
    entries_for_chemsys,
)
from superionic.screening.mp2019_energies import MP2019FormationEnergies
from superionic.screening.published_windows import published_window
from superionic.screening.voltage import (
    StabilityWindow,
    StabilityWindowError,
    chemsys_string,
    parse_composition,
    stability_window,
)


class WindowLookup(BaseModel):
    """Outcome of looking for a window: the window, or why there is none."""

    model_config = ConfigDict(extra="forbid")

    formula: str = Field(description="The formula asked for, as given.")
    window: StabilityWindow | None = Field(
        description="The window found (see its 'method': computed or published), or None."
    )
    status: str = Field(
        description="'computed', 'published' or 'unknown' (no entries, no published value)."
    )
    reasons: list[str] = Field(
        default_factory=list,
        description="Why the earlier options failed, in order tried.",
    )
    published: StabilityWindow | None = Field(
        default=None, description="The published (Wang 2024) window of the formula, for comparison."
    )


def _source_label(entry_source, chemsys: str) -> str:
    if isinstance(entry_source, BundledEntries):
        energy_set = entry_source.source_for(chemsys)
        return f"bundled:{energy_set.name}" if energy_set else "bundled"
    return getattr(entry_source, "name", None) or type(entry_source).__name__


def default_entry_sources() -> list:
    """MP-2019 formation energies first (551 of the 560), the bundled MP2020 sets after."""
    return [MP2019FormationEnergies(), BundledEntries()]


def _computed(comp, chemsys: str, source, reasons: list[str]) -> StabilityWindow | None:
    label = _source_label(source, chemsys)
    if isinstance(source, MP2019FormationEnergies) and not source.has_formula(comp.reduced_formula):
        reasons.append(f"{comp.reduced_formula} is not among the {label} compositions")
        return None
    try:
        if isinstance(source, MP2019FormationEnergies):  # cached diagram, shared with E_hull
            entries = source.phase_diagram(chemsys.split("-"))
        else:
            entries = entries_for_chemsys(chemsys, source)
    except Exception as exc:  # a live source can fail (network, key); record, go on
        reasons.append(f"entries of {chemsys} could not be fetched from {label}: {exc}")
        return None
    if entries is None:
        reasons.append(f"no entries for the chemical system {chemsys} in {label}")
        return None
    label = _source_label(source, chemsys)  # a live source knows its version once connected
    try:
        return stability_window(comp, entries, entry_source=label)
    except StabilityWindowError as exc:
        reasons.append(f"computing from {label} failed: {exc.reason}")
        return None


def find_stability_window(
    composition: Composition | str,
    entry_source: EntrySource | None = None,
    *,
    use_published: bool = True,
) -> WindowLookup:
    """Computed window when entries allow, else the published one, else unknown.

    With the default (bundled, static) sources the answer is cached per formula.
    """
    if entry_source is None:
        return _default_lookup(str(composition), use_published).model_copy(deep=True)
    return _lookup(composition, entry_source, use_published)


@lru_cache(maxsize=65536)
def _default_lookup(formula: str, use_published: bool) -> WindowLookup:
    return _lookup(formula, None, use_published)


def _lookup(composition, entry_source, use_published: bool) -> WindowLookup:
    reasons: list[str] = []
    try:
        comp = parse_composition(composition)
    except StabilityWindowError as exc:
        return WindowLookup(formula=str(composition), window=None, status="unknown",
                            reasons=[exc.reason])
    sources = [entry_source] if entry_source is not None else default_entry_sources()
    chemsys = chemsys_string([*comp.elements, "Li"])
    published = published_window(comp)
    for source in sources:
        window = _computed(comp, chemsys, source, reasons)
        if window is not None:
            return WindowLookup(formula=str(composition), window=window, status="computed",
                                reasons=reasons, published=published)
    if use_published:
        if published is not None:
            return WindowLookup(formula=str(composition), window=published,
                                status="published", reasons=reasons, published=published)
        reasons.append(f"no published window for {comp.reduced_formula} in Wang2024")
    return WindowLookup(formula=str(composition), window=None, status="unknown",
                        reasons=reasons, published=published)
