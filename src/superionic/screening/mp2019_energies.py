"""The MP-2019 formation energies: one consistent energy set for any Li chemical system.

``data/reference/mp2019_e_form_li.csv.gz`` holds the lowest formation energy (eV/atom) per
reduced composition of matbench ``mp_e_form`` (Materials Project as retrieved 2019-04-02,
GGA/GGA+U with the legacy ``MaterialsProjectCompatibility`` corrections; Dunn et al. 2020),
trimmed to the compositions inside the chemical system of a transition-metal-free Li
material of MP 2025.02.12 or of the 560 snapshot materials (9,582 compositions). Elements
have formation energy 0 by definition, so the diagram is built from ``PDEntry`` objects
(energy = E_form x atoms) with the elements at 0; the Li-metal reference is then 0 eV and
V_ox vs Li/Li+ is read directly. Polymorphs share a formula: only the lowest-energy row of
each composition enters (it is the only one that can be on the hull).

These energies use the LEGACY correction scheme: never combine them with MP2020-corrected
entries (the bundled ``mp_li_s_x`` sets, the live MP) in one diagram. The raw Li-metal
energy of the scheme (MP GGA bcc Li, -1.909 eV/atom, uncorrected in both schemes) is kept
as ``LI_METAL_ENERGY_EV`` for the ``seed`` voltage convention (``superionic.screening.
conventions``).

``matbench mp_gap`` band gaps of the same snapshot are in ``mp2019_gap_li.csv.gz``
(min, max and number of polymorph rows per composition); see :func:`band_gap_by_formula`.
"""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from collections.abc import Iterable
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram
from pymatgen.core import Composition

ENERGY_SET = "mp2019_e_form"
ENERGY_SET_LABEL = "MP-2019 formation energies (matbench mp_e_form, MP 2019-04-02, legacy corrections)"
E_FORM_FILE = "mp2019_e_form_li.csv.gz"
GAP_FILE = "mp2019_gap_li.csv.gz"
LI_METAL_ENERGY_EV = -1.9089  # MP GGA bcc Li, eV/atom (the bundled MP entries: -1.90892)


def reference_dir() -> Path:
    return Path(str(resources.files("superionic") / "data" / "reference"))


def _read_gz_csv(name: str) -> list[dict]:
    with gzip.open(reference_dir() / name, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _symbols(formula: str) -> frozenset[str]:
    return frozenset(el.symbol for el in Composition(formula).elements)


@cache
def formation_energies() -> dict[str, float]:
    """{reduced formula: lowest MP-2019 formation energy (eV/atom)}."""
    return {r["formula"]: float(r["e_form_ev_per_atom"]) for r in _read_gz_csv(E_FORM_FILE)}


@cache
def _by_system() -> dict[frozenset[str], list[str]]:
    systems: dict[frozenset[str], list[str]] = defaultdict(list)
    for formula in formation_energies():
        systems[_symbols(formula)].append(formula)
    return dict(systems)


@cache
def covered_systems() -> tuple[frozenset[str], ...]:
    """Chemical systems the shipped subset holds completely (the ones it was trimmed to)."""
    from superionic.sources.structures import corpus_dir

    with gzip.open(corpus_dir() / "mp2025_li_index.csv.gz", "rt", newline="") as handle:
        systems = {frozenset(r["elements"].split()) for r in csv.DictReader(handle)
                   if r["bundled_structure"] == "1"}
    return tuple(sorted(systems, key=len, reverse=True))


@cache
def band_gaps() -> dict[str, tuple[float, float, int]]:
    """{reduced formula: (min gap, max gap, number of MP-2019 polymorph rows)} in eV."""
    return {r["formula"]: (float(r["gap_min_ev"]), float(r["gap_max_ev"]), int(r["n_rows"]))
            for r in _read_gz_csv(GAP_FILE)}


def band_gap_by_formula(formula: str) -> tuple[float, float, int] | None:
    return band_gaps().get(Composition(formula).reduced_formula)


class MP2019FormationEnergies:
    """Entry source over the MP-2019 formation energies (``get_entries_in_chemsys``)."""

    name = ENERGY_SET
    label = ENERGY_SET_LABEL
    li_metal_energy_ev = LI_METAL_ENERGY_EV

    def covers(self, elements: Iterable[str]) -> bool:
        wanted = frozenset(elements)
        return any(wanted <= system for system in covered_systems())

    def has_formula(self, formula: str) -> bool:
        return Composition(formula).reduced_formula in formation_energies()

    def get_entries_in_chemsys(self, elements: Iterable[str]) -> list[PDEntry] | None:
        """Lowest-energy entry per composition of the system + elements at 0; None if the
        system lies outside the shipped subset (the data would be incomplete)."""
        wanted = frozenset(str(getattr(e, "symbol", e)) for e in elements)
        if not self.covers(wanted):
            return None
        return list(_entries(wanted))

    def phase_diagram(self, elements: Iterable[str]) -> PhaseDiagram | None:
        wanted = frozenset(str(getattr(e, "symbol", e)) for e in elements)
        return _phase_diagram(wanted) if self.covers(wanted) else None

    def e_above_hull(self, formula: str) -> float | None:
        """E_hull (eV/atom) of the composition's lowest MP-2019 row; None if not in the set."""
        comp = Composition(formula)
        energies = formation_energies()
        if comp.reduced_formula not in energies or comp.is_element:
            return 0.0 if comp.is_element else None
        pd = self.phase_diagram(el.symbol for el in comp.elements)
        if pd is None:
            return None
        entry = _entry(comp.reduced_formula, energies[comp.reduced_formula])
        return float(pd.get_e_above_hull(entry, allow_negative=True))


def _entry(formula: str, e_form: float) -> PDEntry:
    comp = Composition(formula)
    return PDEntry(comp, e_form * comp.num_atoms, name=f"{ENERGY_SET}:{formula}")


@lru_cache(maxsize=4096)
def _entries(wanted: frozenset[str]) -> tuple[PDEntry, ...]:
    """Elements at 0 eV (by definition), then every compound of the system's subsystems."""
    energies = formation_energies()
    entries = [_entry(el, 0.0) for el in sorted(wanted)]
    for system, formulas in _by_system().items():
        if len(system) > 1 and system <= wanted:
            entries += [_entry(f, energies[f]) for f in formulas]
    return tuple(entries)


@lru_cache(maxsize=2048)
def _phase_diagram(wanted: frozenset[str]) -> PhaseDiagram:
    return PhaseDiagram(list(_entries(wanted)))
