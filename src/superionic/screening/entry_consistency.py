"""Detect phase-diagram entry sets that mix Materials Project database versions.

Energies of different MP releases (legacy GGA/GGA+U with MP2020 corrections, the
GGA/GGA+U/r2SCAN mixing scheme, re-relaxed structures, changed pseudopotentials) are not
comparable: a hull built from a mixture gives wrong voltages without any error. Keeping
sets apart is the caller's job; this module catches the obvious mistakes.

``check_entry_consistency`` returns ``(problems, warnings)``:

problems (the set must not be used)
  * one ``entry_id`` appearing with two different energies per atom;
  * more than one ``data["database_version"]`` value;
  * adjustments from both the legacy ``MaterialsProjectCompatibility`` and
    ``MaterialsProject2020Compatibility`` schemes.

warnings (suspicious, not conclusive)
  * entry ids in both the legacy style (``mp-123``) and the thermo style of the current
    MP API (``mp-123-GGA``, ``mp-123-r2SCAN``);
  * r2SCAN and GGA(+U) run types together without any mixing-scheme adjustment;
  * some entries carry MP2020 anion corrections while another entry whose anion (its
    most electronegative element) is one of those corrected anions carries none.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from pymatgen.entries import Entry

_THERMO_ID = re.compile(r"-(GGA|GGA\+U|R2SCAN|r2SCAN)$")
_LEGACY_COMPAT = "MaterialsProjectCompatibility"
_MP2020_COMPAT = "MaterialsProject2020Compatibility"
_MP2020_ANION = re.compile(r"MP2020 anion correction \((\w+)\)")
_OXIDE_WORDS = {"oxide": "O", "peroxide": "O", "superoxide": "O", "ozonide": "O"}


def _adjustments(entry: Entry) -> list:
    return list(getattr(entry, "energy_adjustments", []) or [])


def _adjustment_class(adj) -> str | None:
    cls = getattr(adj, "cls", None)
    if isinstance(cls, dict):
        return cls.get("@class")
    return None


def _corrected_anions(entry: Entry) -> set[str]:
    """Anion symbols named by the entry's MP2020 anion corrections."""
    anions = set()
    for adj in _adjustments(entry):
        match = _MP2020_ANION.search(getattr(adj, "name", "") or "")
        if match:
            word = match.group(1)
            anions.add(_OXIDE_WORDS.get(word, word))
    return anions


def _most_electronegative(entry: Entry) -> str:
    return max(entry.composition.elements, key=lambda el: el.X).symbol


def check_entry_consistency(entries: Iterable[Entry]) -> tuple[list[str], list[str]]:
    """Return ``(problems, warnings)`` about mixing MP versions in ``entries``."""
    entries = list(entries)
    problems: list[str] = []
    warnings: list[str] = []

    energies: dict[str, set[float]] = defaultdict(set)
    for entry in entries:
        entry_id = getattr(entry, "entry_id", None)
        if entry_id:
            energies[str(entry_id)].add(round(entry.energy_per_atom, 6))
    clashes = sorted(i for i, e in energies.items() if len(e) > 1)
    if clashes:
        problems.append(
            f"entry id(s) {', '.join(clashes[:5])} appear with different energies: the "
            "entries come from different database versions or correction schemes"
        )

    versions = {
        str(e.data["database_version"])
        for e in entries
        if isinstance(getattr(e, "data", None), dict) and e.data.get("database_version")
    }
    if len(versions) > 1:
        problems.append(f"entries from several database versions: {sorted(versions)}")

    schemes = {c for e in entries for a in _adjustments(e) if (c := _adjustment_class(a))}
    if {_LEGACY_COMPAT, _MP2020_COMPAT} <= schemes:
        problems.append(
            "entries corrected with both the legacy MaterialsProjectCompatibility and "
            "MaterialsProject2020Compatibility: energies are not comparable"
        )

    ids = [str(e.entry_id) for e in entries if getattr(e, "entry_id", None)]
    n_thermo = sum(1 for i in ids if _THERMO_ID.search(i))
    if 0 < n_thermo < len(ids) and any(i.startswith("mp-") for i in ids):
        warnings.append(
            f"{n_thermo} of {len(ids)} entry ids have the current MP thermo style "
            "('mp-N-GGA') and the rest the legacy style ('mp-N'): probably two MP versions"
        )

    run_types = {
        str(e.parameters.get("run_type", "")).upper()
        for e in entries
        if isinstance(getattr(e, "parameters", None), dict)
    }
    mixed_scheme = any(
        "mixing" in (getattr(a, "name", "") or "").lower() for e in entries for a in _adjustments(e)
    )
    if "R2SCAN" in run_types and run_types & {"GGA", "GGA+U"} and not mixed_scheme:
        warnings.append(
            "r2SCAN and GGA(+U) entries together without a mixing-scheme adjustment"
        )

    corrected = set().union(*(_corrected_anions(e) for e in entries)) if entries else set()
    if corrected:
        bare = sorted(
            str(e.entry_id or e.composition.reduced_formula)
            for e in entries
            if len(e.composition.elements) > 1
            and not _adjustments(e)
            and _most_electronegative(e) in corrected
        )
        if bare:
            warnings.append(
                f"{len(bare)} entries ({', '.join(bare[:5])}) have no energy correction "
                f"although other entries carry MP2020 anion corrections for "
                f"{sorted(corrected)}: corrected and uncorrected energies may be mixed"
            )
    return problems, warnings
