"""Find a stability window for a composition: computed if possible, else published, else unknown.

Order: (1) entries of the composition's chemical system (plus Li) from ``entry_source``
(default: the bundled energy sets) -> ``stability_window``; (2) if that is impossible and
``use_published``, the Wang2024 table; (3) otherwise ``window=None`` with the reasons, so a
screening criterion records "unknown" and never a silent pass.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pymatgen.core import Composition

from superionic.screening.bundled_entries import (
    BundledEntries,
    EntrySource,
    entries_for_chemsys,
)
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
        description="Why the earlier options failed, in order tried (empty if computed).",
    )


def _source_label(entry_source) -> str:
    if isinstance(entry_source, BundledEntries):
        return "bundled"
    return type(entry_source).__name__


def find_stability_window(
    composition: Composition | str,
    entry_source: EntrySource | None = None,
    *,
    use_published: bool = True,
) -> WindowLookup:
    """Computed window when entries allow, else the published one, else unknown."""
    reasons: list[str] = []
    try:
        comp = parse_composition(composition)
    except StabilityWindowError as exc:
        return WindowLookup(formula=str(composition), window=None, status="unknown",
                            reasons=[exc.reason])
    source = entry_source if entry_source is not None else BundledEntries()
    chemsys = chemsys_string([*comp.elements, "Li"])
    label = _source_label(source)
    if isinstance(source, BundledEntries):
        energy_set = source.source_for(chemsys)
        label = f"bundled:{energy_set.name}" if energy_set else label
    try:
        entries = entries_for_chemsys(chemsys, source)
    except Exception as exc:  # a live source can fail (network, key); record, go on
        entries = None
        reasons.append(f"entries of {chemsys} could not be fetched from {label}: {exc}")
    else:
        if entries is None:
            reasons.append(f"no entries for the chemical system {chemsys} in {label}")
    if entries:
        try:
            window = stability_window(comp, entries, entry_source=label)
        except StabilityWindowError as exc:
            reasons.append(f"computing from {label} failed: {exc.reason}")
        else:
            return WindowLookup(formula=str(composition), window=window, status="computed")
    if use_published:
        window = published_window(comp)
        if window is not None:
            return WindowLookup(formula=str(composition), window=window,
                                status="published", reasons=reasons)
        reasons.append(f"no published window for {comp.reduced_formula} in Wang2024")
    return WindowLookup(formula=str(composition), window=None, status="unknown",
                        reasons=reasons)
