"""Composable screening criteria: each reports a value, the rule and a verdict.

A criterion is any object with ``name``, ``threshold`` (text) and
``evaluate(material: MaterialDoc) -> CriterionResult``. Missing data always gives
'unknown', never a silent pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from superionic.schemas.material import MaterialDoc
from superionic.schemas.screening import CriterionResult
from superionic.screening.conventions import seed_voltage_v, threshold_text, voltage_in
from superionic.screening.elements import RADIOACTIVE, TRANSITION_METALS
from superionic.screening.window_lookup import WindowLookup, find_stability_window
from superionic.settings import ScreeningThresholds


class Criterion(Protocol):
    name: str

    @property
    def threshold(self) -> str: ...

    def evaluate(self, material: MaterialDoc) -> CriterionResult: ...


def _result(criterion, value, verdict: str, reason: str) -> CriterionResult:
    return CriterionResult(
        name=criterion.name, value=value, threshold=criterion.threshold, verdict=verdict, reason=reason
    )


@dataclass
class NoTransitionMetal:
    """No element of ``excluded`` (default: the d-block set; lanthanides, Bi/Pb/Sn pass)."""

    excluded: frozenset[str] = TRANSITION_METALS
    name: str = "no_transition_metal"

    @property
    def threshold(self) -> str:
        return "no d-block transition metal"

    def evaluate(self, material: MaterialDoc) -> CriterionResult:
        found = sorted(set(material.elements) & set(self.excluded))
        if found:
            return _result(self, found, "fail", f"contains {', '.join(found)}")
        return _result(self, [], "pass", "no excluded element")


@dataclass
class MinBandGap:
    """PBE band gap at least ``min_ev``."""

    min_ev: float = 1.0
    name: str = "band_gap"

    @property
    def threshold(self) -> str:
        return f">= {self.min_ev:g} eV"

    def evaluate(self, material: MaterialDoc) -> CriterionResult:
        gap = material.band_gap_ev
        note = material.value_notes.get("band_gap_ev")
        if gap is None:
            return _result(self, None, "unknown", note or "band gap missing in the source")
        verdict = "pass" if gap >= self.min_ev else "fail"
        reason = f"{gap:.3f} eV {'>=' if verdict == 'pass' else '<'} {self.min_ev:g} eV"
        return _result(self, gap, verdict, f"{reason} ({note})" if note else reason)


@dataclass
class MaxEnergyAboveHull:
    """Energy above hull at most ``max_ev`` (+ a numerical tolerance)."""

    max_ev: float = 0.0
    tolerance_ev: float = 1e-6
    name: str = "energy_above_hull"

    @property
    def threshold(self) -> str:
        return f"<= {self.max_ev:g} eV/atom (tol {self.tolerance_ev:g})"

    def evaluate(self, material: MaterialDoc) -> CriterionResult:
        e_hull = material.energy_above_hull_ev
        note = material.value_notes.get("energy_above_hull_ev")
        if e_hull is None:
            return _result(self, None, "unknown", note or "energy above hull missing in the source")
        ok = e_hull <= self.max_ev + self.tolerance_ev
        reason = f"{e_hull:.4f} eV/atom"
        return _result(self, e_hull, "pass" if ok else "fail", f"{reason} ({note})" if note else reason)


@dataclass
class MinOxidationVoltage:
    """V_ox (Li grand-potential phase diagram) strictly above ``min_v`` in ``convention``.

    ``convention``: ``seed`` (V_ox + |E(Li metal)|, the seed's reconstructed rule) or
    ``li_metal`` (physical, vs Li/Li+); see ``superionic.screening.conventions``.
    ``entry_source`` supplies the entries of each chemical system (default: MP-2019
    formation energies, then the bundled MP2020 sets; ``MPEntrySource`` for the live MP).
    The last lookup is kept in ``lookups`` so the screening document can store the window.
    """

    min_v: float = 3.7
    entry_source: object | None = None
    use_published: bool = True
    convention: str = "seed"
    name: str = "oxidation_voltage"
    lookups: dict[str, WindowLookup] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        voltage_in(self.convention, None)  # ValueError on an unknown convention

    @property
    def threshold(self) -> str:
        return threshold_text(self.min_v, self.convention)

    def evaluate(self, material: MaterialDoc) -> CriterionResult:
        lookup = find_stability_window(
            material.formula, self.entry_source, use_published=self.use_published
        )
        self.lookups[material.material_id] = lookup
        window = lookup.window
        if window is None or window.oxidation_limit_v is None:
            return _result(self, None, "unknown", "; ".join(lookup.reasons) or "no window")
        value = voltage_in(self.convention, window)
        verdict = "pass" if value > self.min_v else "fail"
        return _result(
            self, value, verdict,
            f"{value:.2f} V {self.convention} convention; physical V_ox "
            f"{window.oxidation_limit_v:.2f} V vs Li/Li+, seed {seed_voltage_v(window):.2f} V "
            f"({lookup.status}, {window.entry_source or window.method})",
        )


@dataclass
class NoRadioactiveElement:
    """No element without a stable isotope (``RADIOACTIVE``: Tc, Pm, Po and heavier).

    Not one of the seed's screens: it runs after them, so the seed's four funnel counts stay
    comparable, and ``exclude_radioactive: false`` in a recipe brings these compounds back.
    """

    excluded: frozenset[str] = RADIOACTIVE
    name: str = "no_radioactive_element"

    @property
    def threshold(self) -> str:
        return "no element without a stable isotope (Tc, Pm, Po-Lr); not a seed screen"

    def evaluate(self, material: MaterialDoc) -> CriterionResult:
        found = sorted(set(material.elements) & set(self.excluded))
        if found:
            return _result(self, found, "fail", f"contains radioactive {', '.join(found)}: impractical "
                           "and regulated as an electrolyte component")
        return _result(self, [], "pass", "no radioactive element")


def default_criteria(
    thresholds: ScreeningThresholds | None = None, entry_source: object | None = None
) -> list[Criterion]:
    """The seed's four screens, in the seed's order, from the settings; then (default on,
    not a seed screen) the radioactive-element screen."""
    t = thresholds or ScreeningThresholds()
    criteria: list[Criterion] = []
    if t.exclude_transition_metals:
        criteria.append(NoTransitionMetal())
    criteria += [
        MinBandGap(t.min_band_gap_ev),
        MaxEnergyAboveHull(t.max_e_above_hull_ev, t.hull_tolerance_ev),
        MinOxidationVoltage(t.min_oxidation_voltage_v, entry_source, t.allow_published_voltage,
                            t.voltage_convention),
    ]
    if t.exclude_radioactive:
        criteria.append(NoRadioactiveElement())
    return criteria


def criterion_names(criteria: Iterable[Criterion]) -> list[str]:
    return [c.name for c in criteria]
