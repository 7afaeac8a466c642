"""Phase-diagram entries shipped with superionic (offline V_ox), one energy set at a time.

Each *energy set* is a self-consistent group of Materials Project entries (one database
version, one correction scheme). A chemical system is served from ONE set, never from a
mixture: ``get_entries_in_chemsys`` returns ``None`` when no set holds the whole system,
and the caller marks the window "unknown". Sets, in the order they are tried:

``mp_li_s_x``
    every MP entry of 27 Li-S-X systems (GGA/GGA+U, MP2020 corrections applied and stored
    in ``energy_adjustments``; the entries the SeoinBack/ML-HTVS-Li-SE windows were
    computed from). Covers any subsystem of those 27, e.g. Li-S, Li-O, Li-P, Li-P-S.
``mp_legacy_fe_li_o_p``
    the Fe-Li-O-P system and all its subsystems from the ~2021 MP database (shipped in
    the tests of materialsproject/reaction-network), MP2020-corrected. Li-P-O, Li-O, ...
``mp_legacy_li_fe_o``
    Li-Fe-O and subsystems (~2021 MP database, from emmet's tests), MP2020-corrected.

The 2023 elemental reference entries are available through ``elemental_references`` but
are never added to a diagram. Energies are used as stored: no compatibility scheme is
re-applied (MP2020 corrections are already in the entries; re-processing would not change
them and stripping them would move Li3PO4's V_ox from 4.19 V to 3.85 V).
See ``superionic/data/entries/PROVENANCE.md`` for sources and licences.
"""

from __future__ import annotations

import gzip
import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Protocol

from pymatgen.core import Element
from pymatgen.entries.computed_entries import ComputedEntry

from superionic.screening.voltage import OPEN_ELEMENT, chemsys_string


@dataclass(frozen=True)
class EnergySet:
    """One self-consistent set of entries shipped in ``superionic/data/entries``."""

    name: str
    filename: str
    description: str


ENERGY_SETS: tuple[EnergySet, ...] = (
    EnergySet(
        "mp_li_s_x",
        "mp_entries_li_s_x.json.gz",
        "Materials Project GGA/GGA+U entries with MP2020 corrections, 27 Li-S-X systems "
        "(as used for the SeoinBack/ML-HTVS-Li-SE stability windows)",
    ),
    EnergySet(
        "mp_legacy_fe_li_o_p",
        "mp_legacy_fe_li_o_p_entries.json.gz",
        "Materials Project legacy (~2021) GGA/GGA+U entries with MP2020 corrections, "
        "Fe-Li-O-P and subsystems (reaction-network test data)",
    ),
    EnergySet(
        "mp_legacy_li_fe_o",
        "mp_legacy_li_fe_o_entries.json.gz",
        "Materials Project legacy (~2021) GGA/GGA+U entries with MP2020 corrections, "
        "Li-Fe-O and subsystems (emmet test data)",
    ),
)
ELEMENTAL_REFERENCES_FILE = "mp_elemental_reference_entries.json.gz"


class EntrySource(Protocol):
    """Anything with ``get_entries_in_chemsys`` (BundledEntries, mp-api's MPRester)."""

    def get_entries_in_chemsys(self, elements): ...


def default_entries_dir() -> Path:
    """Folder of the bundled entry files inside the installed package."""
    return Path(str(resources.files("superionic") / "data" / "entries"))


def normalise_chemsys(chemsys: str | Iterable[str], add_li: bool = True) -> frozenset[str]:
    """Element symbols from 'Li-P-O', ['Li', 'P', 'O'] or a formula-like 'LiPO'."""
    if isinstance(chemsys, str):
        if "-" in chemsys or chemsys in {el.symbol for el in Element}:
            symbols = [s.strip() for s in chemsys.split("-") if s.strip()]
        else:
            from pymatgen.core import Composition

            symbols = [el.symbol for el in Composition(chemsys).elements]
    else:
        symbols = [str(getattr(s, "symbol", s)) for s in chemsys]
    for symbol in symbols:
        Element(symbol)  # raises ValueError on an unknown element
    return frozenset(symbols) | ({OPEN_ELEMENT} if add_li else frozenset())


def _read_json_gz(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def _symbols(entry: ComputedEntry) -> frozenset[str]:
    return frozenset(el.symbol for el in entry.composition.elements)


@cache
def _load_set(path: Path) -> dict[frozenset[str], list[ComputedEntry]]:
    """{covered chemical system: entries} for one energy-set file."""
    raw = _read_json_gz(path)
    if isinstance(raw, dict):  # {chemsys string: [entry dicts]}
        systems: dict[frozenset[str], list[ComputedEntry]] = {}
        for dicts in raw.values():
            entries = [ComputedEntry.from_dict(d) for d in dicts]
            key = frozenset().union(*(_symbols(e) for e in entries))
            systems[key] = entries
        return systems
    entries = [ComputedEntry.from_dict(d) for d in raw]
    return {frozenset().union(*(_symbols(e) for e in entries)): entries}


class BundledEntries:
    """Entries shipped with the package, served one energy set per chemical system."""

    def __init__(self, entries_dir: Path | str | None = None, sets: Iterable[str] | None = None):
        self.entries_dir = Path(entries_dir) if entries_dir else default_entries_dir()
        wanted = list(sets) if sets is not None else [s.name for s in ENERGY_SETS]
        by_name = {s.name: s for s in ENERGY_SETS}
        unknown = [n for n in wanted if n not in by_name]
        if unknown:
            raise ValueError(f"unknown energy set(s) {unknown}; known: {sorted(by_name)}")
        self.energy_sets = [by_name[n] for n in wanted]

    def _systems(self, energy_set: EnergySet):
        return _load_set(self.entries_dir / energy_set.filename)

    def source_for(self, chemsys: str | Iterable[str]) -> EnergySet | None:
        """The first energy set that holds every entry of ``chemsys`` (+ Li), or None."""
        wanted = normalise_chemsys(chemsys)
        for energy_set in self.energy_sets:
            if any(wanted <= covered for covered in self._systems(energy_set)):
                return energy_set
        return None

    def get_entries_in_chemsys(
        self, elements: str | Iterable[str]
    ) -> list[ComputedEntry] | None:
        """All bundled entries of the chemical system of ``elements`` plus Li.

        Returns None when no single energy set covers the system (then the window is
        "unknown", never computed from a partial or mixed set).
        """
        wanted = normalise_chemsys(elements)
        energy_set = self.source_for(wanted)
        if energy_set is None:
            return None
        systems = self._systems(energy_set)
        covered = min((c for c in systems if wanted <= c), key=len)
        seen: set[str] = set()
        chosen = []
        for entry in systems[covered]:
            if _symbols(entry) <= wanted and entry.entry_id not in seen:
                seen.add(entry.entry_id)
                chosen.append(entry)
        return chosen

    def elemental_references(self) -> dict[str, ComputedEntry]:
        """MP (2023-02-07) lowest-energy elemental entries; never mixed into a diagram."""
        raw = _read_json_gz(self.entries_dir / ELEMENTAL_REFERENCES_FILE)
        with warnings.catch_warnings():  # noble gases have no Pauling electronegativity
            warnings.filterwarnings("ignore", message="No Pauling electronegativity")
            return {symbol: ComputedEntry.from_dict(d) for symbol, d in raw.items()}


def entries_for_chemsys(
    chemsys: str | Iterable[str], entry_source: EntrySource | None = None
) -> list | None:
    """Entries of ``chemsys`` plus Li from ``entry_source`` (default: the bundle).

    ``entry_source`` is anything with ``get_entries_in_chemsys(list_of_symbols)``: a
    ``BundledEntries`` or an mp-api ``MPRester``. None or an empty answer gives None.
    """
    source = entry_source if entry_source is not None else BundledEntries()
    elements = sorted(normalise_chemsys(chemsys))
    entries = source.get_entries_in_chemsys(elements)
    return list(entries) if entries else None


__all__ = [
    "ENERGY_SETS",
    "BundledEntries",
    "EnergySet",
    "entries_for_chemsys",
    "normalise_chemsys",
    "chemsys_string",
]
